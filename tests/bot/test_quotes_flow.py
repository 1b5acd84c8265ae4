"""Quotations in chat: the guided /quote with wrong input at every step, the one-message form in Chinese (echoed
for one tap, an ambiguous customer picked, an unknown SKU refused), the PDF to the rep read back with pypdf, the
quote e-mailed to the customer's address through the real SMTP test server and faxed to the gateway, /quotes, the
customer card's open quotes, Accepted with its confirmation, a draft deleted, a flow surviving a restart; and
discount approval: over the limit → a manager in scope approves → the rep is told → the quote can be sent; a
rejection with its reason; forged presses; the limit per role set by an admin."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import OFFLINE_TOKEN, Runtime, build_application, build_services, start_offline
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.core.errors import Conflict
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.model import Product, ProductDraft
from crm.sales.quote_model import LineDraft, Quote, QuoteStatus
from handlers.core.common import keyboard
from outbound.dispatch_wiring import Sinks
from outbound.fax_recording import RecordingFaxSender
from scheduler.messaging.outbox import push_status_notices
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter
from tests.support.smtp_server import running_smtp_server

_CATALOGS = Catalogs()
NED, MIA, SUE, MAX = 4002, 4001, 4003, 4004
COMPANY = "測試股份有限公司 Test Co"


@asynccontextmanager
async def quote_bot(engine: AsyncEngine, clock: ManualClock, sinks: Sinks | None = None,
                    **settings: Any) -> AsyncIterator[BotHarness]:
    config = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_ID}), outbox_tick_seconds=60,
                      company_name=COMPANY, company_address="台北市信義區 1 號", **settings)
    runtime = Runtime(config, engine, build_services(config, engine, clock, sinks=sinks), _CATALOGS)
    from tests.fakes.bot_api import FakeBotApi

    api = FakeBotApi(token=OFFLINE_TOKEN, bot_username="crm_test_bot", global_limit=None)
    app = build_application(runtime, request=api, get_updates_request=api.updates_request(), rate_limiter=False)
    await start_offline(app)
    try:
        yield BotHarness(api, app, runtime, clock)
    finally:
        await app.stop()
        await app.shutdown()


async def _admin(bot: BotHarness) -> Actor:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    assert admin is not None
    return admin  # type: ignore[no-any-return]


async def _member(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en",
                  department_id: int | None = None) -> tuple[Chatter, Actor]:
    services = bot.services
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await services.organisation.roles.assignable(admin)}
    invite = await services.organisation.invites.create(admin, roles[role], department_id or admin.department_id)
    await services.organisation.invites.accept(invite.code, TelegramIdentity(tg_id, name, language_code=language))
    actor = await services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return bot.user(tg_id, name, language_code=language), actor


async def _products(bot: BotHarness, admin: Actor) -> tuple[Product, Product]:
    catalog = bot.services.sales.catalog
    widget = await catalog.create(admin, ProductDraft(sku="A-100", name="Widget", name_zh_hant="螺絲起子",
                                                      name_zh_hans="螺丝起子", list_price=Decimal("99.99"),
                                                      currency="TWD", tax_rate=Decimal(5)))
    bolt = await catalog.create(admin, ProductDraft(sku="B-20", name="Bolt", list_price=Decimal("12.5"),
                                                    currency="TWD", tax_rate=Decimal(5)))
    return widget, bolt


async def _customer(bot: BotHarness, actor: Actor, name: str, **fields: Any) -> int:
    created = await bot.services.customers.customers.create(actor, CustomerDraft(name=name, **fields), force=True)
    return int(created.id)


async def _quote(bot: BotHarness, actor: Actor, customer_id: int, product: Product, discount: str = "0") -> Quote:
    quote: Quote = await bot.services.sales.quotes.create(actor, customer_id, [
        LineDraft(product_id=product.id, quantity=Decimal(2), discount=Decimal(discount))])
    return quote


async def _count_quotes(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.quotes))).scalar_one())


async def _until(bot: BotHarness, done: Callable[[], Awaitable[bool]]) -> None:
    """Dispatcher rounds (what the outbox job does each tick) until ``done``."""
    for _ in range(100):
        await bot.services.messaging.outbox_worker.run_once()
        await push_status_notices(bot.app.bot, bot.services, bot.runtime.catalogs)
        if await done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _forge(bot: BotHarness, who: Chatter, data: str) -> str:
    """A press on a button the user was never shown; the alert (or message) it got."""
    if bot.api.chat(who.user.id).last_keyboard_message() is None:  # a message with buttons to forge a press on
        await bot.app.bot.send_message(who.user.id, "menu", reply_markup=keyboard([[("menu", "x:menu")]]))
    replies = await who._do(bot.api.press(who.user, None, data, enqueue=False, forged=True))
    answers = [c for c in bot.api.calls_to("answerCallbackQuery") if c.error is None]
    return str(answers[-1].params.get("text") or "") + _text(replies)


async def _open(who: Chatter, quote: Quote) -> list[ChatMessage]:
    """The quote's card, as its owner opens it from /quotes."""
    await who.send("/quotes")
    label = next(label for label in who.labels() if label.startswith(f"📝 {quote.number}"))
    return await who.press(label)


