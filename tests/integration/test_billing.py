"""Billing over a real database: an invoice priced like a quotation and due after the customer's terms, a partial
payment, the aging bucket moving as the clock does, the overdue push claimed once in working hours, the full
payment; over-allocation, reversal and void rules; scope; an invoice from a plugged-in source; the PDF read back
in Chinese and English; the card's and the digest's sections."""

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

from crm.billing.model import InvoiceStatus, PaymentDraft, PaymentMethod
from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.organisation.digest import DigestPeriod
from crm.organisation.permissions import Actor
from crm.sales.model import Product, ProductDraft
from crm.sales.quote_model import LineDraft, totals
from storage import tables as t
from tests.support.org import Org, make_org

LABELS_EN = {"title": "Invoice", "customer": "Customer", "date": "Date", "due_date": "Due date", "sku": "SKU",
             "item": "Item", "quantity": "Qty", "unit_price": "Unit price", "discount": "Disc.", "tax": "Tax",
             "amount": "Amount", "subtotal": "Subtotal", "order_discount": "Discount", "total": "Total",
             "paid": "Paid", "balance": "Balance due", "void": "Void"}
LABELS_ZH = {"title": "發票", "customer": "客戶", "date": "日期", "due_date": "到期日", "sku": "料號", "item": "品名",
             "quantity": "數量", "unit_price": "單價", "discount": "折扣", "tax": "稅", "amount": "金額",
             "subtotal": "小計", "order_discount": "整單折扣", "total": "總計", "paid": "已收", "balance": "應付餘額",
             "void": "作廢"}


@dataclass
class Books:
    org: Org
    mia: Actor  # manager, North (sees North-East too)
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    widget: Product
    bolt: Product
    tsmc: int  # Ned's customer


async def _books(engine: AsyncEngine, clock: ManualClock) -> Books:
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
    tsmc = (await org.services.customers.customers.create(ned, CustomerDraft(name="台積電"), force=True)).id
    return Books(org, mia, ned, sue, widget, bolt, tsmc)


def _lines(books: Books) -> list[LineDraft]:
    return [LineDraft(product_id=books.widget.id, quantity=Decimal(3)),
            LineDraft(product_id=books.bolt.id, quantity=Decimal(12))]


def _payment(books: Books, amount: str, *, on: date, invoice_ids: tuple[int, ...] = (),
             method: PaymentMethod = PaymentMethod.TRANSFER) -> PaymentDraft:
    return PaymentDraft(customer_id=books.tsmc, amount=Decimal(amount), currency="TWD", method=method,
                        received_on=on, reference="TX-1", invoice_ids=invoice_ids)


def _today(books: Books, clock: ManualClock) -> date:
    from zoneinfo import ZoneInfo

    return clock.now().astimezone(ZoneInfo(books.ned.timezone)).date()


