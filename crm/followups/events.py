"""What the follow-ups module tells the others: a follow-up was done."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.events import Event


@dataclass(frozen=True)
class FollowUpDone(Event):
    followup_id: int
    owner_id: int
    done_by: int
    customer_id: int | None
    lead_id: int | None
    contact_id: int | None


__all__ = ["FollowUpDone"]
