"""What the segments module tells the others."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.events import Event
from crm.segments.model import MovedItems


@dataclass(frozen=True)
class CustomersHandedOver(Event):
    """A manager moved one rep's records to another (crm/segments/handover.py); ``moved`` holds the ids."""

    from_staff_id: int
    to_staff_id: int
    by_staff_id: int
    segment_id: int | None
    moved: MovedItems


__all__ = ["CustomersHandedOver"]
