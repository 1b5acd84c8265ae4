"""Orders as a source of invoices (``crm.billing.sources.BillableSource``, docs/billing.md "Sources").

An order is invoiced for what it still has to invoice: each of its lines less what live (not void) invoices of
the order and of its shipments (crm/billing/shipment_source.py) already carry for the same product at the same
price and discount — so invoicing in parts (one invoice
per delivery, say) never bills a quantity twice, and voiding an invoice makes its lines billable again. An order
waiting for discount approval or cancelled has nothing to invoice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from crm.billing.sources import Billable
from crm.orders.discounts import visible_order
from crm.orders.model import OrderStatus
from crm.organisation.permissions import Actor
from crm.sales.quote_model import QuoteLine

KIND = "order"
SHIPMENT = "shipment"
NOT_BILLABLE = frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.CANCELLED})


def _key(line: QuoteLine) -> tuple[int, Decimal, Decimal]:
    return line.product_id, line.unit_price, line.discount


def within(lines: tuple[QuoteLine, ...], pool: tuple[QuoteLine, ...]) -> tuple[QuoteLine, ...]:
    """``lines`` cut down to what ``pool`` holds, matched by product, price and discount, in ``lines``' order."""
    left: dict[tuple[int, Decimal, Decimal], Decimal] = defaultdict(Decimal)
    for line in pool:
        left[_key(line)] += line.quantity
    out: list[QuoteLine] = []
    for line in lines:
        taken = min(left[_key(line)], line.quantity)
        left[_key(line)] -= taken
        if taken > 0:
            out.append(replace(line, quantity=taken, position=len(out)))
    return tuple(out)


async def invoiced_for(uow: Any, sources: list[tuple[str, int]]) -> tuple[list[QuoteLine], Decimal]:
    """The lines and the total of the live invoices of these source records."""
    lines: list[QuoteLine] = []
    total = Decimal(0)
    for kind, source_id in sources:
        for listed in await uow.billing.invoices.for_source(kind, source_id):  # a few invoices at most
            whole = await uow.billing.invoices.get(listed.id)
            lines.extend(whole.lines if whole is not None else ())
            total += listed.total
    return lines, total


async def order_sources(uow: Any, order_id: int) -> list[tuple[str, int]]:
    """The order and each of its shipments: whatever an invoice of the order's goods may name as its source."""
    return [(KIND, order_id), *((SHIPMENT, s.id) for s in await uow.orders.shipments.of_order(order_id))]


def still_to_invoice(ordered: tuple[QuoteLine, ...], invoiced: list[QuoteLine]) -> tuple[QuoteLine, ...]:
    """The order's lines less what was invoiced, matched by product, price and discount, in the order's order."""
    done: dict[tuple[int, Decimal, Decimal], Decimal] = defaultdict(Decimal)
    for line in invoiced:
        done[_key(line)] += line.quantity
    left: list[QuoteLine] = []
    for line in ordered:
        taken = min(done[_key(line)], line.quantity)
        done[_key(line)] -= taken
        if line.quantity - taken > 0:
            left.append(replace(line, quantity=line.quantity - taken, position=len(left)))
    return tuple(left)


class OrderSource:
    kind = KIND

    async def find(self, uow: Any, reference: str) -> int | None:
        number = reference.strip().upper()
        if not 4 <= len(number) <= 30:
            return None
        found: int | None = await uow.orders.orders.id_of(number)
        return found

    async def billable(self, uow: Any, actor: Actor, source_id: int) -> Billable:
        order = await visible_order(uow, actor, source_id)
        # What the order's shipments were invoiced for counts too: never the same quantity twice.
        invoiced, total = await invoiced_for(uow, await order_sources(uow, order.id))
        lines: tuple[QuoteLine, ...] = ()
        if order.status not in NOT_BILLABLE:
            lines = still_to_invoice(order.lines, invoiced)
        return Billable(kind=KIND, source_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
                        currency=order.currency, lines=lines, order_discount=order.order_discount,
                        invoiced=total)
