"""What the sales module tells the others."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crm.core.events import Event


@dataclass(frozen=True, kw_only=True)
class OpportunityClosed(Event):
    opportunity_id: int
    customer_id: int
    owner_id: int
    by_staff_id: int
    amount: Decimal
    currency: str


@dataclass(frozen=True, kw_only=True)
class OpportunityWon(OpportunityClosed):
    """Closed at a won stage: the amount is revenue to come."""


@dataclass(frozen=True, kw_only=True)
class OpportunityLost(OpportunityClosed):
    reason: str


@dataclass(frozen=True, kw_only=True)
class QuoteAccepted(Event):
    """The customer accepted a quotation. Recorded in the transaction that moves it, so a subscriber that turns it
    into an order does so atomically with the acceptance (in transaction) or is told after it (after commit)."""

    quote_id: int
    customer_id: int
    owner_id: int
    by_staff_id: int


__all__ = ["OpportunityClosed", "OpportunityLost", "OpportunityWon", "QuoteAccepted"]