def _pdf_text(payload: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(payload)).pages)


# ---- creating ----------------------------------------------------------------------------------------------

async def test_guided_quote_with_wrong_input_at_every_step(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "Ned", "rep")
        await _products(bot, admin)
        await _customer(bot, rep, "Acme")

        assert "Which customer" in await ned.text_of("/quote")
        assert "No customer found for “Nobody”" in await ned.text_of("Nobody")
        assert "Tap one" in await ned.text_of("Acme")
        shown = _text(await ned.press("🏢 Acme"))
        assert "Quote for <b>Acme</b>" not in shown and "Quote for Acme" in shown
        assert "Type a product code" in shown

        assert "No product found for “zzz”" in await ned.text_of("zzz")
        await ned.text_of("a-100")
        asked = _text(await ned.press("📦 A-100 · Widget"))
        assert "Quantity: 1" in asked
        assert "quantity" in (await ned.text_of("abc")).lower()
        assert "Quantity: 3" in await ned.text_of("3")
        assert "Quantity: 13" in _text(await ned.press("+10"))
        assert "Quantity: 3" in _text(await ned.press("−10"))
        assert "Quantity: 1" in _text(await ned.press("−10"))  # never below one
        await ned.text_of("x3")
        await ned.press("％ Line discount")
        assert "percent" in (await ned.text_of("200")).lower()
        assert "line discount 5%" in await ned.text_of("5")
        added = _text(await ned.press("✅ Add to quote"))
        assert "Added A-100 × 3" in added and "A-100 Widget × 3 −5%" in added

        assert "Product catalog" in _text(await ned.press("📂 Browse the catalog"))
        assert "📦 B-20 · Bolt" in ned.labels()
        await ned.press("📦 B-20 · Bolt")
        await ned.press("✅ Add to quote")
        review = _text(await ned.press("▶️ Review the quote"))
        assert "Check the quote" in review
        assert "A-100 Widget × 3 @ TWD 99.99 −5% = TWD 284.97" in review
        assert "B-20 Bolt × 1 @ TWD 12.50 = TWD 12.50" in review
        assert "Subtotal: TWD 297.47" in review and "Tax: TWD 14.88" in review and "Total: TWD 312.35" in review
        assert "Valid until: 2026-12-26" in review and "Discount 4.8% (your limit 10%)" in review
        assert "Check the quote" in await ned.text_of("looks good")  # typed at the review: shown again
        assert await _count_quotes(engine) == 0

        await ned.press("％ Order discount")
        assert "percent" in (await ned.text_of("-3")).lower()
        after = await ned.text_of("2")
        assert "Order discount 2%: −TWD 5.95" in after and "over your limit" not in after
        await ned.press("📅 Valid until")
        assert "not a date" in await ned.text_of("someday")
        assert "valid-until date is in the past" in await ned.text_of("2020-01-01")
        assert "Valid until: 2027-01-31" in await ned.text_of("2027-01-31")
        card = _text(await ned.press("✅ Create quote"))
        assert "Quote Q2026-0001 created" in card and "Draft" in card and "Valid until: 2027-01-31" in card
        assert await _count_quotes(engine) == 1
        assert "out of date" in await _forge(bot, ned, "qn:save")  # the draft is gone: nothing saved twice
        assert await _count_quotes(engine) == 1


