"""What the follow-ups module tells the others: an interaction was logged, a follow-up was done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.core.events import Event
from crm.customers.model import InteractionKind


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
class FollowUpDone(Event):
    followup_id: int
    owner_id: int
    done_by: int
    customer_id: int | None
    lead_id: int | None
    contact_id: int | None


__all__ = ["FollowUpDone", "InteractionLogged"]
