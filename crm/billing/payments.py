"""Payments received: against one or several of a customer's open invoices in one currency, the oldest first
unless chosen, never more than they still owe; reversed with a reason (audited), never deleted
(docs/billing.md).

``payments.record`` to record and reverse, on customers one may see and invoices within one's ``sales`` scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from crm.billing.allocation import OpenInvoice, allocate
from crm.billing.invoices import reason_text, today_of, visible_invoice
from crm.billing.model import (
    REFERENCE_LIMIT,
    Allocation,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentDraft,
    PaymentMethod,
)
from crm.billing.ports import BillingUnitOfWork
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.pricing import minor_unit

MAX_AGE_DAYS = 366  # a payment dated further back than a year is a typing mistake


def clean_amount(amount: Decimal, currency: str) -> Decimal:
    """Positive, finite and in the currency's minor unit (no third decimal on TWD, none at all on JPY)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationFailed("billing.error_amount")
    if amount != amount.quantize(minor_unit(currency)):
        raise ValidationFailed("billing.error_amount")
    return amount


def clean_draft(draft: PaymentDraft, today: date) -> PaymentDraft:
    if not isinstance(draft.method, PaymentMethod):
        raise ValidationFailed("billing.error_method")
    if draft.received_on > today or draft.received_on < today - timedelta(days=MAX_AGE_DAYS):
        raise ValidationFailed("billing.error_received_on")
    reference = " ".join((draft.reference or "").split()) or None
    if reference is not None and len(reference) > REFERENCE_LIMIT:
        raise ValidationFailed("error.field_too_long", field="reference", limit=REFERENCE_LIMIT)
    return replace(draft, amount=clean_amount(draft.amount, draft.currency), reference=reference,
                   invoice_ids=tuple(dict.fromkeys(draft.invoice_ids)))


class PaymentService:
    def __init__(self, uow: UnitOfWorkFactory[BillingUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def _targets(self, uow: BillingUnitOfWork, actor: Actor, draft: PaymentDraft, *,
                       lock: bool = False) -> Sequence[Invoice]:
        await visible_customer(uow, actor, draft.customer_id)
        # Locked when recording: two payments at once on PostgreSQL must not both read the same balance.
        open_ = await uow.billing.invoices.open_of(actor.scope_filter("sales"), draft.customer_id, draft.currency,
                                                   lock=lock)
        if not draft.invoice_ids:
            if not open_:
                raise ValidationFailed("billing.error_nothing_open")
            return open_
        chosen = {invoice.id: invoice for invoice in open_}
        if any(invoice_id not in chosen for invoice_id in draft.invoice_ids):
            raise NotFound()  # not this customer's, not open, not in this currency, or not in scope
        return [chosen[invoice_id] for invoice_id in draft.invoice_ids]

    @staticmethod
    def _spread(draft: PaymentDraft, targets: Sequence[Invoice]) -> tuple[Allocation, ...]:
        numbers = {invoice.id: invoice.number for invoice in targets}
        shares = allocate(draft.amount, [OpenInvoice(i.id, i.due_date, i.outstanding) for i in targets])
        return tuple(Allocation(invoice_id, amount, numbers[invoice_id]) for invoice_id, amount in shares)

    async def open_invoices(self, actor: Actor, customer_id: int) -> Sequence[Invoice]:
        """The customer's open invoices the actor may record payments on, the oldest due first."""
        actor.require("payments.record")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await uow.billing.invoices.open_of(actor.scope_filter("sales"), customer_id, None)

    async def preview(self, actor: Actor, draft: PaymentDraft) -> tuple[Allocation, ...]:
        """Where the payment would go, saving nothing (the chat echoes it for one tap)."""
        actor.require("payments.record")
        draft = clean_draft(draft, today_of(actor, self._clock))
        async with self._uow(write=False) as uow:
            return self._spread(draft, await self._targets(uow, actor, draft))

    async def record(self, actor: Actor, draft: PaymentDraft) -> Payment:
        actor.require("payments.record")
        draft = clean_draft(draft, today_of(actor, self._clock))
        now = self._clock.now()
        async with self._uow() as uow:
            targets = {invoice.id: invoice for invoice in await self._targets(uow, actor, draft, lock=True)}
            allocations = self._spread(draft, list(targets.values()))
            payment = await uow.billing.payments.add(Payment(
                id=0, customer_id=draft.customer_id, currency=draft.currency, amount=draft.amount,
                method=draft.method, received_on=draft.received_on, reference=draft.reference,
                recorded_by=actor.staff_id, created_at=now, allocations=allocations))
            for allocation in allocations:
                await uow.billing.invoices.add_paid(allocation.invoice_id, allocation.amount, draft.currency, now)
            await audit.record(uow, actor.staff_id, "record", "payment", payment.id, {}, {
                "customer_id": draft.customer_id, "amount": str(draft.amount), "currency": draft.currency,
                "method": draft.method.value, "received_on": draft.received_on.isoformat(),
                "reference": draft.reference,
                "allocations": [{"invoice_id": a.invoice_id, "amount": str(a.amount)} for a in allocations]})
            await uow.commit()
        return payment

    async def get(self, actor: Actor, payment_id: int) -> Payment:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, payment_id)

    async def of_customer(self, actor: Actor, customer_id: int, *, limit: int = 10) -> Sequence[Payment]:
        """The customer's payments (reversed ones too) on invoices the reader may see (their ``sales`` scope),
        newest first; a customer the reader may not see is "not found"."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await uow.billing.payments.of_customer(actor.scope_filter("sales"), customer_id, limit=limit)

    async def _visible(self, uow: BillingUnitOfWork, actor: Actor, payment_id: int) -> Payment:
        payment = await uow.billing.payments.get(payment_id)
        if payment is None:
            raise NotFound()
        await visible_customer(uow, actor, payment.customer_id, deleted=False)
        for allocation in payment.allocations:
            await visible_invoice(uow, actor, allocation.invoice_id)
        return payment

    async def reverse(self, actor: Actor, payment_id: int, reason: str | None) -> Payment:
        """The payment stays, marked reversed; what it paid is open again on its invoices."""
        actor.require("payments.record")
        text = reason_text(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            payment = await self._visible(uow, actor, payment_id)
            if payment.reversed_at is not None or not await uow.billing.payments.reverse(payment_id, actor.staff_id,
                                                                                         text, now):
                raise Conflict("billing.error_reversed")
            for allocation in payment.allocations:
                invoice = await uow.billing.invoices.get(allocation.invoice_id)
                if invoice is None or invoice.status is InvoiceStatus.VOID:
                    raise Conflict("billing.error_void")
                await uow.billing.invoices.add_paid(invoice.id, -allocation.amount, payment.currency, now)
            await audit.record(uow, actor.staff_id, "reverse", "payment", payment_id, {"reversed_at": None},
                               {"reversed_at": now.isoformat(), "reason": text})
            after = await uow.billing.payments.get(payment_id)
            await uow.commit()
        if after is None:
            raise NotFound()
        return after


__all__ = ["PaymentService", "clean_amount", "clean_draft"]
