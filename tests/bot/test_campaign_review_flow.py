"""SMS templates, campaigns and their review (簡訊稽核), consent in person, and address labels — in chat, as a rep,
a reviewer and an admin would, over the real Application and the Bot API fake."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import CrmContext
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, enqueue
from crm.messaging.subscription_model import ConsentChannel, ConsentStatus
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.segments.model import SegmentFilter
from handlers.messaging import mailing_labels
from outbound.labels_pdf import ReportlabLabelRenderer
from scheduler.messaging import sms_review
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

RITA, VERA = 2101, 2102  # a rep and a reviewer
OUR_NUMBER = "+886277778888"
TAIPEI_PHONE, US_PHONE, STRANGER = "+886912300001", "+12125550102", "+886912300003"


async def _team(bot: BotHarness) -> tuple[Actor, Actor]:
    """Ada (admin) invites Rita (rep) and Vera (reviewer, Traditional Chinese)."""
    services = bot.services
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await services.organisation.roles.list(admin)}
    for tg_id, name, role in ((RITA, "Rita", "rep"), (VERA, "Vera", "reviewer")):
        invite = await services.organisation.invites.create(admin, roles[role], admin.department_id)
        await services.organisation.invites.accept(invite.code, TelegramIdentity(tg_id, name))
    rita = await services.organisation.identity.actor_for(TelegramIdentity(RITA, "Rita"))
    vera = await services.organisation.identity.actor_for(TelegramIdentity(VERA, "Vera", language_code="zh-hant"))
    assert rita is not None and vera is not None
    return rita, vera


async def _subscribers(bot: BotHarness, rita: Actor) -> None:
    """Two of Rita's customers texted JOIN promotions; a stranger (a lead Rita cannot see) too."""
    services = bot.services
    await services.customers.customers.create(rita, CustomerDraft(name="王大明", phones=(TAIPEI_PHONE,)))
    await services.customers.customers.create(rita, CustomerDraft(name="Acme Corp", short_name="Acme",
                                                                  phones=(US_PHONE,)))
    for phone in (TAIPEI_PHONE, US_PHONE, STRANGER):
        await services.messaging.subscriptions.handle_inbound(phone, OUR_NUMBER, "JOIN promotions")


def _either(bot: BotHarness, key: str) -> set[str]:
    return {bot.t("en", key), bot.t("zh-Hant", key)}


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _outbox_rows(bot: BotHarness) -> list[tuple[str, str, str, int | None]]:
    async with bot.runtime.engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.recipient, t.outbox.c.status, t.outbox.c.body,
                                         t.outbox.c.campaign_id).order_by(t.outbox.c.id))
        return [tuple(r) for r in rows]


async def _make_template(rita: Chatter) -> None:
    await rita.send("/templates")
    assert "No SMS templates yet" in (rita.last.text or "")
    await rita.press("➕ New template")
    assert "name for the template" in (rita.last.text or "")
    assert "English" in await rita.text_of("Spring sale")
    # Bad input never loses the draft: a photo, 5,000 characters, an unknown placeholder — then the real text.
    assert "waiting for a text" in _text(await rita.photo())
    assert "too long" in await rita.text_of("x" * 5000)
    assert "{price}" in await rita.text_of("Hi {name}, {price} off!")
    shown = await rita.text_of("Hi {name}, 20% off at {company} this week!")
    assert "GSM-7" in shown and "1 segment" in shown  # the live preview
    assert "繁體中文" in shown  # and the next language is asked for
    shown = await rita.text_of("{name} 您好，{company} 本週全面八折！")
    assert "UCS-2" in shown
    shown = await rita.text_of("{name} 您好，{company} 本周全面八折！")
    assert "简体中文" in shown and "UCS-2" in shown
    assert "Campaign with this template" in " ".join(rita.labels())


async def _start_campaign(rita: Chatter) -> str:
    """Template → topic → audience: the draft card with recipients, segments and cost."""
    await rita.press("📣 Campaign with this template")
    await rita.press("📣 Promotions")
    await rita.press("👥 Everyone subscribed to Promotions")
    return rita.last.text or ""