async def test_one_message_quote_in_traditional_chinese(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        nat, rep = await _member(bot, NED, "Nat", "rep", "zh-hant")
        await _products(bot, admin)
        await _customer(bot, rep, "台積電")

        refused = await nat.text_of("/quote 台積電 A-100 x3, Z-9 x1")
        assert "沒有料號為 Z-9 的產品" in refused and "未儲存" in refused
        assert "料號 x 數量" in await nat.text_of("/quote 台積電 A-100 x3 還有別的")
        assert "找不到客戶「聯發科」" in await nat.text_of("/quote 聯發科 A-100 x3")
        assert await _count_quotes(engine) == 0

        echoed = await nat.text_of("/quote 台積電 a-100＊3、B-20×12")
        assert "請確認報價內容" in echoed and "客戶：台積電" in echoed
        assert "A-100 螺絲起子 × 3 @ TWD 99.99 = TWD 299.97" in echoed and "B-20 Bolt × 12" in echoed
        assert "總計：TWD 472.47" in echoed and "有效期限：2026-12-26" in echoed
        assert await _count_quotes(engine) == 0
        card = _text(await nat.press("✅ 建立報價單"))
        assert "已建立報價單 Q2026-0001" in card and "狀態：📝 草稿" in card
        assert await _count_quotes(engine) == 1

        # Two customers answer to the name: pick one, then the same echo.
        await _customer(bot, rep, "台積電")
        assert "是哪一位客戶" in await nat.text_of("/quote 台積電 A-100 x1")
        assert "請點選" in await nat.text_of("第一個")  # typed at the pick: never a choice
        assert "請確認報價內容" in _text(await nat.press(1))
        await nat.text_of("/cancel")
        assert await _count_quotes(engine) == 1


async def test_browsing_categories_in_simplified_chinese(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        fang, rep = await _member(bot, NED, "王芳", "rep", "zh-hans")
        catalog = bot.services.sales.catalog
        tools = await catalog.create_category(admin, "工具")
        screws = await catalog.create_category(admin, "螺丝", tools.id)
        await catalog.create(admin, ProductDraft(sku="S-1", name="Screw", name_zh_hans="螺丝钉", category_id=screws.id,
                                                 list_price=Decimal(2), currency="TWD"))
        await _customer(bot, rep, "上海华联超市")
        await fang.text_of("/quote 上海华联超市 S-1 x100")  # a one-message draft is replaced by the next /quote
        assert "哪一位客户" in await fang.text_of("/quote")
        await fang.text_of("华联")
        await fang.press("🏢 上海华联超市")
        assert "产品目录" in _text(await fang.press("📂 浏览产品目录"))
        await fang.press("📂 工具")
        assert "工具 › 螺丝" in _text(await fang.press("📂 螺丝"))
        assert "📦 S-1 · 螺丝钉" in fang.labels()
        assert "工具" in _text(await fang.press("⬆️ 上一层"))
        await fang.press("📂 螺丝")
        asked = _text(await fang.press("📦 S-1 · 螺丝钉"))
        assert "数量：<b>1</b>" not in asked and "数量：1" in asked
        assert "“很多”不是数量" in await fang.text_of("很多")
        await fang.text_of("250")
        await fang.press("✅ 加入报价")
        review = _text(await fang.press("▶️ 查看报价"))
        assert "S-1 螺丝钉 × 250 @ TWD 2.00 = TWD 500.00" in review and "总计：TWD 500.00" in review
        assert "已创建报价单" in _text(await fang.press("✅ 创建报价单"))


async def test_a_draft_survives_a_restart_and_cancel_drops_it(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "Ned", "rep")
        await _products(bot, admin)
        await _customer(bot, rep, "Acme")
        await ned.text_of("/quote")
        await ned.text_of("Acme")
        await ned.press("🏢 Acme")
        await ned.text_of("B-20")
        await ned.press("📦 B-20 · Bolt")
    async with quote_bot(engine, clock) as bot:  # a new process on the same database
        ned = bot.user(NED, "Ned")
        assert "Quantity: 7" in await ned.text_of("7")
        await ned.press("✅ Add to quote")
        assert "Total: TWD 91.88" in _text(await ned.press("▶️ Review the quote"))
        assert "Nothing was saved" in await ned.text_of("/cancel")
        assert bot.told(await ned.press("✅ Create quote"), "out of date")
        assert await _count_quotes(engine) == 0

        # A question left unanswered times out: the next text is a new message, not the customer's name.
        await ned.text_of("/quote")
        clock.advance(timedelta(minutes=31))
        assert "Tap one" not in await ned.text_of("Acme")
        assert "🏢 Acme" in ned.labels()
        assert "out of date" in await _forge(bot, ned, "qn:cu:1")  # the earlier flow's button

        # The customer card's "📝 Quote" starts the guided flow with the customer chosen.
        await ned.press("🏢 Acme")
        assert "Quote for Acme" in _text(await ned.press("📝 Quote"))


# ---- the card ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "title", "total", "name"), [
    ("en", "Quotation", "Total", "Widget"), ("zh-hant", "報價單", "總計", "螺絲起子"),
    ("zh-hans", "报价单", "总计", "螺丝起子")])
