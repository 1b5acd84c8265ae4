"""Invoices: issued from a source record (an order, a shipment: ``sources``) or typed in chat from catalog lines,
numbered per year, due after the customer's payment terms, issued → partially paid → paid, or void with a reason
(docs/billing.md).

Who may do what: ``invoices.issue`` to issue, void and set a customer's payment terms, on customers one may see;
reading is the pipeline's, ``sales.view`` within the ``sales`` scope of the invoice's owner (the rep who owns the
customer). Out of scope is "not found", also for a forged button press. Every change writes its audit row in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.billing.model import (
    MAX_TERMS_DAYS,
    REASON_LIMIT,
    Invoice,
    InvoiceCard,
    InvoiceDocument,
    InvoiceStatus,
    invoice_number,
)
from crm.billing.ports import BillingUnitOfWork, InvoiceDocuments
from crm.billing.sources import Billable, BillableSource
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.model import Customer
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import clean_sku
from crm.sales.quote_model import LineDraft, QuoteLine, clean_discount, clean_quantity, named_in, totals
from crm.sales.quotes import priced_lines

PAGE = 8
MAX_DUE_DAYS = 3 * 365


def auditable(invoice: Invoice) -> dict[str, Any]:
    """JSON for the audit log: amounts as text, exactly as stored."""
    return {
        "number": invoice.number, "customer_id": invoice.customer_id, "owner_id": invoice.owner_id,
        "currency": invoice.currency, "status": invoice.status.value, "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(), "total": str(invoice.total),
        "source": f"{invoice.source_kind}:{invoice.source_id}" if invoice.source_kind else None,
        "lines": [{"product_id": line.product_id, "sku": line.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "discount": str(line.discount),
                   "tax_rate": str(line.tax_rate)} for line in invoice.lines],
    }


def today_of(actor: Actor, clock: Clock) -> date:
    return clock.now().astimezone(ZoneInfo(actor.timezone)).date()


def reason_text(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("billing.error_reason")
    if len(text) > REASON_LIMIT:
        raise ValidationFailed("error.field_too_long", field="reason", limit=REASON_LIMIT)
    return text


def clean_terms(days: int | str) -> int:
    try:
        value = int(str(days).strip())
    except ValueError:
        raise ValidationFailed("billing.error_terms", limit=MAX_TERMS_DAYS) from None
    if not 0 <= value <= MAX_TERMS_DAYS:
        raise ValidationFailed("billing.error_terms", limit=MAX_TERMS_DAYS)
    return value


async def visible_invoice(uow: BillingUnitOfWork, actor: Actor, invoice_id: int) -> Invoice:
    """An invoice the actor may read (``sales.view`` within the sales scope of its owner), else ``NotFound``."""
    actor.require("sales.view")
    invoice = await uow.billing.invoices.get(invoice_id)
    if invoice is None:
        raise NotFound()
    owner = await uow.organisation.staff.get(invoice.owner_id)
    if not actor.scope_filter("sales").allows(invoice.owner_id, owner.department_id if owner else None):
        raise NotFound()
    return invoice


class InvoiceService:
    def __init__(self, uow: UnitOfWorkFactory[BillingUnitOfWork], clock: Clock, documents: InvoiceDocuments, *,
                 prefix: str = "INV", terms_days: int = 30, company_name: str = "",
                 company_address: Sequence[str] = ()) -> None:
        self._uow = uow
        self._clock = clock
        self._documents = documents
        self.prefix = prefix
        self.terms_days = terms_days  # a customer without terms of their own pays this many days after issue
        self._company = (company_name, tuple(company_address))
        self.sources: ExtensionPoint[BillableSource] = ExtensionPoint()

    # ---- payment terms ---------------------------------------------------------------------------------------

    async def _terms(self, uow: BillingUnitOfWork, customer_id: int) -> int:
        days = await uow.billing.terms.get(customer_id)
        return self.terms_days if days is None else days

    async def terms(self, actor: Actor, customer_id: int) -> int:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await self._terms(uow, customer_id)

    async def set_terms(self, actor: Actor, customer_id: int, days: int | str) -> int:
        actor.require("invoices.issue")
        value = clean_terms(days)
        async with self._uow() as uow:
            await visible_customer(uow, actor, customer_id)
            before = await uow.billing.terms.get(customer_id)
            await uow.billing.terms.put(customer_id, value, self._clock.now())
            await audit.record(uow, actor.staff_id, "update", "payment_terms", customer_id,
                               {"days": before}, {"days": value})
            await uow.commit()
        return value

    # ---- issuing ---------------------------------------------------------------------------------------------

    def _due(self, issued: date, terms: int, due_date: date | None) -> date:
        if due_date is None:
            return issued + timedelta(days=terms)
        if due_date < issued or due_date > issued + timedelta(days=MAX_DUE_DAYS):
            raise ValidationFailed("billing.error_due_date")
        return due_date

    def _draft(self, actor: Actor, customer: Customer, lines: tuple[QuoteLine, ...], currency: str,
               order_discount: Decimal, due_date: date, *, kind: str | None = None,
               source_id: int | None = None, owner_id: int | None = None) -> Invoice:
        now = self._clock.now()
        discount = clean_discount(order_discount)
        total = totals(lines, discount, currency).total
        return Invoice(id=0, number="", customer_id=customer.id, owner_id=owner_id or customer.owner_id,
                       currency=currency, status=InvoiceStatus.ISSUED, issue_date=today_of(actor, self._clock),
                       due_date=due_date, order_discount=discount, total=total, paid=Decimal(0), created_at=now,
                       updated_at=now, source_kind=kind, source_id=source_id, lines=lines)

    async def preview(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                      due_date: date | None = None, order_discount: Decimal = Decimal(0)) -> Invoice:
        """What ``issue`` would save, priced now, saving nothing (the chat echoes it for one tap)."""
        actor.require("invoices.issue")
        async with self._uow(write=False) as uow:
            customer = await visible_customer(uow, actor, customer_id)
            lines, currency = await priced_lines(uow, customer, drafts)
            due = self._due(today_of(actor, self._clock), await self._terms(uow, customer_id), due_date)
        return self._draft(actor, customer, lines, currency, order_discount, due)

    async def drafts_for(self, actor: Actor, items: Sequence[tuple[str, Decimal]]) -> list[LineDraft]:
        """Typed SKU × quantity items as lines of catalog products (an unknown SKU is named back)."""
        actor.require("invoices.issue")
        drafts: list[LineDraft] = []
        async with self._uow(write=False) as uow:
            for sku, quantity in items:
                try:
                    product = await uow.sales.products.by_sku(clean_sku(sku))
                except ValidationFailed:
                    product = None
                if product is None:
                    raise ValidationFailed("billing.error_sku", sku=sku[:40])
                drafts.append(LineDraft(product_id=product.id, quantity=clean_quantity(quantity)))
        return drafts

    async def _save(self, uow: BillingUnitOfWork, actor: Actor, draft: Invoice) -> Invoice:
        if draft.total <= 0:
            raise ValidationFailed("billing.error_nothing_to_invoice")
        sequence = await uow.billing.invoices.next_number(draft.issue_date.year)
        invoice = await uow.billing.invoices.add(Invoice(**{
            **{name: getattr(draft, name) for name in draft.__dataclass_fields__},
            "number": invoice_number(self.prefix, draft.issue_date.year, sequence)}))
        await audit.record(uow, actor.staff_id, "issue", "invoice", invoice.id, {}, auditable(invoice))
        return invoice

    async def issue(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                    due_date: date | None = None, order_discount: Decimal = Decimal(0)) -> Invoice:
        """An invoice typed in chat from catalog lines, priced as a quotation is (services billed without an
        order)."""
        actor.require("invoices.issue")
        async with self._uow() as uow:
            customer = await visible_customer(uow, actor, customer_id)
            lines, currency = await priced_lines(uow, customer, drafts)
            due = self._due(today_of(actor, self._clock), await self._terms(uow, customer_id), due_date)
            invoice = await self._save(uow, actor,
                                       self._draft(actor, customer, lines, currency, order_discount, due))
            await uow.commit()
        return invoice

    def _source(self, kind: str) -> BillableSource:
        for source in self.sources:
            if source.kind == kind:
                return source
        raise NotFound()

    async def billable(self, actor: Actor, kind: str, source_id: int) -> Billable:
        """What the source says may be invoiced now (for the echo before issuing)."""
        actor.require("invoices.issue")
        async with self._uow(write=False) as uow:
            return await self._source(kind).billable(uow, actor, source_id)

    async def find_source(self, actor: Actor, reference: str) -> tuple[str, int] | None:
        """(kind, id) of the record a typed reference names (``O2026-0001``), or None."""
        actor.require("invoices.issue")
        async with self._uow(write=False) as uow:
            for source in self.sources:
                found = await source.find(uow, reference)
                if found is not None:
                    return source.kind, found
        return None

    async def preview_from(self, actor: Actor, kind: str, source_id: int, *,
                           due_date: date | None = None) -> Invoice:
        """What ``issue_from`` would save now, saving nothing (the chat echoes it for one tap)."""
        actor.require("invoices.issue")
        async with self._uow(write=False) as uow:
            billable = await self._source(kind).billable(uow, actor, source_id)
            if not billable.lines:
                raise ValidationFailed("billing.error_nothing_to_invoice")
            customer = await visible_customer(uow, actor, billable.customer_id)
            due = self._due(today_of(actor, self._clock), await self._terms(uow, customer.id), due_date)
        return self._draft(actor, customer, billable.lines, billable.currency, billable.order_discount, due,
                           kind=kind, source_id=source_id, owner_id=billable.owner_id)

    async def issue_from(self, actor: Actor, kind: str, source_id: int, *,
                         due_date: date | None = None) -> Invoice:
        """An invoice for what a source record (an order, a shipment) has still to invoice, in one transaction
        with the source's reading of it."""
        actor.require("invoices.issue")
        source = self._source(kind)
        async with self._uow() as uow:
            # Two issues at once for the same goods (an order and one of its shipments, or two taps) must not
            # both see them unbilled: one waits for the other's commit.
            await uow.billing.invoices.lock_issuing()
            billable = await source.billable(uow, actor, source_id)
            if not billable.lines:
                raise ValidationFailed("billing.error_nothing_to_invoice")
            customer = await visible_customer(uow, actor, billable.customer_id)
            due = self._due(today_of(actor, self._clock), await self._terms(uow, customer.id), due_date)
            invoice = await self._save(uow, actor, self._draft(
                actor, customer, billable.lines, billable.currency, billable.order_discount, due, kind=kind,
                source_id=source_id, owner_id=billable.owner_id))
            await uow.commit()
        return invoice

    # ---- reading ---------------------------------------------------------------------------------------------

    async def get(self, actor: Actor, invoice_id: int) -> Invoice:
        async with self._uow(write=False) as uow:
            return await visible_invoice(uow, actor, invoice_id)

    async def card(self, actor: Actor, invoice_id: int) -> InvoiceCard:
        async with self._uow(write=False) as uow:
            invoice = await visible_invoice(uow, actor, invoice_id)
            customer = await uow.customers.customers.get(invoice.customer_id, include_deleted=True)
            owner = await uow.organisation.staff.get(invoice.owner_id)
            payments = await uow.billing.payments.of_invoice(invoice_id)
        return InvoiceCard(invoice, customer.name if customer else "?", owner.name if owner else "?",
                           tuple(payments))

    async def listed(self, actor: Actor, *, customer_id: int | None = None, open_only: bool = False,
                     page: int = 0) -> tuple[Sequence[tuple[Invoice, str]], bool]:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            if customer_id is not None:
                await visible_customer(uow, actor, customer_id)
            rows = await uow.billing.invoices.listed(actor.scope_filter("sales"), customer_id=customer_id,
                                                     open_only=open_only, offset=max(page, 0) * PAGE,
                                                     limit=PAGE + 1)
        return rows[:PAGE], len(rows) > PAGE

    async def pdf(self, actor: Actor, invoice_id: int, labels: Mapping[str, str]) -> tuple[str, bytes]:
        """The invoice as a PDF (file name, bytes), with the company header; ``labels`` in the reader's
        language."""
        card = await self.card(actor, invoice_id)
        invoice = replace(card.invoice, lines=named_in(card.invoice.lines, actor.locale))  # the reader's language
        document = InvoiceDocument(self._company[0], self._company[1], invoice, card.customer_name, labels)
        return f"{card.invoice.number}.pdf", self._documents.invoice_pdf(document)

    # ---- voiding ---------------------------------------------------------------------------------------------

    async def void(self, actor: Actor, invoice_id: int, reason: str | None) -> Invoice:
        """Only an invoice nothing was paid on (reverse its payments first); the reason is kept and audited."""
        actor.require("invoices.issue")
        text = reason_text(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            before = await visible_invoice(uow, actor, invoice_id)
            if before.status is InvoiceStatus.VOID:
                raise Conflict("billing.error_void")
            if before.paid > 0:
                raise Conflict("billing.error_void_paid")
            await uow.billing.invoices.void(invoice_id, text, now)
            await audit.record(uow, actor.staff_id, "void", "invoice", invoice_id,
                               {"status": before.status.value}, {"status": "void", "reason": text})
            after = await uow.billing.invoices.get(invoice_id)
            await uow.commit()
        if after is None:
            raise NotFound()
        return after