async def test_campaign_rejected_then_approved(engine: AsyncEngine, clock: ManualClock, tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path, company_name="Acme Tea",
                           sms_segment_price="0.05 USD") as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        rita_actor, _ = await _team(bot)
        await _subscribers(bot, rita_actor)
        rita = bot.user(RITA, "Rita")
        vera = bot.user(VERA, "Vera", language_code="zh-hant")
        await vera.press_data("lang:set:zh-Hant", (await vera.send("/language"))[0].message_id)
        await _make_template(rita)

        draft = await _start_campaign(rita)
        # Rita sees her two customers, not the stranger's lead; Taipei gets Traditional Chinese (UCS-2, with the
        # opt-out line), New York English: 2 recipients, 2 segments, 2 × 0.05 USD.
        assert "Recipients: 2" in draft and "Segments: 2" in draft and "USD 0.10" in draft, draft
        assert await _outbox_rows(bot) == []  # a draft queues nothing

        await rita.press("📨 Submit for review")
        # Vera (reviewer) and Ada (admin) both review SMS: each is told, in their own language.
        assert "2 reviewer(s) told" in (rita.last.text or "")
        assert "needs your review" in (bot.api.last_message(ADMIN_ID).text or "")
        push = bot.api.last_message(VERA)
        pushed = push.text or ""
        assert "需要您稽核" in pushed and "收件人：2" in pushed and "USD 0.10" in pushed
        assert [b.text for b in push.buttons] == ["✅ 核准", "❌ 退回"]
        held = await _outbox_rows(bot)
        assert {(r[0], r[1]) for r in held} == {(TAIPEI_PHONE, "held"), (US_PHONE, "held")}

        # Reject with a reason: Rita is told, in English, and nothing is sent.
        await vera.press("❌ 退回")
        assert "原因" in (vera.last.text or "")
        await vera.send("   ")
        # An empty reason is refused and the question stays open. (Errors raised by services are rendered by
        # handlers/errors.py, whose fresh error context does not know the reader's language yet: accept either.)
        assert vera.last.text in _either(bot, "subscriptions.reason_required")
        await vera.send("Too pushy <b>tone</b>")
        assert "已退回" in (vera.last.text or "")
        told = bot.api.last_message(RITA).text or ""
        assert "was rejected" in told and "Too pushy <b>tone</b>" in told
        assert {r[1] for r in await _outbox_rows(bot)} == {"cancelled"}
        # The old buttons cannot approve it any more.
        await vera.press("✅ 核准", message_id=push.message_id)
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert alert["text"] in _either(bot, "subscriptions.already_reviewed") and alert.get("show_alert") is True

        # Again, approved this time: the rows are released with the opt-out line in the recipient's language.
        await rita.send("/campaign")
        assert "❌" in " ".join(rita.labels())
        await rita.press("➕ New campaign")
        await rita.press("📄 Spring sale")
        await rita.press("📣 Promotions")
        await rita.press("👥 Everyone subscribed to Promotions")
        await rita.press("📨 Submit for review")
        await vera.send("/review")
        assert "1 個活動" in (vera.last.text or "")
        await vera.press(vera.labels()[0])
        await vera.press("✅ 核准")
        assert "已核准" in (vera.last.text or "")
        assert "was approved" in (bot.api.last_message(RITA).text or "")
        rows = [r for r in await _outbox_rows(bot) if r[1] == "queued"]
        bodies = {r[0]: r[2] for r in rows}
        assert set(bodies) == {TAIPEI_PHONE, US_PHONE}
        assert bodies[TAIPEI_PHONE] == "王大明 您好，Acme Tea 本週全面八折！\n回覆退訂取消"
        assert bodies[US_PHONE] == "Hi Acme, 20% off at Acme Tea this week!\nReply STOP to opt out"
        async with bot.runtime.engine.connect() as conn:
            actions = set((await conn.execute(select(t.audit_log.c.action).where(
                t.audit_log.c.entity == "sms_campaign"))).scalars())
        assert actions == {"create", "submit", "reject", "approve"}


