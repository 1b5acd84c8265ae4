"""What the billing module needs from storage (``storage/billing`` implements it) and from a PDF renderer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from crm.billing.model import Aging, Invoice, InvoiceDocument, Owed, Payment
from crm.organisation.permissions import ScopeFilter
from crm.sales.ports import SalesUnitOfWork


class InvoiceRepository(Protocol):
    async def lock_issuing(self) -> None:
        """Make the caller's transaction the only one issuing invoices from sources until it ends, so that what
        a source still has to invoice is read after any other issue committed (PostgreSQL reads committed data
        without waiting; SQLite's write transactions already take turns)."""
        ...

    async def next_number(self, year: int) -> int:
        """The year's next sequence number, taken in the caller's transaction (never handed out twice)."""
        ...
    async def add(self, invoice: Invoice) -> Invoice: ...
    async def get(self, invoice_id: int) -> Invoice | None:
        """An invoice with its lines."""
        ...
    async def add_paid(self, invoice_id: int, amount: Decimal, currency: str, at: datetime) -> None:
        """Add to (or, negative, take from) what was paid, and set the status from it: one UPDATE, so concurrent
        payments and reversals never lose each other's amounts."""
        ...
    async def void(self, invoice_id: int, reason: str, at: datetime) -> None: ...
    async def open_of(self, scope: ScopeFilter, customer_id: int, currency: str | None, *,
                      lock: bool = False) -> Sequence[Invoice]:
        """The customer's open invoices the scope allows (without lines), the oldest due first; ``lock``: their
        rows held until the transaction ends (PostgreSQL; SQLite's write transaction holds the database)."""
        ...
    async def listed(self, scope: ScopeFilter, *, customer_id: int | None, open_only: bool, offset: int,
                     limit: int) -> Sequence[tuple[Invoice, str]]:
        """Invoices the scope allows (without lines) with their customer's name, the newest first."""
        ...
    async def owed(self, scope: ScopeFilter, customer_id: int, today: date) -> Sequence[Owed]:
        """Per currency: what the customer's open invoices in scope owe, how much is overdue, how many."""
        ...
    async def for_source(self, kind: str, source_id: int) -> Sequence[Invoice]:
        """Invoices made from one source record that are not void (without lines)."""
        ...
    async def aging(self, scope: ScopeFilter, today: date, *, customer_id: int | None,
                    limit: int) -> tuple[Sequence[Aging], int]:
        """Per customer and currency, what open invoices in scope still owe, by days past due (SQL sums), the
        largest balances first; and how many such customer-currency rows there are in all."""
        ...
    async def aging_totals(self, scope: ScopeFilter, today: date) -> Sequence[Aging]:
        """The same, summed per currency (``customer_id`` 0)."""
        ...
    async def overdue_at(self, scope: ScopeFilter, at: datetime, day: date) -> Sequence[tuple[str, Decimal]]:
        """Per currency, what invoices due before ``day`` still owed at ``at``: totals less payments received
        before then and not reversed by then."""
        ...
    async def reminders_due(self, before: date, repeat_before: datetime | None, lease_before: datetime, *,
                            limit: int) -> Sequence[tuple[Invoice, int | None, str | None]]:
        """Open invoices due before ``before`` (the latest local today) never pushed — or pushed before
        ``repeat_before`` — and not claimed since ``lease_before``: with the owner's Telegram id and zone."""
        ...
    async def claim_reminder(self, invoice_id: int, at: datetime, lease_before: datetime) -> bool:
        """Take the invoice's push; False when another process holds a fresh claim."""
        ...
    async def reminder_done(self, invoice_id: int, sent_at: datetime | None) -> None:
        """Release the claim; ``sent_at`` marks it pushed (None: try again on a later tick)."""
        ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> Payment: ...
    async def get(self, payment_id: int) -> Payment | None: ...
    async def reverse(self, payment_id: int, by: int, reason: str, at: datetime) -> bool:
        """Mark it reversed; False when it already was (a concurrent reversal won)."""
        ...
    async def of_invoice(self, invoice_id: int) -> Sequence[Payment]: ...
    async def of_customer(self, scope: ScopeFilter, customer_id: int, *, limit: int) -> Sequence[Payment]:
        """The customer's payments, reversed ones too, on invoices the scope allows (every invoice it paid on),
        newest first."""
        ...
    async def received(self, scope: ScopeFilter, since: date, until: date) -> Sequence[tuple[str, Decimal]]:
        """Per currency, what payments received in ``[since, until)`` and not reversed paid on invoices in
        scope."""
        ...
    async def received_per_owner(self, staff_ids: Sequence[int], since: date, until: date, currency: str
                                 ) -> dict[int, Decimal]:
        """Per invoice owner among ``staff_ids``: what was received in ``[since, until)`` on their invoices in
        ``currency``, not reversed (performance reviews' collections)."""
        ...


class TermsRepository(Protocol):
    async def get(self, customer_id: int) -> int | None: ...
    async def put(self, customer_id: int, days: int, at: datetime) -> None: ...


class BillingRepositories(Protocol):
    @property
    def invoices(self) -> InvoiceRepository: ...
    @property
    def payments(self) -> PaymentRepository: ...
    @property
    def terms(self) -> TermsRepository: ...


class BillingUnitOfWork(SalesUnitOfWork, Protocol):
    @property
    def billing(self) -> BillingRepositories: ...


class InvoiceDocuments(Protocol):
    """Renders an invoice as a printable document (outbound/invoice_pdf.py)."""

    def invoice_pdf(self, document: InvoiceDocument) -> bytes: ...
