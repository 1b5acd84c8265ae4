"""Shipments as a source of invoices: invoice what was shipped (docs/billing.md, "Sources").

A shipment is invoiced for the order's lines at the quantities it carried, less what live invoices of this
shipment already carry, and never beyond what the order as a whole still has to invoice — the invoices of the
order itself and of all its shipments counted, matched by product, price and discount. So a quantity is billed
once whether it was invoiced from the order (``/invoice O2026-0001``) or from the shipment that took it out
(``/invoice S12``), and voiding an invoice makes its lines billable again from either. A shipment's reference is
``S`` and its number, as the order card lists it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from crm.billing.order_source import NOT_BILLABLE, SHIPMENT, invoiced_for, order_sources, still_to_invoice, within
from crm.billing.sources import Billable
from crm.core.errors import NotFound
from crm.orders.discounts import visible_order
from crm.orders.model import Order, Shipment
from crm.organisation.permissions import Actor
from crm.sales.quote_model import QuoteLine

_REFERENCE = re.compile(r"[Ss](\d{1,9})")


def shipped_lines(order: Order, shipment: Shipment) -> tuple[QuoteLine, ...]:
    """The order's lines at the quantities this shipment carried, in the order's order."""
    by_position = {line.position: line for line in order.lines}
    carried = [(by_position[p], q) for p, q in sorted(shipment.quantities.items()) if p in by_position and q > 0]
    return tuple(replace(line, quantity=quantity, position=i) for i, (line, quantity) in enumerate(carried))


class ShipmentSource:
    kind = SHIPMENT

    async def find(self, uow: Any, reference: str) -> int | None:
        matched = _REFERENCE.fullmatch(reference.strip())
        if matched is None:
            return None
        shipment = await uow.orders.shipments.get(int(matched[1]))
        return shipment.id if shipment is not None else None

    async def billable(self, uow: Any, actor: Actor, source_id: int) -> Billable:
        shipment = await uow.orders.shipments.get(source_id)
        if shipment is None:
            raise NotFound()
        order = await visible_order(uow, actor, shipment.order_id)
        own, total = await invoiced_for(uow, [(SHIPMENT, shipment.id)])
        lines: tuple[QuoteLine, ...] = ()
        if order.status not in NOT_BILLABLE:
            everything, _ = await invoiced_for(uow, await order_sources(uow, order.id))
            lines = within(still_to_invoice(shipped_lines(order, shipment), own),
                           still_to_invoice(order.lines, everything))
        return Billable(kind=SHIPMENT, source_id=shipment.id, customer_id=order.customer_id,
                        owner_id=order.owner_id, currency=order.currency, lines=lines,
                        order_discount=order.order_discount, invoiced=total)
