"""The product catalog in chat: browsing, the card in English and Traditional Chinese, what a rep sees, the
one-line /newproduct, editing a price, and forged presses of manager-only buttons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot


async def _catalog(bot: BotHarness) -> tuple[Chatter, Chatter, Chatter, int]:
    ada = bot.user(ADMIN_ID, "Ada")
    await ada.send("/start")
    mia, manager = await join(bot, 3001, "Mia", "manager")
    ned, _ = await join(bot, 3002, "Ned", "rep")
    nat, _ = await join(bot, 3003, "Nat", "rep", "zh-hant")
    catalog = bot.services.sales.catalog
    tools = await catalog.create_category(manager, "Tools")
    widget = await catalog.create(manager, ProductDraft(
        sku="A-100", name="Screwdriver", name_zh_hant="螺絲起子", category_id=tools.id, list_price=Decimal("120"),
        currency="TWD", cost=Decimal("80"), tax_rate=Decimal("5")))
    return mia, ned, nat, int(widget.id)


async def _forge(chatter: Chatter, data: str) -> list[Any]:
    api = chatter.harness.api
    return await chatter._do(api.press(chatter.user, None, data, enqueue=False, forged=True))


async def test_browse_to_the_card_in_english_and_chinese_and_a_rep_sees_no_cost(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        mia, ned, nat, _ = await _catalog(bot)
        top = await mia.text_of("/products")
        assert "Product catalog" in top and "📂 Tools" in mia.labels()
        await mia.press("📂 Tools")
        card = await mia.press("📦 A-100 · Screwdriver")
        text = card[-1].text or ""
        assert "Screwdriver" in text and "TWD 120.00" in text and "Cost: TWD 80.00" in text and "33.3%" in text
        assert "✏️ Edit" in mia.labels()

        await ned.send("/products")
        await ned.press("📂 Tools")
        seen = (await ned.press("📦 A-100 · Screwdriver"))[-1].text or ""
        assert "TWD 120.00" in seen and "Cost" not in seen and "80" not in seen and "%)" in seen
        assert "✏️ Edit" not in ned.labels()

        await nat.send("/products")
        await nat.press("📂 Tools")
        shown = (await nat.press("📦 A-100 · 螺絲起子"))[-1].text or ""
        assert "螺絲起子" in shown and "料號：A-100" in shown and "定價：TWD 120.00" in shown and "成本" not in shown


async def test_typing_after_products_searches_and_product_finds_by_sku(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        _, ned, nat, _ = await _catalog(bot)
        await nat.send("/products")
        assert "螺絲起子" in await nat.text_of("起子")  # two characters: the one product's card
        assert "A-100" in await ned.text_of("/product a-100")
        assert "No product found" in await ned.text_of("/product nothing-like-it")


async def test_one_line_new_product_is_echoed_before_it_is_saved(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        mia, ned, _, _ = await _catalog(bot)
        check = await mia.text_of("/newproduct b-7 Hex bolt 15 TWD")
        assert "SKU: B-7" in check and "Name: Hex bolt" in check and "TWD 15.00" in check
        await mia.send("oops")  # typed at the summary: not the product, the summary again
        assert (await bot.services.sales.catalog.search(await _actor(bot, 3001), "hex")).products == ()
        saved = await mia.press("✅ Save")
        assert "Product B-7 saved." in (saved[-1].text or "")
        assert "permission" in (await ned.text_of("/newproduct C-1 Nut 2")).lower()


async def _actor(bot: BotHarness, tg_id: int) -> Actor:
    actor: Actor | None = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, "x"))
    assert actor is not None
    return actor


async def test_editing_the_price_and_a_reps_forged_presses_change_nothing(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        mia, ned, _, widget_id = await _catalog(bot)
        await mia.send("/product A-100")
        await mia.press("✏️ Edit")
        await mia.press("list price")
        saved = await mia.text_of("135.5")
        assert "TWD 120.00 → TWD 135.50" in saved

        await ned.send("/product A-100")  # the card he may open, pressed with data it does not offer
        for data in (f"pr:edit:{widget_id}", f"pr:ef:{widget_id}:list_price", f"pr:ev:{widget_id}:active:0",
                     f"pr:del:{widget_id}", f"pr:delok:{widget_id}", "pc:new:0", "pr:trash:0"):
            replies = await _forge(ned, data)
            assert bot.told(replies, bot.t("en", "error.permission_denied")), data
        await ned.send("1")  # had a forged press opened a question, this would be the new price
        product = await bot.services.sales.catalog.get(await _actor(bot, 3001), widget_id)
        assert product.list_price == Decimal("135.5") and product.active and product.deleted_at is None

        await mia.press_data(f"pr:del:{widget_id}")
        await mia.press("Yes, delete")
        assert "No product found" in await ned.text_of("/product screwdriver")
        await mia.press("↩️ Restore")
        assert "A-100" in await ned.text_of("/product screwdriver")


async def test_guided_new_product_and_a_new_category_from_the_browser(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        mia, _, _, _ = await _catalog(bot)
        assert "SKU" in await mia.text_of("/newproduct")
        assert "not a SKU" in await mia.text_of("has spaces")  # the question stays open
        assert "name" in (await mia.text_of("c-9")).lower()
        assert "price" in (await mia.text_of("Wood glue")).lower()
        check = await mia.text_of("80 usd")
        assert "SKU: C-9" in check and "USD 80.00" in check
        await mia.send("/cancel")
        assert (await bot.services.sales.catalog.search(await _actor(bot, 3001), "glue")).products == ()

        await mia.send("/products")
        await mia.press("➕ Category")
        browsed = await mia.text_of("Adhesives")
        assert "Category Adhesives added." in browsed and "Adhesives" in browsed
        await mia.send("/products")
        assert "📂 Adhesives" in mia.labels() and "📂 Tools" in mia.labels()


async def test_a_photo_sent_for_the_photo_field_is_shown_from_the_card(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        mia, ned, _, widget_id = await _catalog(bot)
        await mia.send("/product A-100")
        await mia.press("✏️ Edit")
        await mia.press("photo")
        saved = await mia.photo()
        assert "Saved." in (saved[-1].text or "") and "📷 Photo" in mia.labels()
        product = await bot.services.sales.catalog.get(await _actor(bot, 3002), widget_id)
        assert product.photo_file_id

        await ned.send("/product A-100")
        shown = await ned.press("📷 Photo")
        assert [m.kind for m in shown if m.from_bot][-1] == "photo"
