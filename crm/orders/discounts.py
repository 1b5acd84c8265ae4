"""Orders as a kind of record whose discount may need approval (``crm.sales.discounts.DiscountSubject``).

One approval machinery for quotes and orders (docs/sales.md, "Discount approval"): the role's limit, who may
decide, the request row, the pushes and ``/discounts`` are the sales module's; what an order adds is how it
describes itself and what a decision changes on it — approved, it is confirmed; rejected, it is cancelled with the
reason — in the decision's own transaction, so the approval row and the order's status cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from crm.core.errors import NotFound
from crm.core.money import Money
from crm.orders.model import Order, OrderStatus
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.discount_model import Discounted
from crm.sales.quote_model import effective_discount

KIND = "order"


def order_discount(order: Order) -> Decimal:
    """How far below the customer's prices the order goes, as for a quote."""
    return effective_discount(order.lines, order.order_discount, order.currency)


async def visible_order(uow: Any, actor: Actor | None, order_id: int) -> Order:
    """The order, checked against ``actor``'s sales scope (``NotFound`` outside it); None: unchecked."""
    order: Order | None = await uow.orders.orders.get(order_id)
    if order is None:
        raise NotFound()
    if actor is not None:
        owner = await uow.organisation.staff.get(order.owner_id)
        if not actor.scope_filter("sales").allows(order.owner_id, owner.department_id if owner else None):
            raise NotFound()
    return order


async def _settle(uow: Any, actor: Actor, order_id: int, to: OrderStatus, verb: str, now: datetime,
                  **fields: Any) -> None:
    await uow.orders.orders.lock(order_id)
    order = await visible_order(uow, None, order_id)
    if order.status is not OrderStatus.PENDING_APPROVAL:
        return  # decided another way meanwhile (cancelled by its taker): the decision changes nothing on it
    await uow.orders.orders.update(order_id, status=to.value, updated_at=now, **fields)
    await audit.record(uow, actor.staff_id, verb, "order", order_id, {"status": order.status.value},
                       {"status": to.value, **{k: str(v) for k, v in fields.items()}})


class OrderDiscounts:
    kind = KIND

    def __init__(self, now: Any) -> None:
        self._now = now  # the clock's ``now``: the decision's time on the order

    async def describe(self, uow: Any, actor: Actor | None, subject_id: int) -> Discounted:
        order = await visible_order(uow, actor, subject_id)
        customer = await uow.customers.customers.get(order.customer_id, include_deleted=True)
        return Discounted(kind=KIND, subject_id=order.id, owner_id=order.owner_id, title=order.number,
                          customer_name=customer.name if customer else "?",
                          total=Money(order.totals.total, order.currency), percent=order_discount(order),
                          sendable=order.status is OrderStatus.PENDING_APPROVAL)

    async def approved(self, uow: Any, actor: Actor, subject_id: int) -> None:
        await _settle(uow, actor, subject_id, OrderStatus.CONFIRMED, "discount_approved", self._now())

    async def rejected(self, uow: Any, actor: Actor, subject_id: int, reason: str) -> None:
        await _settle(uow, actor, subject_id, OrderStatus.CANCELLED, "discount_rejected", self._now(),
                      cancel_reason=reason)
