"""What the customers module tells the others."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.events import Event


@dataclass(frozen=True)
class CustomerCreated(Event):
    """One customer created from chat (a bulk import records none: it writes thousands at once)."""

    customer_id: int
    owner_id: int
    created_by: int
    phones: tuple[str, ...]


__all__ = ["CustomerCreated"]
