"""SMS, e-mail and fax from chat, as reps and managers use them: card buttons → text / document → preview → Send →
the status in the same chat message; /outbox; bad input at every step; channels that are not configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import OFFLINE_TOKEN, Runtime, build_application, build_services, start_offline
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.messaging.messaging import DeliveryReport
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, OutboxStatus, enqueue
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from handlers.core.common import keyboard
from handlers.messaging.messaging import card_rows
from outbound.dispatch_wiring import Sinks
from outbound.fax_recording import RecordingFaxSender
from outbound.sms_recording import RecordingSmsSender
from scheduler.messaging.outbox import push_status_notices
from tests.fakes.bot_api import ChatMessage, FakeBotApi
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter
from tests.support.smtp_server import running_smtp_server

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PHONE, OTHER_PHONE = "+886912345678", "+886987654321"
_CATALOGS = Catalogs()


@asynccontextmanager
async def messaging_bot(engine: AsyncEngine, clock: ManualClock, sinks: Sinks | None,
                        **settings: Any) -> AsyncIterator[BotHarness]:
    """The real Application over the fake Bot API, with local sinks standing in for SMS / e-mail / fax."""
    config = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_ID}), outbox_tick_seconds=60,
                      **settings)
    runtime = Runtime(config, engine, build_services(config, engine, clock, sinks=sinks), _CATALOGS)
    api = FakeBotApi(token=OFFLINE_TOKEN, bot_username="crm_test_bot")
    app = build_application(runtime, request=api, get_updates_request=api.updates_request(), rate_limiter=False)
    await start_offline(app)
    try:
        yield BotHarness(api, app, runtime, clock)
    finally:
        await app.stop()
        await app.shutdown()


async def _member(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en") -> tuple[Chatter, Actor]:
    services = bot.services
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await services.organisation.roles.assignable(admin)}
    invite = await services.organisation.invites.create(admin, roles[role], admin.department_id)
    await services.organisation.invites.accept(invite.code, TelegramIdentity(tg_id, name, language_code=language))
    actor = await services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return bot.user(tg_id, name, language_code=language), actor


async def _show_card(bot: BotHarness, who: Chatter, actor: Actor, customer_id: int) -> None:
    """What the customer card does: our buttons under the card, in the reader's language."""

    def t(key: str, **params: Any) -> str:
        return bot.t(actor.locale, key, **params)

    await bot.app.bot.send_message(who.user.id, "Acme card",
                                   reply_markup=keyboard(card_rows(t, actor, "customer", customer_id)))


async def _until(bot: BotHarness, done: Callable[[], Awaitable[bool]]) -> None:
    """Run dispatcher rounds and status pushes (what the outbox job does each tick) until ``done``."""
    for _ in range(100):
        await bot.services.messaging.outbox_worker.run_once()
        await push_status_notices(bot.app.bot, bot.services, bot.runtime.catalogs)
        if await done():
            return
        await asyncio.sleep(0.02)

    raise AssertionError("condition not reached")


async def _send_document(bot: BotHarness, who: Chatter, name: str, content: bytes, mime: str) -> list[ChatMessage]:
    chat = bot.api.chat(who.user.id)
    before = len(chat.bot_messages)
    await bot.api.deliver(bot.app, bot.api.document(who.user, name, content, mime, enqueue=False))
    return chat.bot_messages[before:]


async def test_rep_sms_waits_for_review(engine: AsyncEngine, clock: ManualClock) -> None:
    sms = RecordingSmsSender()
    async with messaging_bot(engine, clock, Sinks(sms=sms)) as bot:
        bot.user(ADMIN_ID, "Ada")
        ned, rep = await _member(bot, 2002, "Ned", "rep")
        acme = await bot.services.customers.customers.create(rep, CustomerDraft(name="Acme", phones=(PHONE,)))
        await _show_card(bot, ned, rep, acme.id)
        assert ned.labels() == ["📱 Send SMS", "✉️ Send e-mail", "📠 Send fax"]

        await ned.press("📱 Send SMS")
        assert "Type the text" in (ned.last.text or "") and PHONE in (ned.last.text or "")
        # Bad input never loses the draft: a photo, then far too much text, then the real text.
        assert "waiting for a text" in "\n".join(m.text or "" for m in await ned.photo())
        assert "too long" in await ned.text_of("x" * 5000)
        assert "1601 characters" in await ned.text_of("y" * 1601)
        preview = await ned.text_of("Hi <Acme> & co, your quote is ready")
        assert "Hi <Acme> & co, your quote is ready" in preview
        assert "35 characters · GSM-7 · 1 segment" in preview and "reviewer" in preview
        await ned.press("✅ Send")
        status = ned.last.text or ""
        assert "waiting for review" in status and "approve" in status

        async def nothing_sent() -> bool:
            return True

        await _until(bot, nothing_sent)
        [mine] = await bot.services.messaging.messaging.recent_by_user(rep)
        assert mine.status is OutboxStatus.HELD and mine.body == "Hi <Acme> & co, your quote is ready"
        assert sms.sent == []
        listing = await ned.text_of("/outbox")
        assert PHONE in listing and "waiting for review" in listing


