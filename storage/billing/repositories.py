"""Repositories for invoices, payments and payment terms. Amounts cross this boundary as Decimals and are kept as
integers in the currency's minor unit (storage/billing/tables.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.billing.model import (
    BUCKETS,
    OPEN,
    Aging,
    Allocation,
    Invoice,
    InvoiceStatus,
    Owed,
    Payment,
    PaymentMethod,
)
from crm.organisation.permissions import ScopeFilter
from crm.sales.pricing import minor_unit
from crm.sales.quote_model import QuoteLine
from storage.billing import tables as t
from storage.customers import tables as ct
from storage.organisation import tables as ot
from storage.organisation.repositories import scope_clause
from storage.prepared import Probe

_CUSTOMER_HAS_INVOICES = Probe(t.invoices.c.customer_id)  # the customer card's "owed" (storage/prepared.py)

_LINE_FIELDS = ("product_id", "sku", "name", "quantity", "unit_price", "discount", "tax_rate", "position",
                "name_zh_hant", "name_zh_hans")
_OPEN = [status.value for status in OPEN]


def to_minor(amount: Decimal, currency: str) -> int:
    minor = amount / minor_unit(currency)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of {currency} minor units")
    return int(minor)


def from_minor(value: Any, currency: str) -> Decimal:
    return Decimal(int(value or 0)) * minor_unit(currency)


def _invoice(row: Row[Any], lines: Sequence[QuoteLine] = ()) -> Invoice:
    return Invoice(id=row.id, number=row.number, customer_id=row.customer_id, owner_id=row.owner_id,
                   currency=row.currency, status=InvoiceStatus(row.status), issue_date=row.issue_date,
                   due_date=row.due_date, order_discount=row.order_discount,
                   total=from_minor(row.total_minor, row.currency), paid=from_minor(row.paid_minor, row.currency),
                   created_at=row.created_at, updated_at=row.updated_at, source_kind=row.source_kind,
                   source_id=row.source_id, void_reason=row.void_reason, lines=tuple(lines))


def _buckets(today: date, due: ColumnElement[Any] = t.invoices.c.due_date) -> list[tuple[str, ColumnElement[bool]]]:
    """Days past due in SQL, as comparisons of the due date with fixed dates (the same on both databases)."""

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    return [("current", due >= today),
            ("d1_30", and_(due < today, due >= ago(30))),
            ("d31_60", and_(due < ago(30), due >= ago(60))),
            ("d61_90", and_(due < ago(60), due >= ago(90))),
            ("d90_plus", due < ago(90))]


def _aging_columns(today: date) -> list[Any]:
    i = t.invoices.c
    owed = i.total_minor - i.paid_minor
    return [func.sum(case((clause, owed), else_=0)).label(name) for name, clause in _buckets(today)]


def _aging(row: Row[Any], customer_id: int, name: str) -> Aging:
    currency = row.currency
    return Aging(customer_id, name, currency, *(from_minor(getattr(row, b), currency)
                                                for b in ("current", "d1_30", "d31_60", "d61_90", "d90_plus")))


# pg_advisory_xact_lock's key for "issuing an invoice from a source" (any constant of our own).
_ISSUING_LOCK = 0x63726D_0001


class SqlInvoiceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def lock_issuing(self) -> None:
        if self._c.dialect.name == "postgresql":
            await self._c.execute(select(func.pg_advisory_xact_lock(_ISSUING_LOCK)))

    def _open(self, scope: ScopeFilter) -> list[ColumnElement[bool]]:
        i = t.invoices.c
        return [i.status.in_(_OPEN), scope_clause(scope, i.owner_id)]

    async def next_number(self, year: int) -> int:
        """As quotations' (storage/sales/quotes.py): the counter row's UPDATE serialises concurrent issuers."""
        q = t.invoice_counters
        first = (pg_insert(q) if self._c.dialect.name == "postgresql" else sqlite_insert(q))
        await self._c.execute(first.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
        bumped = await self._c.execute(update(q).where(q.c.year == year).values(last=q.c.last + 1)
                                       .returning(q.c.last))
        return int(bumped.scalar_one())

    async def add(self, invoice: Invoice) -> Invoice:
        i = t.invoices
        new_id = int((await self._c.execute(insert(i).values(
            number=invoice.number, customer_id=invoice.customer_id, owner_id=invoice.owner_id,
            currency=invoice.currency, status=invoice.status.value, issue_date=invoice.issue_date,
            due_date=invoice.due_date, order_discount=invoice.order_discount,
            total_minor=to_minor(invoice.total, invoice.currency), paid_minor=to_minor(invoice.paid, invoice.currency),
            source_kind=invoice.source_kind, source_id=invoice.source_id, created_at=invoice.created_at,
            updated_at=invoice.updated_at,
        ).returning(i.c.id))).scalar_one())
        if invoice.lines:
            await self._c.execute(insert(t.invoice_lines), [
                {**{name: getattr(line, name) for name in _LINE_FIELDS}, "invoice_id": new_id, "position": n}
                for n, line in enumerate(invoice.lines)])
        result = await self.get(new_id)
        assert result is not None
        return result

    async def get(self, invoice_id: int) -> Invoice | None:
        i, il = t.invoices, t.invoice_lines
        row = (await self._c.execute(select(i).where(i.c.id == invoice_id))).first()
        if row is None:
            return None
        lines = await self._c.execute(select(il).where(il.c.invoice_id == invoice_id).order_by(il.c.position))
        return _invoice(row, [QuoteLine(**{name: getattr(line, name) for name in _LINE_FIELDS}) for line in lines])

    async def add_paid(self, invoice_id: int, amount: Decimal, currency: str, at: datetime) -> None:
        i = t.invoices.c
        paid = i.paid_minor + to_minor(amount, currency)
        status = case((paid <= 0, InvoiceStatus.ISSUED.value), (paid >= i.total_minor, InvoiceStatus.PAID.value),
                      else_=InvoiceStatus.PARTIAL.value)
        await self._c.execute(update(t.invoices).where(i.id == invoice_id, i.status != InvoiceStatus.VOID.value)
                              .values(paid_minor=paid, status=status, updated_at=at))

    async def void(self, invoice_id: int, reason: str, at: datetime) -> None:
        await self._c.execute(update(t.invoices).where(t.invoices.c.id == invoice_id).values(
            status=InvoiceStatus.VOID.value, void_reason=reason, voided_at=at, updated_at=at))

    async def open_of(self, scope: ScopeFilter, customer_id: int, currency: str | None, *,
                      lock: bool = False) -> Sequence[Invoice]:
        i = t.invoices
        where = [*self._open(scope), i.c.customer_id == customer_id]
        if currency is not None:
            where.append(i.c.currency == currency)
        query = select(i).where(*where).order_by(i.c.due_date, i.c.id)
        if lock and self._c.dialect.name == "postgresql":
            query = query.with_for_update(of=i)
        rows = await self._c.execute(query)
        return [_invoice(row) for row in rows]

    async def listed(self, scope: ScopeFilter, *, customer_id: int | None, open_only: bool, offset: int,
                     limit: int) -> Sequence[tuple[Invoice, str]]:
        i, c = t.invoices, ct.customers
        where = [scope_clause(scope, i.c.owner_id)]
        if open_only:
            where.append(i.c.status.in_(_OPEN))
        if customer_id is not None:
            where.append(i.c.customer_id == customer_id)
        rows = await self._c.execute(select(i, c.c.name.label("customer_name")).join(c, c.c.id == i.c.customer_id)
                                     .where(*where).order_by(i.c.id.desc()).offset(offset).limit(limit))
        return [(_invoice(row), row.customer_name) for row in rows]

    async def owed(self, scope: ScopeFilter, customer_id: int, today: date) -> Sequence[Owed]:
        if not await _CUSTOMER_HAS_INVOICES.any(self._c, customer_id):
            return []
        i = t.invoices.c
        owed = i.total_minor - i.paid_minor
        rows = await self._c.execute(
            select(i.currency, func.sum(owed).label("owed"),
                   func.sum(case((i.due_date < today, owed), else_=0)).label("overdue"),
                   func.count().label("n"))
            .where(*self._open(scope), i.customer_id == customer_id).group_by(i.currency).order_by(i.currency))
        return [Owed(r.currency, from_minor(r.owed, r.currency), from_minor(r.overdue, r.currency), int(r.n))
                for r in rows]

    async def for_source(self, kind: str, source_id: int) -> Sequence[Invoice]:
        i = t.invoices
        rows = await self._c.execute(select(i).where(i.c.source_kind == kind, i.c.source_id == source_id,
                                                     i.c.status != InvoiceStatus.VOID.value).order_by(i.c.id))
        return [_invoice(row) for row in rows]

    async def aging(self, scope: ScopeFilter, today: date, *, customer_id: int | None,
                    limit: int) -> tuple[Sequence[Aging], int]:
        i, c = t.invoices.c, ct.customers
        where = self._open(scope)
        if customer_id is not None:
            where.append(i.customer_id == customer_id)
        owed = func.sum(i.total_minor - i.paid_minor)
        # The page of the largest balances and how many there are (a window over the groups) in one pass without
        # the buckets: comparing every open invoice's due date five times costs more than the sums. The buckets
        # are then summed for the page's customers only.
        page = (await self._c.execute(
            select(i.customer_id, i.currency, owed.label("owed"), func.count().over().label("groups"))
            .where(*where).group_by(i.customer_id, i.currency)
            .order_by(owed.desc(), i.customer_id, i.currency).limit(limit))).all()
        if not page:
            return [], 0
        ids = sorted({int(row.customer_id) for row in page})
        detail = {(int(row.customer_id), row.currency): row for row in await self._c.execute(
            select(i.customer_id, i.currency, *_aging_columns(today))
            .where(*where, i.customer_id.in_(ids)).group_by(i.customer_id, i.currency))}
        names = {int(row.id): row.name for row in await self._c.execute(
            select(c.c.id, c.c.name).where(c.c.id.in_(ids)))}
        rows = [_aging(detail[(int(row.customer_id), row.currency)], int(row.customer_id),
                       names.get(int(row.customer_id), "?")) for row in page]
        return rows, int(page[0].groups)

    async def aging_totals(self, scope: ScopeFilter, today: date) -> Sequence[Aging]:
        """Summed per currency and due date first (a few hundred groups, read in index order), then per bucket:
        the due-date comparisons run once per group instead of once per invoice."""
        i = t.invoices.c
        per_day = (select(i.currency, i.due_date, func.sum(i.total_minor - i.paid_minor).label("owed"))
                   .where(*self._open(scope)).group_by(i.currency, i.due_date).subquery())
        bucket = case(*((clause, n) for n, (_, clause) in enumerate(_buckets(today, per_day.c.due_date))))
        rows = await self._c.execute(select(per_day.c.currency, bucket.label("bucket"),
                                            func.sum(per_day.c.owed).label("owed"))
                                     .group_by(per_day.c.currency, bucket))
        sums: dict[str, list[Decimal]] = {}
        for row in rows:  # at most five rows per currency
            sums.setdefault(row.currency, [Decimal(0)] * len(BUCKETS))[int(row.bucket)] = from_minor(row.owed,
                                                                                                     row.currency)
        return [Aging(0, "", currency, *amounts) for currency, amounts in sorted(sums.items())]

    async def overdue_at(self, scope: ScopeFilter, at: datetime, day: date) -> Sequence[tuple[str, Decimal]]:
        i, a, p = t.invoices.c, t.payment_allocations.c, t.payments.c
        where = [i.status != InvoiceStatus.VOID.value, i.created_at < at, i.due_date < day,
                 scope_clause(scope, i.owner_id)]
        billed = dict((r.currency, int(r.total or 0)) for r in await self._c.execute(
            select(i.currency, func.sum(i.total_minor).label("total")).where(*where).group_by(i.currency)))
        paid = dict((r.currency, int(r.total or 0)) for r in await self._c.execute(
            select(i.currency, func.sum(a.amount_minor).label("total"))
            .select_from(t.payment_allocations.join(t.invoices, i.id == a.invoice_id)
                         .join(t.payments, p.id == a.payment_id))
            .where(*where, p.created_at < at, or_(p.reversed_at.is_(None), p.reversed_at >= at))
            .group_by(i.currency)))
        return [(currency, from_minor(total - paid.get(currency, 0), currency))
                for currency, total in sorted(billed.items()) if total - paid.get(currency, 0) > 0]

    async def reminders_due(self, before: date, repeat_before: datetime | None, lease_before: datetime, *,
                            limit: int) -> Sequence[tuple[Invoice, int | None, str | None]]:
        i, s = t.invoices, ot.staff
        never = i.c.reminded_at.is_(None)
        rows = await self._c.execute(
            select(i, s.c.telegram_user_id.label("tg"), s.c.timezone.label("zone")).join(s, s.c.id == i.c.owner_id)
            .where(i.c.status.in_(_OPEN), i.c.due_date < before, s.c.active.is_(True),
                   never if repeat_before is None else or_(never, i.c.reminded_at < repeat_before),
                   or_(i.c.reminder_claimed_at.is_(None), i.c.reminder_claimed_at < lease_before))
            .order_by(i.c.due_date, i.c.id).limit(limit))
        return [(_invoice(row), row.tg, row.zone) for row in rows]

    async def claim_reminder(self, invoice_id: int, at: datetime, lease_before: datetime) -> bool:
        i = t.invoices.c
        result = await self._c.execute(update(t.invoices).where(
            i.id == invoice_id, or_(i.reminder_claimed_at.is_(None), i.reminder_claimed_at < lease_before),
        ).values(reminder_claimed_at=at))
        return bool(result.rowcount)

    async def reminder_done(self, invoice_id: int, sent_at: datetime | None) -> None:
        values: dict[str, Any] = {"reminder_claimed_at": None}
        if sent_at is not None:
            values["reminded_at"] = sent_at
        await self._c.execute(update(t.invoices).where(t.invoices.c.id == invoice_id).values(**values))


class SqlPaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, payment: Payment) -> Payment:
        p = t.payments
        new_id = int((await self._c.execute(insert(p).values(
            customer_id=payment.customer_id, currency=payment.currency,
            amount_minor=to_minor(payment.amount, payment.currency), method=payment.method.value,
            received_on=payment.received_on, reference=payment.reference, recorded_by=payment.recorded_by,
            created_at=payment.created_at,
        ).returning(p.c.id))).scalar_one())
        if payment.allocations:
            await self._c.execute(insert(t.payment_allocations), [
                {"payment_id": new_id, "invoice_id": a.invoice_id,
                 "amount_minor": to_minor(a.amount, payment.currency)} for a in payment.allocations])
        result = await self.get(new_id)
        assert result is not None
        return result

    async def _with_allocations(self, rows: Sequence[Row[Any]]) -> list[Payment]:
        if not rows:
            return []
        a, i = t.payment_allocations.c, t.invoices.c
        shares = await self._c.execute(
            select(a.payment_id, a.invoice_id, a.amount_minor, i.number)
            .join(t.invoices, i.id == a.invoice_id).where(a.payment_id.in_([r.id for r in rows])).order_by(a.id))
        by_payment: dict[int, list[Any]] = {}
        for share in shares:
            by_payment.setdefault(int(share.payment_id), []).append(share)
        return [Payment(id=r.id, customer_id=r.customer_id, currency=r.currency,
                        amount=from_minor(r.amount_minor, r.currency), method=PaymentMethod(r.method),
                        received_on=r.received_on, reference=r.reference, recorded_by=r.recorded_by,
                        created_at=r.created_at, reversed_at=r.reversed_at, reversed_by=r.reversed_by,
                        reverse_reason=r.reverse_reason,
                        allocations=tuple(Allocation(int(s.invoice_id), from_minor(s.amount_minor, r.currency),
                                                     s.number) for s in by_payment.get(r.id, ())))
                for r in rows]

    async def get(self, payment_id: int) -> Payment | None:
        rows = (await self._c.execute(select(t.payments).where(t.payments.c.id == payment_id))).all()
        found = await self._with_allocations(rows)
        return found[0] if found else None

    async def reverse(self, payment_id: int, by: int, reason: str, at: datetime) -> bool:
        p = t.payments.c
        result = await self._c.execute(update(t.payments).where(p.id == payment_id, p.reversed_at.is_(None)).values(
            reversed_at=at, reversed_by=by, reverse_reason=reason))
        return bool(result.rowcount)

    async def of_invoice(self, invoice_id: int) -> Sequence[Payment]:
        p, a = t.payments, t.payment_allocations
        rows = (await self._c.execute(select(p).where(p.c.id.in_(
            select(a.c.payment_id).where(a.c.invoice_id == invoice_id))).order_by(p.c.received_on, p.c.id))).all()
        return await self._with_allocations(rows)

    async def of_customer(self, scope: ScopeFilter, customer_id: int, *, limit: int) -> Sequence[Payment]:
        p, a, i = t.payments, t.payment_allocations, t.invoices
        # As PaymentService.get: a payment is seen when it paid on invoices and each of them is in scope.
        paid_on = select(a.c.id).join(i, i.c.id == a.c.invoice_id).where(a.c.payment_id == p.c.id)
        rows = (await self._c.execute(
            select(p).where(p.c.customer_id == customer_id, paid_on.exists(),
                            ~paid_on.where(~scope_clause(scope, i.c.owner_id)).exists())
            .order_by(p.c.received_on.desc(), p.c.id.desc()).limit(limit))).all()
        return await self._with_allocations(rows)

    async def received(self, scope: ScopeFilter, since: date, until: date) -> Sequence[tuple[str, Decimal]]:
        a, i, p = t.payment_allocations.c, t.invoices.c, t.payments.c
        rows = await self._c.execute(
            select(i.currency, func.sum(a.amount_minor).label("total"))
            .select_from(t.payment_allocations.join(t.invoices, i.id == a.invoice_id)
                         .join(t.payments, p.id == a.payment_id))
            .where(p.received_on >= since, p.received_on < until, p.reversed_at.is_(None),
                   scope_clause(scope, i.owner_id))
            .group_by(i.currency).order_by(i.currency))
        return [(r.currency, from_minor(r.total, r.currency)) for r in rows]

    async def received_per_owner(self, staff_ids: Sequence[int], since: date, until: date, currency: str
                                 ) -> dict[int, Decimal]:
        a, i, p = t.payment_allocations.c, t.invoices.c, t.payments.c
        rows = await self._c.execute(
            select(i.owner_id, func.sum(a.amount_minor).label("total"))
            .select_from(t.payment_allocations.join(t.invoices, i.id == a.invoice_id)
                         .join(t.payments, p.id == a.payment_id))
            .where(p.received_on >= since, p.received_on < until, p.reversed_at.is_(None),
                   i.owner_id.in_(sorted(set(staff_ids))), i.currency == currency)
            .group_by(i.owner_id))
        return {int(r.owner_id): from_minor(r.total, currency) for r in rows}


class SqlTermsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def get(self, customer_id: int) -> int | None:
        b = t.billing_terms
        found = (await self._c.execute(select(b.c.payment_days).where(b.c.customer_id == customer_id))).first()
        return int(found.payment_days) if found is not None else None

    async def put(self, customer_id: int, days: int, at: datetime) -> None:
        b = t.billing_terms
        await self._c.execute(delete(b).where(b.c.customer_id == customer_id))
        await self._c.execute(insert(b).values(customer_id=customer_id, payment_days=days, updated_at=at))
