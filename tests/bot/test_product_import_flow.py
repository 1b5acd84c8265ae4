"""A product file sent to the bot: someone who may import customers and products is asked which the file holds;
someone who may import only products goes straight to the check; the report comes first, then all rows or none."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.organisation.identity import TelegramIdentity
from handlers.customers import importing as uploads
from storage import tables as t
from storage.customers.spreadsheets import write_csv, write_xlsx
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, _snapshot, running_bot

GOOD = write_csv(["料號", "品名", "單價", "單位"],
                 [["A-100", "螺絲起子", "120", "pcs"], ["B-20", "扳手", "350.5", "pcs"]])


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en") -> Chatter:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.list(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], admin.department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    return chatter


async def _send(chatter: Chatter, name: str, content: bytes, mime: str = "text/csv") -> list[ChatMessage]:
    api, app = chatter.harness.api, chatter.harness.app
    chat = api.chat(chatter.user.id)
    before = {m.message_id: _snapshot(m) for m in chat.bot_messages}
    await api.deliver(app, api.document(chatter.user, name, content, mime, enqueue=False))
    await uploads.wait_for_imports(app)
    return [m for m in chat.bot_messages if before.get(m.message_id) != _snapshot(m)]


async def _skus(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(t.products.c.sku).where(t.products.c.deleted_at.is_(None)))).scalars())


async def test_a_manager_is_asked_what_the_file_holds_then_imports_products(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia = await _join(bot, 3001, "Mia", "manager")
        asked = await _send(mia, "價目表.csv", GOOD)
        assert "What is in 價目表.csv?" in (asked[-1].text or "")
        assert mia.labels() == ["👥 Customers", "📦 Products", "Cancel"]
        await mia.press("📦 Products")
        await uploads.wait_for_imports(bot.app)
        report = mia.last.text or ""
        assert "價目表.csv: 2 rows — 2 valid, 0 with problems" in report
        assert "sku" in report and "list_price" in report
        assert mia.labels() == ["Import 2 products", "Cancel"]
        assert await _skus(engine) == set()  # nothing saved before the press
        run_data = mia.last.reply_markup[0][0][1]
        await mia.press("Import 2 products")
        await uploads.wait_for_imports(bot.app)
        assert "Imported 2 products." in (mia.last.text or "")
        assert await _skus(engine) == {"A-100", "B-20"}
        # The same button again (a double tap, or an old message): nothing twice.
        await mia._do(bot.api.press(mia.user, mia.last.message_id, run_data, enqueue=False, forged=True))
        assert "no longer waiting" in bot.api.calls_to("answerCallbackQuery")[-1].params["text"]
        assert await _skus(engine) == {"A-100", "B-20"}


async def test_a_file_with_problems_imports_nothing_and_says_why_in_chinese(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia = await _join(bot, 3001, "Mia", "manager", "zh-hant")
        await _send(mia, "tools.xlsx", write_xlsx(["SKU", "Name", "Price"], [["C-1", "Hammer", "99"],
                                                                             ["C-1", "Hammer again", "88"],
                                                                             ["D-2", "Saw", "cheap"]]),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        assert "tools.xlsx 是哪一種資料？" in (mia.last.text or "")
        await mia.press("📦 產品")
        await uploads.wait_for_imports(bot.app)
        report = mia.last.text or ""
        assert "tools.xlsx" in report
        assert "第 3 列「SKU」：料號 C-1 也出現在第 2 列。" in report
        assert "第 4 列「Price」" in report
        assert "有 2 列有問題，因此沒有匯入任何資料" in report
        assert mia.labels() == []  # no Import button: all or nothing
        assert await _skus(engine) == set()


async def test_who_may_not_import_is_refused_and_forged_presses_change_nothing(engine: AsyncEngine,
                                                                             clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned = await _join(bot, 3002, "Ned", "rep")
        refused = await _send(ned, "products.csv", GOOD)
        assert "not allowed" in (refused[-1].text or "").lower() or "permission" in (refused[-1].text or "").lower()
        # Forged presses (on a message with buttons, as a modified client would): another upload's token, a kind
        # that does not exist, an import with no file waiting.
        await ned.send("/language")
        for data in ("imp:kind:abcd1234:products", "pimp:run:abcd1234", "pimp:cancel:abcd1234",
                     "imp:kind:" + "9" * 40 + ":x"):
            await ned._do(bot.api.press(ned.user, None, data, enqueue=False, forged=True))
        assert await _skus(engine) == set()
        assert uploads.running_job(bot.app) is None