async def test_manager_sms_is_delivered_and_the_status_follows_in_chat(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    sms = RecordingSmsSender()
    async with messaging_bot(engine, clock, Sinks(sms=sms)) as bot:
        bot.user(ADMIN_ID, "Ada")
        mei, manager = await _member(bot, 2003, "美玲", "manager", "zh-hant")
        acme = await bot.services.customers.customers.create(manager, CustomerDraft(name="大同貿易",
                                                                          phones=(PHONE, OTHER_PHONE)))
        await _show_card(bot, mei, manager, acme.id)
        await mei.press("📱 傳簡訊")
        assert "要傳到哪個號碼" in (mei.last.text or "")
        await mei.press(OTHER_PHONE)
        preview = await mei.text_of("王先生您好，明天下午3點見面，謝謝！")
        assert "UCS-2" in preview and "1 則" in preview and "審核" not in preview
        await mei.press("✅ 發送")
        status_message = mei.last
        assert "排隊中" in (status_message.text or "")

        async def sent() -> bool:
            return "已送出" in (bot.api.chat(mei.user.id).message(status_message.message_id).text or "")

        await _until(bot, sent)
        assert sms.bodies_to(OTHER_PHONE) == ["王先生您好，明天下午3點見面，謝謝！"] and sms.bodies_to(PHONE) == []

        # The carrier's delivery report arrives (through /twilio/status in production): the same message shows it.
        provider_id = sms.sent[0].receipt.provider_id
        await bot.services.messaging.messaging.record_delivery(DeliveryReport(provider_id, "delivered"))

        async def delivered() -> bool:
            return "已送達" in (bot.api.chat(mei.user.id).message(status_message.message_id).text or "")

        await _until(bot, delivered)
        listing = await mei.text_of("/outbox")
        assert OTHER_PHONE in listing and "已送達" in listing
        await mei.press(1)  # the message's details
        assert "已送達" in (mei.last.text or "") and "更新於" in (mei.last.text or "")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_email_with_a_pdf_arrives_at_the_smtp_server(engine: AsyncEngine, clock: ManualClock) -> None:
    with running_smtp_server() as smtp:
        async with messaging_bot(engine, clock, None, smtp_host=smtp.host, smtp_port=smtp.port,
                                 smtp_security="none", mail_from="業務部 Sales <sales@crm.example.com>") as bot:
            ada = bot.user(ADMIN_ID, "Ada")
            await ada.send("/start")
            mia_chat, manager = await _member(bot, 2004, "Mia", "manager")
            acme = await bot.services.customers.customers.create(manager, CustomerDraft(name="Acme",
                                                                              email="buyer@acme.example"))
            await _show_card(bot, mia_chat, manager, acme.id)
            await mia_chat.press("✉️ Send e-mail")
            assert "buyer@acme.example" in (mia_chat.last.text or "")
            assert "empty" in await mia_chat.text_of("   ")
            await mia_chat.send("報價單 Quote #42")
            await mia_chat.send("Please find our quote attached.")
            replies = await _send_document(bot, mia_chat, "報價單.pdf", PDF, "application/pdf")
            assert "報價單.pdf" in (replies[-1].text or "")
            await mia_chat.press("✅ Send")

            async def arrived() -> bool:
                await asyncio.sleep(0)
                return len(smtp.received) == 1

            await _until(bot, arrived)
            message = smtp.single().message
            assert message["Subject"] == "報價單 Quote #42" and "sales@crm.example.com" in message["From"]
            assert smtp.single().rcpt_tos == ["buyer@acme.example"]
            [attachment] = list(message.iter_attachments())
            assert attachment.get_filename() == "報價單.pdf" and attachment.get_content() == PDF
            body = message.get_body(("plain",))
            assert body is not None and "Please find our quote attached." in body.get_content()


async def test_fax_needs_a_pdf_and_reaches_the_gateway(engine: AsyncEngine, clock: ManualClock) -> None:
    fax = RecordingFaxSender()
    async with messaging_bot(engine, clock, Sinks(fax=fax)) as bot:
        bot.user(ADMIN_ID, "Ada")
        ned, rep = await _member(bot, 2005, "Ned", "rep")
        acme = await bot.services.customers.customers.create(rep, CustomerDraft(name="Acme", phones=(PHONE,)))
        await _show_card(bot, ned, rep, acme.id)
        # Buttons carry ids only and every press re-checks: a forged id, or a colleague's customer, is not found.
        _, sue = await _member(bot, 2006, "Sue", "rep")
        theirs = await bot.services.customers.customers.create(sue, CustomerDraft(name="Sue's customer"))
        for forged in ("ms:fax:customer:999999", f"ms:fax:customer:{theirs.id}", "ms:fax:planet:1"):
            await bot.api.deliver(bot.app, bot.api.press(ned.user, None, forged, forged=True, enqueue=False))
            text = bot.api.calls_to("answerCallbackQuery")[-1].params["text"]
            assert "Not found" in text or "out of date" in text
        await ned.press("📠 Send fax")
        assert "not a fax number" in await ned.text_of("12")
        assert "Send the PDF" in await ned.text_of("(02) 2345-6789")
        replies = await _send_document(bot, ned, "notes.txt", b"plain text", "text/plain")
        assert "needs a PDF" in (replies[-1].text or "")
        await ned.send("Attn: purchasing")
        await _send_document(bot, ned, "quote.pdf", PDF, "application/pdf")
        await ned.press("✅ Send")

        async def faxed() -> bool:
            return len(fax.sent) == 1

        await _until(bot, faxed)
        sent = fax.single()
        assert (sent.to, sent.cover_text, sent.document.content) == ("+886223456789", "Attn: purchasing", PDF)


async def test_not_configured_and_stale_buttons(engine: AsyncEngine, clock: ManualClock) -> None:
    async with messaging_bot(engine, clock, None) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        acme = await bot.services.customers.customers.create(admin, CustomerDraft(name="Acme", phones=(PHONE,)))
        await _show_card(bot, ada, admin, acme.id)
        await ada.press("📱 Send SMS")
        alert = bot.api.calls_to("answerCallbackQuery")[-1].params
        assert "not set up" in alert["text"] and alert.get("show_alert") is True
        # A Send button whose draft is gone: answered, and nothing is queued.
        await bot.api.deliver(bot.app, bot.api.press(ada.user, None, "ms:go:oldDraft", forged=True, enqueue=False))
        assert "out of date" in bot.api.calls_to("answerCallbackQuery")[-1].params["text"]
        assert bot.api.unanswered_callback_queries() == []
        assert "not sent any" in await ada.text_of("/outbox")


async def test_bot_pushes_go_through_the_outbox(engine: AsyncEngine, clock: ManualClock) -> None:
    async with messaging_bot(engine, clock, None) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        gone = bot.user(2010, "Gone")
        bot.api.block(gone.user)
        async with bot.services.uow() as uow:
            hello = await enqueue(uow, NewOutboxMessage(OutboxChannel.TELEGRAM, str(ADMIN_ID),
                                                        "<b>Price list</b> updated &amp; ready",
                                                        requested_by=None, idempotency_key="push:1"))
            blocked = await enqueue(uow, NewOutboxMessage(OutboxChannel.TELEGRAM, str(gone.user.id), "hello",
                                                          requested_by=None, idempotency_key="push:2"))
            await uow.commit()

        async def both_done() -> bool:
            async with bot.services.uow(write=False) as uow:
                rows = [await uow.messaging.outbox.get(hello.id), await uow.messaging.outbox.get(blocked.id)]
            return all(r is not None and r.status in (OutboxStatus.SENT, OutboxStatus.FAILED) for r in rows)

        await _until(bot, both_done)
        assert ada.last.text == "Price list updated & ready"
        async with bot.services.uow(write=False) as uow:
            sent, failed = await uow.messaging.outbox.get(hello.id), await uow.messaging.outbox.get(blocked.id)
        assert sent is not None and sent.status is OutboxStatus.SENT and sent.provider_id == str(ada.last.message_id)
        assert failed is not None and failed.status is OutboxStatus.FAILED and failed.last_error