async def test_invoice_partial_payment_aging_overdue_push_then_paid(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    billing = books.org.services.billing
    admin = books.org.admin
    invoice = await billing.invoices.issue(admin, books.tsmc, _lines(books))
    year = clock.now().year
    assert invoice.number == f"INV{year}-0001" and invoice.status is InvoiceStatus.ISSUED
    assert invoice.owner_id == books.ned.staff_id  # the customer's rep is told when it is overdue
    today = _today(books, clock)
    assert invoice.due_date == today + timedelta(days=30)
    # The quotation's arithmetic, not a second one: 3 × 99.99 = 299.97, 12 × 12.50 = 150.00, 5% tax each.
    expected = totals(invoice.lines, Decimal(0), "TWD")
    assert invoice.total == expected.total == Decimal("472.47")

    paid = await billing.payments.record(admin, _payment(books, "200", on=today))
    assert [(a.invoice_id, a.amount) for a in paid.allocations] == [(invoice.id, Decimal(200))]
    after = await billing.invoices.get(books.ned, invoice.id)
    assert after.status is InvoiceStatus.PARTIAL and after.outstanding == Decimal("272.47")

    aging = await billing.receivables.aging(books.ned)
    assert aging.customers[0].current == Decimal("272.47") and aging.totals[0].overdue == 0

    # 45 days on it is 15 days late: the 1–30 bucket; nobody else's scope sees it.
    clock.advance(timedelta(days=45))
    aging = await billing.receivables.aging(books.ned)
    assert aging.customers[0].d1_30 == Decimal("272.47") and aging.customers[0].current == 0
    assert (await billing.receivables.aging(books.mia)).totals[0].d1_30 == Decimal("272.47")
    assert (await billing.receivables.aging(books.sue)).totals == ()

    # The push: only in the owner's working hours, claimed once, marked sent once Telegram answered.
    clock.set(clock.now().replace(hour=15))  # 23:00 in Taipei
    assert await billing.receivables.reminders_due() == []
    clock.set(clock.now().replace(hour=2))  # 10:00 in Taipei
    due = await billing.receivables.reminders_due()
    assert [d.invoice.id for d in due] == [invoice.id] and due[0].telegram_user_id == 3002
    assert await billing.receivables.claim(due[0])
    assert not await billing.receivables.claim(due[0])  # a second process, or the next tick
    assert await billing.receivables.reminders_due() == []  # claimed: not offered again meanwhile
    await billing.receivables.done(due[0], sent=True)
    clock.advance(timedelta(hours=1))
    assert await billing.receivables.reminders_due() == []  # once; again a week later while unpaid
    clock.advance(timedelta(days=7))
    assert [d.invoice.id for d in await billing.receivables.reminders_due()] == [invoice.id]

    # 62 days late: 61–90.
    clock.advance(timedelta(days=40))
    assert (await billing.receivables.aging(books.ned)).customers[0].d61_90 == Decimal("272.47")

    with pytest.raises(ValidationFailed):  # more than is owed
        await billing.payments.record(admin, _payment(books, "272.48", on=_today(books, clock)))
    await billing.payments.record(admin, _payment(books, "272.47", on=_today(books, clock)))
    final = await billing.invoices.get(books.ned, invoice.id)
    assert final.status is InvoiceStatus.PAID and final.outstanding == 0
    assert (await billing.receivables.aging(books.ned)).totals == ()
    assert await billing.receivables.reminders_due() == []

    async with books.org.services.uow(write=False) as uow:
        actions = [(r.action, r.entity) for r in await uow.connection.execute(
            select(t.audit_log.c.action, t.audit_log.c.entity).where(t.audit_log.c.entity.in_(
                ["invoice", "payment"])).order_by(t.audit_log.c.id))]
    assert actions == [("issue", "invoice"), ("record", "payment"), ("record", "payment")]


async def test_payments_go_to_the_oldest_first_or_where_chosen_and_can_be_reversed(
        engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    billing = books.org.services.billing
    admin = books.org.admin
    today = _today(books, clock)
    first = await billing.invoices.issue(admin, books.tsmc, _lines(books), due_date=today + timedelta(days=10))
    second = await billing.invoices.issue(admin, books.tsmc, _lines(books), due_date=today + timedelta(days=5))
    assert second.number.endswith("-0002")

    spread = await billing.payments.preview(admin, _payment(books, "500", on=today))
    assert [(a.invoice_id, a.amount) for a in spread] == [(second.id, Decimal("472.47")),
                                                          (first.id, Decimal("27.53"))]
    chosen = await billing.payments.record(admin, _payment(books, "100", on=today, invoice_ids=(first.id,)))
    assert [a.invoice_id for a in chosen.allocations] == [first.id]
    with pytest.raises(ValidationFailed):  # a third decimal is not a TWD amount
        await billing.payments.record(admin, _payment(books, "1.001", on=today))
    with pytest.raises(ValidationFailed):  # dated tomorrow
        await billing.payments.record(admin, _payment(books, "1", on=today + timedelta(days=1)))

    with pytest.raises(Conflict):  # paid on: reverse first
        await billing.invoices.void(admin, first.id, "typo")
    with pytest.raises(ValidationFailed):
        await billing.payments.reverse(admin, chosen.id, "  ")
    reversed_ = await billing.payments.reverse(admin, chosen.id, "bounced")
    assert reversed_.reversed_at is not None and reversed_.reverse_reason == "bounced"
    assert (await billing.invoices.get(admin, first.id)).status is InvoiceStatus.ISSUED
    with pytest.raises(Conflict):
        await billing.payments.reverse(admin, chosen.id, "again")

    with pytest.raises(ValidationFailed):
        await billing.invoices.void(admin, first.id, "")
    void = await billing.invoices.void(admin, first.id, "issued twice")
    assert void.status is InvoiceStatus.VOID and void.void_reason == "issued twice" and void.outstanding == 0
    with pytest.raises(NotFound):  # a void invoice takes no payment
        await billing.payments.record(admin, _payment(books, "1", on=today, invoice_ids=(first.id,)))


async def test_scope_and_permissions(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    billing = books.org.services.billing
    invoice = await billing.invoices.issue(books.org.admin, books.tsmc, _lines(books))
    for action in (billing.invoices.get(books.sue, invoice.id), billing.invoices.card(books.sue, invoice.id)):
        with pytest.raises(NotFound):
            await action
    with pytest.raises((NotFound, PermissionDenied)):
        await billing.payments.record(books.sue, _payment(books, "1", on=_today(books, clock)))
    with pytest.raises(PermissionDenied):  # a rep neither issues nor voids
        await billing.invoices.void(books.ned, invoice.id, "no")
    assert (await billing.invoices.get(books.mia, invoice.id)).id == invoice.id
    with pytest.raises(NotFound):
        await billing.invoices.get(books.ned, invoice.id + 1000)


async def test_payment_terms_set_the_due_date(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    invoices = books.org.services.billing.invoices
    admin = books.org.admin
    assert await invoices.terms(admin, books.tsmc) == 30
    with pytest.raises(ValidationFailed):
        await invoices.set_terms(admin, books.tsmc, "forty")
    with pytest.raises(PermissionDenied):
        await invoices.set_terms(books.ned, books.tsmc, 10)
    assert await invoices.set_terms(admin, books.tsmc, 45) == 45
    invoice = await invoices.issue(admin, books.tsmc, _lines(books))
    assert invoice.due_date == invoice.issue_date + timedelta(days=45)
    with pytest.raises(ValidationFailed):
        await invoices.issue(admin, books.tsmc, _lines(books), due_date=invoice.issue_date - timedelta(days=1))


async def test_the_pdf_reads_back_in_chinese_and_english(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    invoices = books.org.services.billing.invoices
    invoice = await invoices.issue(books.org.admin, books.tsmc, _lines(books))
    for labels, words in ((LABELS_EN, ("Invoice", "Due date", "Balance due", "Total")),
                          (LABELS_ZH, ("發票", "到期日", "應付餘額", "總計"))):
        name, data = await invoices.pdf(books.ned, invoice.id, labels)
        assert name == f"{invoice.number}.pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        assert invoice.number in text and "台積電" in text and "A-100" in text and "472.47" in text
        for word in words:
            assert word in text


async def test_card_and_digest_sections(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    services = books.org.services
    admin = books.org.admin
    today = _today(books, clock)
    invoice = await services.billing.invoices.issue(admin, books.tsmc, _lines(books), due_date=today)
    await services.billing.payments.record(admin, _payment(books, "72.47", on=today))
    card = await services.customers.customers.card(books.ned, books.tsmc, sections={"owed": 5})
    owed = card.sections["owed"]
    assert [(o.currency, o.outstanding, o.overdue, o.invoices) for o in owed] == [("TWD", Decimal(400), 0, 1)]

    clock.advance(timedelta(days=3))  # overdue now
    now = clock.now()
    period = DigestPeriod(now - timedelta(days=7), now)
    previous = DigestPeriod(now - timedelta(days=14), now - timedelta(days=7))
    sections = {s.name: s for s in services.organisation.digest_sections}
    async with services.uow(write=False) as uow:
        received = await sections["billing.payments"].compute(uow, books.mia, period, previous)
        overdue = await sections["billing.overdue"].compute(uow, books.mia, period, previous)
        nothing = await sections["billing.payments"].compute(uow, books.sue, period, previous)
    assert received is not None and overdue is not None and nothing is not None
    assert [(f.value, f.previous, f.params["currency"]) for f in received.figures] == [(Decimal("72.47"), 0, "TWD")]
    assert [(f.value, f.previous) for f in overdue.figures] == [(Decimal(400), 0)]
    assert nothing.figures == ()
    assert invoice.id > 0


async def test_two_payments_at_once_never_pay_more_than_is_owed(engine: AsyncEngine, clock: ManualClock) -> None:
    books = await _books(engine, clock)
    billing = books.org.services.billing
    admin = books.org.admin
    today = _today(books, clock)
    invoice = await billing.invoices.issue(admin, books.tsmc, _lines(books))
    results = await asyncio.gather(*(billing.payments.record(admin, _payment(books, "472.47", on=today))
                                     for _ in range(2)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Payment", "ValidationFailed"]
    after = await billing.invoices.get(admin, invoice.id)
    assert after.paid == after.total and after.status is InvoiceStatus.PAID
    paid = next(r for r in results if not isinstance(r, BaseException))
    reversals = await asyncio.gather(*(billing.payments.reverse(admin, paid.id, "bounced") for _ in range(2)),
                                     return_exceptions=True)
    assert sorted(type(r).__name__ for r in reversals) == ["Conflict", "Payment"]
    assert (await billing.invoices.get(admin, invoice.id)).paid == 0
