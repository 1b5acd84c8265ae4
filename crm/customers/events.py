"""What happens to customers, contacts and leads: created, contacted (an interaction was logged — the follow-ups
module records it; interactions are a customer's activity, kept with the customers module)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.core.events import Event
from crm.customers.model import InteractionKind


@dataclass(frozen=True)
class CustomerCreated(Event):
    """One customer created from chat (a bulk import records none: it writes thousands at once)."""

    customer_id: int
    owner_id: int
    created_by: int
    phones: tuple[str, ...]


@dataclass(frozen=True)
class InteractionLogged(Event):
    """``occurred_at`` is when it was logged; ``contacted_at`` when the call or visit happened (may be earlier)."""

    interaction_id: int
    author_id: int
    kind: InteractionKind
    contacted_at: datetime
    customer_id: int | None
    lead_id: int | None
    contact_id: int | None


@dataclass(frozen=True)
class InteractionUndone(Event):
    """An interaction removed by its author right after logging it (a slip, a duplicate): it never happened."""

    interaction_id: int
    contacted_at: datetime
    customer_id: int | None
    lead_id: int | None


__all__ = ["CustomerCreated", "InteractionLogged", "InteractionUndone"]
