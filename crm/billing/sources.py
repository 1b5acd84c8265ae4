"""Where an invoice's lines come from: an extension point other modules fill (docs/billing.md, "Sources").

The billing module does not know orders or shipments. A module that has something to bill (the orders module:
an order, or one shipment of it) adds a ``BillableSource`` to ``services.billing.invoices.sources`` while the
services are wired; ``InvoiceService.issue_from`` asks the source of that kind for the priced lines and issues
the invoice in the same unit of work. A source reads in the caller's unit of work (the storage one, which has
every module's repositories), checks that the actor may see the record (``actor.scope_filter("sales")``) and
raises ``NotFound`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from crm.organisation.permissions import Actor
from crm.sales.quote_model import QuoteLine


@dataclass(frozen=True, kw_only=True)
class Billable:
    """What a source says may be invoiced now: the customer, the owner, the currency and the priced lines still
    to invoice (a source that was partly invoiced already leaves those lines out), with the order discount in
    percent and the total already invoiced for the record, in its currency, for showing."""

    kind: str
    source_id: int
    customer_id: int
    owner_id: int
    currency: str
    lines: tuple[QuoteLine, ...]
    order_discount: Decimal = Decimal(0)
    invoiced: Decimal = Decimal(0)


class BillableSource(Protocol):
    @property
    def kind(self) -> str:
        """Short and stable ("order", "shipment"): it is stored on the invoice and carried on buttons."""
        ...

    async def billable(self, uow: Any, actor: Actor, source_id: int) -> Billable:
        """The record's lines still to invoice, for an actor who may see it; ``NotFound`` otherwise."""
        ...

    async def find(self, uow: Any, reference: str) -> int | None:
        """The record a typed reference names (an order number, for ``/invoice O2026-0001``), or None; the
        actor's scope is checked by ``billable``, as for any id."""
        ...
