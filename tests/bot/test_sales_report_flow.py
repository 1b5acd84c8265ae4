"""/sales over the real Application: a manager's month in English with costs, the trend photo and the XLSX
button; a rep in Traditional Chinese who types a wrong period, is told so and asks for last month (their own
orders only, no costs); a rep in Simplified Chinese for this quarter; forged period codes send nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from matplotlib import image
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft
from tests.support.bot_harness import ADMIN_ID, BotHarness, join, running_bot

MIA, NED, SUE = 3001, 3002, 3004
START = datetime(2026, 11, 26, 2, tzinfo=UTC)


async def _data(bot: BotHarness, clock: ManualClock, mia: Actor, ned: Actor) -> None:
    catalog, customers = bot.services.sales.catalog, bot.services.customers.customers
    widget = await catalog.create(mia, ProductDraft(sku="A-100", name="Widget", name_zh_hant="螺絲起子",
                                                    name_zh_hans="螺丝起子", list_price=Decimal("99.99"),
                                                    currency="TWD", tax_rate=Decimal(5), cost=Decimal(60)))
    acme = (await customers.create(ned, CustomerDraft(name="Acme"), force=True)).id
    cora = (await customers.create(mia, CustomerDraft(name="Cora"), force=True)).id
    for at, actor, customer, widgets in ((datetime(2026, 10, 10, 4, tzinfo=UTC), ned, acme, 2),
                                         (datetime(2026, 11, 5, 4, tzinfo=UTC), ned, acme, 3),
                                         (datetime(2026, 11, 12, 4, tzinfo=UTC), mia, cora, 1)):
        clock.set(at)
        await bot.services.orders.orders.create(actor, customer, [LineDraft(product_id=widget.id,
                                                                            quantity=Decimal(widgets))])
    clock.set(START)


async def test_sales_in_chat_in_three_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep", "zh-hant")
        sue, _ = await join(bot, SUE, "Sue", "rep", "zh-hans")
        await _data(bot, clock, mias, neds)

        # The manager's month: Ned's 3 widgets (314.97) and her own 1 (104.99) against Ned's 2 in October.
        replies = await mia.send("/sales")
        text = "\n".join(m.text or "" for m in replies if m.kind == "text")
        assert "Sales 2026-11 (compared with 2026-10-01..2026-10-31)" in text
        assert "Revenue TWD: 419.96 (before 209.98, +100.0%)" in text
        assert "Orders in TWD: 2 (before 1, +100.0%)" in text
        assert "Average order TWD: 209.98 (before 209.98, ±0%)" in text
        assert "• Acme: TWD 314.97 (before 209.98, +50.0%), 1 orders" in text
        assert "• A-100 Widget: TWD 399.96 (before 199.98, +100.0%)" in text
        assert "cost 240.00, margin 159.96" in text
        photo = next(m for m in replies if m.kind == "photo")
        assert photo.document is not None
        assert image.imread(io.BytesIO(photo.document.content), format="png").shape[1] > 200

        await mia.press("📊 XLSX")
        document = bot.api.documents(MIA)[-1]
        assert document.filename == "sales-2026-11.xlsx"
        book = load_workbook(io.BytesIO(document.content))
        assert book.sheetnames == ["Totals", "Customers", "Products (before tax)", "Categories (before tax)", "Reps"]
        assert [list(r) for r in book["Reps"].iter_rows(values_only=True)][1:] == [
            ["Ned", "TWD", 314.97, 209.98, 1], ["Mia", "TWD", 104.99, 0, 1]]

        # A rep in Traditional Chinese: a wrong period is said so, with examples; last month is theirs alone.
        wrong = await ned.text_of("/sales 下下下個月")
        assert "看不懂這個期間" in wrong and "/sales 上個月" in wrong
        replies = await ned.send("/sales 上個月")
        text = "\n".join(m.text or "" for m in replies if m.kind == "text")
        assert "銷售 2026-10" in text and "營收 TWD：209.98（之前 0.00，新增）" in text
        assert "螺絲起子" in text and "Cora" not in text and "成本" not in text
        await ned.press("📊 XLSX 檔")
        rep_book = load_workbook(io.BytesIO(bot.api.documents(NED)[-1].content))
        cells = {c for sheet in rep_book.worksheets for row in sheet.iter_rows(values_only=True) for c in row}
        assert "成本" not in cells and "毛利" not in cells and "Cora" not in cells

        # A rep in Simplified Chinese with nothing sold this quarter.
        quiet = await sue.text_of("/sales 本季")
        assert "销售 2026-Q4" in quiet and "都没有销售" in quiet

        # Forged or garbled period codes: nothing is sent.
        before = len(bot.api.documents(NED))
        for data in ("sr:x:999999999999999999999999", "sr:x:", "sr:x:2026110120261201202610019"):
            await bot.api.deliver(bot.app, bot.api.press(ned.user, None, data, enqueue=False, forged=True))
            assert not bot.api.unanswered_callback_queries(), data
        assert len(bot.api.documents(NED)) == before
