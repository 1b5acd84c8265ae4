"""What the orders module tells the others."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.events import Event


@dataclass(frozen=True, kw_only=True)
class OrderFromQuote(Event):
    """An accepted quotation became a confirmed order (in the acceptance's transaction); the owner is told after
    the commit."""

    order_id: int
    quote_id: int
    owner_id: int


__all__ = ["OrderFromQuote"]
