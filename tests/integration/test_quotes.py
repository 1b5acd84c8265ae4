"""Quotations over a real database: pricing from the catalog, numbering per year and under concurrency, one
currency per quote, statuses, scope and audit; the PDF read back with pypdf in Chinese and English."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import Tier
from crm.organisation.permissions import Actor
from crm.sales.model import Product, ProductDraft
from crm.sales.quote_model import LineDraft, QuoteStatus
from storage import tables as t
from tests.support.org import Org, make_org

LABELS_EN = {"title": "Quotation", "customer": "Customer", "date": "Date", "valid_until": "Valid until",
             "sku": "SKU", "item": "Item", "quantity": "Qty", "unit_price": "Unit price", "discount": "Disc.",
             "tax": "Tax", "amount": "Amount", "subtotal": "Subtotal", "order_discount": "Discount",
             "total": "Total"}
LABELS_ZH = {"title": "報價單", "customer": "客戶", "date": "日期", "valid_until": "有效期限", "sku": "料號",
             "item": "品名", "quantity": "數量", "unit_price": "單價", "discount": "折扣", "tax": "稅",
             "amount": "金額", "subtotal": "小計", "order_discount": "整單折扣", "total": "總計"}


@dataclass
class Shop:
    org: Org
    mia: Actor  # manager, North
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    widget: Product
    bolt: Product
    dollar: Product  # priced in USD


async def _shop(engine: AsyncEngine, clock: ManualClock) -> Shop:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    catalog = org.services.sales.catalog
    widget = await catalog.create(mia, ProductDraft(sku="A-100", name="Widget", name_zh_hant="螺絲起子",
                                                    list_price=Decimal("99.99"), currency="TWD",
                                                    tax_rate=Decimal(5)))
    bolt = await catalog.create(mia, ProductDraft(sku="B-20", name="Bolt", list_price=Decimal("12.5"),
                                                  currency="TWD", tax_rate=Decimal(5)))
    dollar = await catalog.create(mia, ProductDraft(sku="C-1", name="Import", list_price=Decimal(10),
                                                    currency="USD"))
    return Shop(org, mia, ned, sue, widget, bolt, dollar)


async def _customer(shop: Shop, actor: Actor, name: str, tier: Tier | None = None) -> int:
    customers = shop.org.services.customers.customers
    return (await customers.create(actor, CustomerDraft(name=name, tier=tier), force=True)).id


async def test_a_quote_is_priced_for_the_customer_numbered_and_audited(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes = shop.org.services.sales.quotes
    await shop.org.services.sales.prices.set_tier_discount(shop.mia, Tier.A, "12.5")
    tsmc = await _customer(shop, shop.ned, "台積電", Tier.A)

    quote = await quotes.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(3)),
                                                  LineDraft(product_id=shop.bolt.id, quantity=Decimal(12),
                                                            discount=Decimal(10))])
    year = clock.now().year
    assert quote.number == f"Q{year}-0001" and quote.status is QuoteStatus.DRAFT
    assert quote.valid_until == clock.now().date() + timedelta(days=30)
    # 99.99 less 12.5 % = 87.49125 → 87.49 a piece; the bolt: 12.5 less 12.5 % = 10.9375 → 10.94.
    assert [(line.sku, line.unit_price) for line in quote.lines] == [("A-100", Decimal("87.49")),
                                                                     ("B-20", Decimal("10.94"))]
    result = quote.totals
    # 3 × 87.49 = 262.47; 12 × 10.94 less 10 % = 118.152 → 118.15; tax 13.12 + 5.91.
    assert (result.subtotal, result.tax, result.total) == (Decimal("380.62"), Decimal("19.03"), Decimal("399.65"))
    assert (await quotes.get(shop.ned, quote.id)).totals.total == Decimal("399.65")  # read back exactly

    second = await quotes.create(shop.ned, tsmc, [LineDraft(product_id=shop.bolt.id, quantity=Decimal(1))])
    assert second.number == f"Q{year}-0002"
    clock.advance(timedelta(days=366))
    next_year = await quotes.create(shop.ned, tsmc, [LineDraft(product_id=shop.bolt.id, quantity=Decimal(1))])
    assert next_year.number == f"Q{year + 1}-0001"

    sent = await quotes.move(shop.ned, quote.id, QuoteStatus.SENT)
    assert sent.sent_at == clock.now()
    with pytest.raises(ValidationFailed):
        await quotes.move(shop.ned, quote.id, QuoteStatus.DRAFT)
    await quotes.move(shop.ned, quote.id, QuoteStatus.ACCEPTED)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.after).where(
            t.audit_log.c.entity == "quote", t.audit_log.c.entity_id == quote.id).order_by(t.audit_log.c.id))).all()
    assert [r.action for r in rows] == ["create", "move", "move"]
    assert rows[0].after["total"] == "399.65" and rows[0].after["lines"][0]["unit_price"] == "87.49"
    assert rows[-1].after == {"status": "accepted"}


async def test_two_quotes_created_at_once_get_different_numbers(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes = shop.org.services.sales.quotes
    acme = await _customer(shop, shop.ned, "Acme")
    line = [LineDraft(product_id=shop.bolt.id, quantity=Decimal(1))]
    made = await asyncio.gather(*(quotes.create(shop.ned, acme, line) for _ in range(2)))
    year = clock.now().year
    assert sorted(q.number for q in made) == [f"Q{year}-0001", f"Q{year}-0002"]


async def test_one_currency_per_quote_and_nothing_saved_when_refused(engine: AsyncEngine,
                                                                     clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes = shop.org.services.sales.quotes
    acme = await _customer(shop, shop.ned, "Acme")
    with pytest.raises(ValidationFailed) as refused:
        await quotes.create(shop.ned, acme, [LineDraft(product_id=shop.widget.id, quantity=Decimal(1)),
                                             LineDraft(product_id=shop.dollar.id, quantity=Decimal(1))])
    assert refused.value.key == "sales.quote_error_currency"
    with pytest.raises(ValidationFailed):
        await quotes.create(shop.ned, acme, [])
    with pytest.raises(ValidationFailed):
        await quotes.create(shop.ned, acme, [LineDraft(product_id=shop.bolt.id, quantity=Decimal(1))],
                            valid_until=clock.now().date() - timedelta(days=1))
    async with engine.connect() as conn:
        assert (await conn.execute(select(t.quotes.c.id))).all() == []
        assert (await conn.execute(select(t.quote_counters.c.year))).all() == []


async def test_scope_a_rep_sees_their_own_a_manager_the_department_tree(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes = shop.org.services.sales.quotes
    acme = await _customer(shop, shop.ned, "Acme")
    neds = await quotes.create(shop.ned, acme, [LineDraft(product_id=shop.bolt.id, quantity=Decimal(2))])
    with pytest.raises(NotFound):
        await quotes.get(shop.sue, neds.id)
    with pytest.raises(NotFound):
        await quotes.move(shop.sue, neds.id, QuoteStatus.SENT)  # a forged press: not found, nothing moves
    with pytest.raises(NotFound):
        await quotes.create(shop.sue, acme, [LineDraft(product_id=shop.bolt.id, quantity=Decimal(1))])
    assert (await quotes.get(shop.mia, neds.id)).number == neds.number
    assert (await quotes.get(shop.ned, neds.id)).status is QuoteStatus.DRAFT
    await quotes.delete(shop.ned, neds.id)
    with pytest.raises(NotFound):
        await quotes.get(shop.ned, neds.id)


async def test_the_pdf_reads_back_in_chinese_and_english(engine: AsyncEngine, clock: ManualClock) -> None:
    shop = await _shop(engine, clock)
    quotes = shop.org.services.sales.quotes
    tsmc = await _customer(shop, shop.ned, "台積電")
    quote = await quotes.create(shop.ned, tsmc, [LineDraft(product_id=shop.widget.id, quantity=Decimal(3))],
                                valid_until=date(2099, 1, 31))
    for labels in (LABELS_EN, LABELS_ZH):
        name, payload = await quotes.pdf(shop.ned, quote.id, labels)
        assert name == f"{quote.number}.pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages)
        for expected in (labels["title"], labels["total"], quote.number, "台積電", "A-100", "Widget", "2099-01-31",
                         "299.97", "314.97"):
            assert expected in text, (expected, text)
    with pytest.raises(NotFound):
        await quotes.pdf(shop.sue, quote.id, LABELS_EN)
