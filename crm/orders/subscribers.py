"""How the orders module follows what other modules do, and what it adds to their extension points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crm.orders.events import OrderFromQuote
from crm.orders.model import OPEN, Order, OrderRow, OrderStatus
from crm.orders.orders import auditable, next_order
from crm.orders.ports import OrdersUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.events import QuoteAccepted


class OrderFromAcceptedQuote:
    """An accepted quotation becomes a confirmed order with the same lines, prices, discounts and currency, in
    the acceptance's transaction: the two are true together or not at all."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    async def __call__(self, event: QuoteAccepted, uow: OrdersUnitOfWork) -> None:
        if await uow.orders.orders.by_quote(event.quote_id) is not None:
            return
        quote = await uow.sales.quotes.get(event.quote_id)
        if quote is None:
            return
        order = await next_order(uow, self.prefix, Order(
            id=0, number="", customer_id=quote.customer_id, owner_id=quote.owner_id, currency=quote.currency,
            status=OrderStatus.CONFIRMED, order_discount=quote.order_discount, delivery_date=None,
            created_at=event.occurred_at, updated_at=event.occurred_at, quote_id=quote.id, lines=quote.lines))
        await audit.record(uow, event.by_staff_id, "create", "order", order.id, {}, auditable(order))
        uow.record(OrderFromQuote(occurred_at=event.occurred_at, order_id=order.id, quote_id=quote.id,
                                  owner_id=order.owner_id))


class OpenOrders:
    """The organisation module's deactivation check (``OpenWork``): orders not yet shipped in full keep their
    taker (someone must see them through)."""

    async def count(self, uow: OrdersUnitOfWork, staff_id: int) -> Mapping[str, int]:
        return {"orders": await uow.orders.orders.count_owned(staff_id, sorted(OPEN))}


class LastOrdersSection:
    """The customer card's "orders" section (``CardSection``): the customer's latest orders the reader may see."""

    name = "orders"

    async def read(self, uow: OrdersUnitOfWork, actor: Actor, customer_id: int, limit: int) -> Sequence[OrderRow]:
        if not actor.can("sales.view"):
            return ()
        return await uow.orders.orders.listed(actor.scope_filter("sales"), customer_id=customer_id, offset=0,
                                              limit=limit)