async def test_the_pdf_comes_to_the_rep_in_their_language(engine: AsyncEngine, clock: ManualClock, language: str,
                                                           title: str, total: str, name: str) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        rep_chat, rep = await _member(bot, NED, "Ned", "rep", language)
        widget, _ = await _products(bot, admin)
        quote = await _quote(bot, rep, await _customer(bot, rep, "台積電"), widget)
        await _open(rep_chat, quote)
        await rep_chat.press("📄 PDF")
        [document] = bot.api.documents(rep_chat.user)
        assert document.filename == f"{quote.number}.pdf" and document.content.startswith(b"%PDF")
        text = _pdf_text(document.content)
        # The line's name too is in the reader's language.
        for expected in (title, total, quote.number, "台積電", "A-100", name, "測試股份有限公司", "台北市信義區"):
            assert expected in text, expected


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_the_quote_is_emailed_to_the_customer_with_the_pdf(engine: AsyncEngine, clock: ManualClock) -> None:
    with running_smtp_server() as smtp:
        async with quote_bot(engine, clock, None, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
                             mail_from="Sales <sales@crm.example.com>") as bot:
            admin = await _admin(bot)
            ned, rep = await _member(bot, NED, "Ned", "rep")
            widget, _ = await _products(bot, admin)
            acme = await _customer(bot, rep, "Acme & Sons", email="buyer@acme.example")
            quote = await _quote(bot, rep, acme, widget)
            listing = await ned.text_of("/quotes")
            assert "My quotes" in listing
            await ned.press(f"📝 {quote.number} · Acme & Sons")
            await ned.press("✉️ E-mail to customer")
            await ned.press("✉️ Acme & Sons <buyer@acme.example>")
            assert "with the PDF attached" in (ned.last.text or "")
            sent = _text(await ned.press("✅ Send"))
            assert "on its way by e-mail" in sent and "Sent" in sent

            async def arrived() -> bool:
                await asyncio.sleep(0)
                return len(smtp.received) == 1

            await _until(bot, arrived)
            message = smtp.single().message
            assert smtp.single().rcpt_tos == ["buyer@acme.example"]
            assert quote.number in str(message["Subject"]) and COMPANY in str(message["Subject"])
            [attachment] = list(message.iter_attachments())
            assert attachment.get_filename() == f"{quote.number}.pdf"
            assert "Quotation" in _pdf_text(attachment.get_content())
            body = message.get_body(("plain",))
            assert body is not None and "Dear Acme & Sons" in body.get_content()
            assert (await bot.services.sales.quotes.get(rep, quote.id)).status is QuoteStatus.SENT


async def test_the_quote_is_faxed_through_the_gateway(engine: AsyncEngine, clock: ManualClock) -> None:
    fax = RecordingFaxSender()
    async with quote_bot(engine, clock, Sinks(fax=fax)) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "Ned", "rep")
        widget, _ = await _products(bot, admin)
        quote = await _quote(bot, rep, await _customer(bot, rep, "Acme", phones=("+886223456789",)), widget)
        await _open(ned, quote)
        await ned.press("📠 Fax to customer")
        assert "+886223456789" in " ".join(ned.labels())
        assert "not a fax number" in await ned.text_of("12")
        assert f"Fax quote {quote.number} to +886287654321" in await ned.text_of("(02) 8765-4321")
        assert "Fax quote" in await ned.text_of("yes")  # typed at the confirmation: asked again
        assert "+886287654321" in _text(await ned.press("✅ Send"))

        async def faxed() -> bool:
            return len(fax.sent) == 1

        await _until(bot, faxed)
        sent = fax.single()
        assert sent.to == "+886287654321" and sent.document.content.startswith(b"%PDF")
        assert quote.number in (sent.cover_text or "")