async def test_reviewer_gets_held_single_texts(engine: AsyncEngine, clock: ManualClock, tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        rita_actor, _ = await _team(bot)
        rita = bot.user(RITA, "Rita")
        vera = bot.user(VERA, "Vera", language_code="zh-hant")
        await vera.press_data("lang:set:zh-Hant", (await vera.send("/language"))[0].message_id)
        await rita.send("/start")
        # A rep without sms.send_direct sends a text from a customer card: crm/messaging.py holds it.
        async with bot.services.uow() as uow:
            held = await enqueue(uow, NewOutboxMessage(OutboxChannel.SMS, TAIPEI_PHONE, "Your quote is ready",
                                                       topic="chat", requested_by=rita_actor.staff_id,
                                                       idempotency_key="chat:1", held=True))
            await uow.commit()
        await sms_review.tick(CrmContext(bot.app))  # the job announces it once
        await sms_review.tick(CrmContext(bot.app))
        pushes = [m for m in bot.api.sent_messages(VERA) if "需要您稽核" in (m.text or "")]
        assert len(pushes) == 1 and "Your quote is ready" in (pushes[0].text or "")
        await vera.press("✅ 核准", message_id=pushes[0].message_id)
        assert "was approved" in (bot.api.last_message(RITA).text or "")
        assert [r[1] for r in await _outbox_rows(bot)] == ["queued"]
        assert held.id and "沒有待稽核" in await vera.text_of("/review")
        # A rep cannot open the review screens.
        assert "permission" in (await rita.text_of("/review")).lower()


async def test_consent_recorded_in_person(engine: AsyncEngine, clock: ManualClock, tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        rita_actor, _ = await _team(bot)
        await bot.services.customers.customers.create(rita_actor, CustomerDraft(name="陳美玲", phones=(TAIPEI_PHONE,)))
        rita = bot.user(RITA, "Rita")
        assert "name or phone" in await rita.text_of("/consent")
        assert "Nothing found" in await rita.text_of("nobody here")
        await rita.send("陳美玲")
        await rita.press("🏢 陳美玲")
        card = rita.last.text or ""
        assert "0912 300 001" in card and "Promotions: never asked" in card
        await rita.press("▫️ Promotions")
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert "in person" in alert["text"]
        assert "Promotions: subscribed · in person" in (rita.last.text or "")
        assert "✅ Promotions" in rita.labels()
        status = await bot.services.messaging.subscriptions.status_of(TAIPEI_PHONE, "promotions")
        assert status is ConsentStatus.OPTED_IN
        async with bot.services.uow(write=False) as uow:
            [event] = await uow.messaging.subscriptions.history(TAIPEI_PHONE)
        assert event.channel is ConsentChannel.IN_PERSON and event.recorded_by == rita_actor.staff_id
        # Pressing again records the customer saying no.
        await rita.press("✅ Promotions")
        assert "⛔ Promotions" in rita.labels()
        # A forged button for someone else's customer: not found, nothing recorded.
        await rita.send("/consent 陳美玲")
        other = await bot.services.customers.customers.create(
            await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada")),
            CustomerDraft(name="Hidden", phones=(US_PHONE,)))
        await rita._do(bot.api.press(rita.user, None, f"cons:s:c:{other.id}:0:0", enqueue=False, forged=True))
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert "Not found" in alert["text"]
        assert await bot.services.messaging.subscriptions.status_of(US_PHONE, "promotions") is ConsentStatus.NONE


async def _print_on(bot: BotHarness, chatter: Chatter, layout: str) -> list[ChatMessage]:
    """Press a sheet or envelope button and wait for the PDF, which is made in the background."""
    pressed = await chatter.press(layout)
    await mailing_labels.wait_for_labels(bot.app)
    return pressed


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


async def test_labels_pdf_with_chinese_and_english_addresses(engine: AsyncEngine, clock: ManualClock,
                                                             tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path, company_name="Acme Tea",
                           company_address="100 Main St|Springfield, IL 62701") as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        ada = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        customers = bot.services.customers.customers
        await customers.create(ada, CustomerDraft(name="王小明", address="台北市信義區市府路1號", tags=("vip",)))
        await customers.create(ada, CustomerDraft(name="Google LLC",
                                                  address="1600 Amphitheatre Pkwy\nMountain View, CA 94043"))
        await customers.create(ada, CustomerDraft(name="王記 No Address"))

        await admin.send("/labels")
        await admin.press("🔎 Pick customers")
        await admin.send("王")
        assert "Found 2" in (admin.last.text or "")
        await admin.press("☑️ Select all shown")
        await admin.send("Google")
        await admin.press("⬜ Google LLC")
        await admin.press("🖨 Print 3 selected")
        await _print_on(bot, admin, "🏷 Avery 5160 (Letter, 30)")
        [sheet] = bot.api.documents(ADMIN_ID)
        assert sheet.filename == "labels-avery5160.pdf" and sheet.content.startswith(b"%PDF")
        assert "2 address(es)" in (sheet.caption or "") and "1 customer(s) left out" in (sheet.caption or "")
        # The status message ("Making the PDF for 2 addresses…") was edited to the result.
        status = bot.api.chat(ADMIN_ID).bot_messages[-2]
        assert status.document is None and "2 address(es)" in (status.text or "")
        text = _pdf_text(sheet.content)
        assert "台北市信義區市府路1號" in text and "1600 Amphitheatre Pkwy" in text and "王小明" in text

        # Only customers without an address: told so, no empty PDF.
        await admin.send("/labels")
        await admin.press("🔎 Pick customers")
        await admin.send("王記")
        await admin.press("⬜ 王記 No Address")
        await admin.press("🖨 Print 1 selected")
        sent = len(bot.api.chat(ADMIN_ID).bot_messages)
        await _print_on(bot, admin, "✉️ C5 envelope")
        # Refused before any PDF is started: the pop-up on the button, no status message, no document.
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert "address" in alert["text"] and alert.get("show_alert") is True
        assert len(bot.api.chat(ADMIN_ID).bot_messages) == sent
        assert len(bot.api.documents(ADMIN_ID)) == 1
        # The selection survives the failed attempt; the rep clears it.
        await admin.send("/labels")
        await admin.press("✖️ Clear")
        assert "🖨 Print 1 selected" not in admin.labels()

        # A saved segment instead of a selection: every customer tagged #vip, on an A4 sheet.
        await bot.services.segments.segments.create(ada, "VIP", SegmentFilter(tags=frozenset({"vip"})))
        await admin.send("/labels")
        await admin.press("🎯 VIP")
        await _print_on(bot, admin, "🏷 L7160 (A4, 21)")
        a4 = bot.api.documents(ADMIN_ID)[-1]
        assert a4.filename == "labels-l7160.pdf" and "1 address(es)" in (a4.caption or "")
        assert "台北市信義區市府路1號" in _pdf_text(a4.content) and "Google" not in _pdf_text(a4.content)

        # Envelopes carry the sender block from settings.
        await admin.send("/labels")
        await admin.press("🔎 Pick customers")
        await admin.send("Google")
        await admin.press("⬜ Google LLC")
        await admin.press("🖨 Print 1 selected")
        await _print_on(bot, admin, "✉️ DL envelope")
        envelope = bot.api.documents(ADMIN_ID)[-1]
        text = _pdf_text(envelope.content)
        assert "Acme Tea" in text and "100 Main St" in text and "Mountain View, CA 94043" in text


async def test_others_are_answered_while_a_labels_pdf_is_made(engine: AsyncEngine, clock: ManualClock,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The drawing (in the off-loop worker's thread) held until the test lets it go.
    started, go_on = threading.Event(), threading.Event()
    real = ReportlabLabelRenderer.labels_pdf

    def labels_pdf(self: ReportlabLabelRenderer, *args: Any, **kwargs: Any) -> bytes:
        started.set()
        go_on.wait(30)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ReportlabLabelRenderer, "labels_pdf", labels_pdf)
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        admin, rita = bot.user(ADMIN_ID, "Ada"), bot.user(RITA, "Rita")
        await admin.send("/start")
        ada = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        await bot.services.customers.customers.create(ada, CustomerDraft(name="王小明", address="台北市信義區市府路1號",
                                                                         tags=("vip",)))
        await bot.services.segments.segments.create(ada, "VIP", SegmentFilter(tags=frozenset({"vip"})))
        await admin.send("/labels")
        await admin.press("🎯 VIP")
        layouts = admin.last.message_id
        try:
            await admin.press("🏷 Avery 5160 (Letter, 30)")  # returns while the PDF is being drawn
            await asyncio.to_thread(started.wait, 30)
            assert "Making the PDF for 1 addresses" in (admin.last.text or "")
            assert "Rita" in await rita.text_of("/start")  # another user, answered meanwhile
            await admin.press("🏷 L7160 (A4, 21)", layouts)  # one PDF at a time per person
            assert bot.told([], "Your previous PDF is still being made")
            assert not bot.api.documents(ADMIN_ID)
            go_on.set()
            await mailing_labels.wait_for_labels(bot.app)
        finally:
            go_on.set()
        [sheet] = bot.api.documents(ADMIN_ID)
        assert sheet.filename == "labels-avery5160.pdf" and "台北市信義區市府路1號" in _pdf_text(sheet.content)
