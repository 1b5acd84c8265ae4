"""How a payment is spread over invoices: pure, so it can be property-tested.

Oldest first (by due date, then number) unless the person chose the invoices; each invoice takes at most what is
still open on it; a payment larger than what the invoices still owe is refused rather than left unallocated, so
the allocations always add up to the payment exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm.core.errors import ValidationFailed


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    due_date: date
    outstanding: Decimal


def allocate(amount: Decimal, invoices: Sequence[OpenInvoice]) -> tuple[tuple[int, Decimal], ...]:
    """(invoice id, amount) for each invoice the payment reaches, the oldest due first."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValidationFailed("billing.error_amount")
    owed = sum((i.outstanding for i in invoices if i.outstanding > 0), Decimal(0))
    if amount > owed:
        raise ValidationFailed("billing.error_over_allocated", owed=str(owed))
    left = amount
    result: list[tuple[int, Decimal]] = []
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.id)):
        if left <= 0:
            break
        if invoice.outstanding <= 0:
            continue
        share = min(left, invoice.outstanding)
        result.append((invoice.id, share))
        left -= share
    return tuple(result)