async def test_status_buttons_list_and_customer_card(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "Ned", "rep")
        mia, manager = await _member(bot, MIA, "Mia", "manager")
        widget, _ = await _products(bot, admin)
        acme = await _customer(bot, rep, "Acme")
        first = await _quote(bot, rep, acme, widget)
        second = await _quote(bot, rep, acme, widget)
        await _quote(bot, manager, await _customer(bot, manager, "Beta"), widget)

        await ned.send("Acme")
        card = _text(await ned.press("🏢 Acme"))
        assert "Open quotes" in card and first.number in card and second.number in card
        assert "📝 Quote" in ned.labels()

        await _open(ned, second)
        await ned.press("🗑 Delete draft")
        assert f"Quote {second.number}" in _text(await ned.press("Cancel"))  # back to the card
        await ned.press("🗑 Delete draft")
        await ned.press(1)  # yes, delete
        assert await bot.services.sales.quotes.listed(rep) == ([(first.id, first.number, "draft", "Acme")], False)

        await _open(ned, first)
        card = _text(await ned.press("📤 Mark sent"))
        assert "Marked as sent" in card and "Sent" in card
        asked = _text(await ned.press("✅ Accepted"))
        assert "An order will be made" in asked
        assert (await bot.services.sales.quotes.get(rep, first.id)).status is QuoteStatus.SENT
        done = _text(await ned.press("✅ Yes, accepted"))
        assert "Marked as accepted" in done and "Accepted" in done
        assert "📤 Mark sent" not in ned.labels() and "✅ Accepted" not in ned.labels()

        mine = await mia.text_of("/quotes")
        assert "Beta" in " ".join(mia.labels()) and "Acme" not in " ".join(mia.labels()) and "My quotes" in mine
        team = _text(await mia.press("👥 Team"))
        assert "Team quotes" in team and any("Acme" in label for label in mia.labels())

        # A colleague's quote out of scope, forged ids, garbage: not found, nothing changes.
        sue, _ = await _member(bot, SUE, "Sue", "rep")
        for data in (f"qt:open:{first.id}", f"qt:pdf:{first.id}", f"qt:rej:{first.id}", "qt:open:99999",
                     "qt:open:-1", "qt:emto:1:z:1", f"qt:fxgo:{first.id}"):
            told = await _forge(bot, sue, data)
            assert "Not found" in told or "out of date" in told or "no longer" in told, (data, told)
        assert not bot.api.documents(sue.user)
        assert (await bot.services.sales.quotes.get(rep, first.id)).status is QuoteStatus.ACCEPTED


# ---- discount approval -------------------------------------------------------------------------------------

async def test_over_the_limit_a_manager_approves_and_then_it_can_be_sent(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "Ned", "rep")
        mia, manager = await _member(bot, MIA, "Mia", "manager")
        south = await bot.services.organisation.departments.create(admin, "South", admin.department_id)
        max_chat, _ = await _member(bot, MAX, "Max", "manager", department_id=south.id)
        sue, _ = await _member(bot, SUE, "Sue", "rep")
        await _products(bot, admin)
        await _customer(bot, rep, "Acme")

        # Made in chat with a 15 % line discount: over the rep's 10 %, so the request goes out with the quote.
        await ned.text_of("/quote")
        await ned.text_of("Acme")
        await ned.press("🏢 Acme")
        await ned.text_of("A-100")
        await ned.press("📦 A-100 · Widget")
        await ned.press("％ Line discount")
        await ned.text_of("15")
        await ned.press("✅ Add to quote")
        review = _text(await ned.press("▶️ Review the quote"))
        assert "Discount 15% is over your limit 10%" in review
        card = _text(await ned.press("✅ Create quote"))
        assert "Sent to 2 approver(s)" in card and "waiting for a manager" in card
        assert "✉️ E-mail to customer" not in ned.labels() and "📤 Mark sent" not in ned.labels()
        [quote_id] = [q for q, *_ in (await bot.services.sales.quotes.listed(rep))[0]]
        with pytest.raises(Conflict):
            await bot.services.sales.quotes.move(rep, quote_id, QuoteStatus.SENT)
        with pytest.raises(Conflict):
            await bot.services.sales.quotes.for_customer(rep, quote_id, {})

        push = mia.last.text or ""
        assert "A discount needs your approval" in push and "15%" in push and "Asked by: Ned" in push
        assert mia.labels()[:2] == ["✅ Approve", "✖️ Reject"]
        assert "A discount needs your approval" in (bot.user(ADMIN_ID, "Ada").last.text or "")
        assert not bot.api.chat(MAX).bot_messages  # South's manager does not cover Ned: not asked
        [pending] = await bot.services.sales.discounts.pending(manager)
        approval_id = pending.approval.id

        # Forged presses: a rep without the permission, a manager out of scope, the requester: nothing changes.
        assert "don't have permission" in await _forge(bot, sue, f"da:ok:{approval_id}")
        assert "don't have permission" in await _forge(bot, ned, f"da:ok:{approval_id}")
        assert "Not found" in await _forge(bot, max_chat, f"da:ok:{approval_id}")
        assert "Not found" in await _forge(bot, max_chat, f"da:no:{approval_id}")
        assert "Not found" in await _forge(bot, mia, "da:ok:99999")
        assert "out of date" in await _forge(bot, mia, "da:ok:x")
        assert (await bot.services.sales.discounts.pending(manager))[0].approval.status.value == "pending"

        listing = await mia.text_of("/discounts")
        assert "1 discount(s) waiting" in listing
        await mia.press(1)
        done = _text(await mia.press("✅ Approve"))
        assert "Approved" in done
        told = ned.last.text or ""
        assert "Mia approved the 15% discount on Quote" in told and "can be sent now" in told
        assert "Someone already decided" in await _forge(bot, bot.chatters[ADMIN_ID], f"da:ok:{approval_id}")

        card = _text(await ned.press("📝 Open the quote"))
        assert "Discount 15% approved" in card and "📤 Mark sent" in ned.labels()
        assert "Marked as sent" in _text(await ned.press("📤 Mark sent"))


async def test_a_rejection_asks_its_reason_and_the_rep_is_told(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ned, rep = await _member(bot, NED, "小明", "rep", "zh-hans")
        mia, manager = await _member(bot, MIA, "美华", "manager", "zh-hans")
        widget, _ = await _products(bot, admin)
        quote = await _quote(bot, rep, await _customer(bot, rep, "华为"), widget, discount="12")
        card = _text(await _open(ned, quote))
        assert "须经主管批准才能发送" in card
        assert "已发送给" in _text(await ned.press("🙋 申请折扣批准"))
        assert "有一笔折扣需要您批准" in (mia.last.text or "")
        asked = _text(await mia.press("✖️ 驳回"))
        assert "请输入原因" in asked
        assert "请输入原因" in await mia.text_of("   ")
        assert "已驳回" in await mia.text_of("价格太低，请重新报价")
        told = ned.last.text or ""
        assert "美华 驳回了报价单" in told and "价格太低，请重新报价" in told
        card = _text(await ned.press("📝 打开报价单"))
        assert "被驳回：价格太低" in card and "🙋 申请折扣批准" in ned.labels()
        async with engine.connect() as conn:
            rows = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.actor_id, t.audit_log.c.after)
                                       .where(t.audit_log.c.entity == "discount_approval")
                                       .order_by(t.audit_log.c.id))).all()
        assert [(r.action, r.actor_id) for r in rows] == [("request", rep.staff_id), ("rejected", manager.staff_id)]
        assert rows[1].after["reason"] == "价格太低，请重新报价"


async def test_an_admin_sets_the_limit_per_role(engine: AsyncEngine, clock: ManualClock) -> None:
    async with quote_bot(engine, clock) as bot:
        admin = await _admin(bot)
        ada = bot.chatters[ADMIN_ID]
        ned, rep = await _member(bot, NED, "Ned", "rep", "zh-hant")
        widget, _ = await _products(bot, admin)
        listing = await ada.text_of("/discountlimit")
        assert "Discount limit per role" in listing and "10%" in listing and "no limit" in listing
        assert "There is no role called “boss”" in await ada.text_of("/discountlimit boss 5")
        assert "percent" in (await ada.text_of("/discountlimit rep lots")).lower()
        assert "20%" in await ada.text_of("/discountlimit rep 20")
        assert "您沒有執行此操作的權限" in await ned.text_of("/discountlimit rep 90")
        quote = await _quote(bot, rep, await _customer(bot, rep, "Acme"), widget, discount="15")
        card = _text(await _open(ned, quote))
        assert "折扣 15%（上限 20%）" in card and "📤 標記為已送出" in ned.labels()
        assert "no limit" in await ada.text_of("/discountlimit rep -")
