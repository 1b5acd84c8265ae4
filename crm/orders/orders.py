"""Orders: priced lines on a customer (the quotation's arithmetic), numbered per year, confirmed → partially
shipped → shipped → delivered, or cancelled with a reason; discounts beyond the taker's limit wait for approval
(docs/orders.md).

Who may do what:
- reading: ``sales.view`` within the ``sales`` scope of the order's owner (out of scope is "not found", also for a
  forged button press);
- ``orders.create`` to take an order for a customer one may see (the taker owns it);
- ``orders.cancel`` to cancel an order in scope that nothing was shipped from (a typed reason);
- ``shipments.create`` to ship (all or part) and to mark delivered;
- ``discounts.approve`` to take orders with any discount, and to approve or reject those waiting.
Every change writes its audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.model import Customer
from crm.fields.fields import FieldService, RecordKind
from crm.fields.model import FieldDef, FieldEntity, FieldValue
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, enqueue
from crm.messaging.ports.outbox import SEND
from crm.messaging.subscriptions import DEFAULT_TOPICS, SmsProgram, SmsTexts, decide, sms_locale_for
from crm.orders.discounts import KIND, order_discount
from crm.orders.line import Item
from crm.orders.model import (
    CANCELLABLE,
    CARRIER_LIMIT,
    REASON_LIMIT,
    SHIPPABLE,
    TRACKING_LIMIT,
    Order,
    OrderCard,
    OrderRow,
    OrderStatus,
    Shipment,
    ShipmentRow,
    Shipped,
    order_number,
)
from crm.orders.ports import OrdersUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import clean_amount
from crm.sales.discount_model import ApprovalStatus
from crm.sales.discounts import Decided, DiscountService, Requested, limit_of
from crm.sales.model import Product
from crm.sales.prices import active_product, read_tier_discounts
from crm.sales.pricing import price_for, round_money
from crm.sales.quote_model import MAX_LINES, LineDraft, QuoteLine, clean_discount, clean_quantity

PAGE = 8


class Keep:
    """The delivery date left as it is (``OrderService.edit``); None clears it."""


KEEP = Keep()
ORDERS_TOPIC = "orders"  # the transactional SMS topic "Order updates" (crm/messaging/subscriptions.py)


def auditable(order: Order) -> dict[str, Any]:
    """JSON for the audit log: amounts as text, exactly as stored."""
    return {
        "number": order.number, "customer_id": order.customer_id, "currency": order.currency,
        "status": order.status.value, "order_discount": str(order.order_discount),
        "delivery_date": order.delivery_date.isoformat() if order.delivery_date else None,
        "quote_id": order.quote_id, "total": str(order.totals.total),
        "lines": [{"product_id": line.product_id, "sku": line.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "discount": str(line.discount),
                   "tax_rate": str(line.tax_rate)} for line in order.lines],
    }


def _text(value: str | None, limit: int, field: str) -> str | None:
    text = " ".join((value or "").split()) or None
    if text is not None and len(text) > limit:
        raise ValidationFailed("error.field_too_long", field=field, limit=limit)
    return text


def reason_text(reason: str | None) -> str:
    text = _text(reason, REASON_LIMIT, "reason")
    if text is None:
        raise ValidationFailed("orders.error_reason")
    return text


async def priced_lines(uow: OrdersUnitOfWork, customer: Customer, drafts: Sequence[LineDraft],
                       products: Mapping[int, Product] | None = None) -> tuple[tuple[QuoteLine, ...], str]:
    """Lines priced for the customer by the sales price rules (``crm.sales.pricing.price_for``: the agreed
    price, else the tier discount, else the list price), all in the first line's currency. The tier discounts and
    the customer's agreed prices are read once for all lines; ``products`` already read are not read again."""
    if not drafts:
        raise ValidationFailed("orders.error_empty")
    if len(drafts) > MAX_LINES:
        raise ValidationFailed("orders.error_too_many", limit=MAX_LINES)
    # A customer without a tier pays no tier discount: the company setting need not be read.
    discounts = await read_tier_discounts(uow) if customer.tier is not None else {}
    agreed = {p.product_id: p for p in await uow.sales.customer_prices.for_customer(customer.id)}
    lines: list[QuoteLine] = []
    currency: str | None = None
    for position, draft in enumerate(drafts):
        product = (products or {}).get(draft.product_id) or await active_product(uow, draft.product_id)
        currency = currency or product.currency
        if product.currency != currency:
            raise ValidationFailed("orders.error_currency", sku=product.sku, currency=product.currency,
                                   order_currency=currency)
        if draft.unit_price is None:
            deal = agreed.get(product.id)
            unit = price_for(product.price, customer.tier, discounts,
                             deal.price if deal is not None and deal.currency == product.currency else None).amount
        else:
            unit = round_money(replace(product.price, amount=clean_amount(draft.unit_price, "list_price"))).amount
        lines.append(QuoteLine(product_id=product.id, sku=product.sku, name=product.name,
                               name_zh_hant=product.name_zh_hant, name_zh_hans=product.name_zh_hans,
                               quantity=clean_quantity(draft.quantity), unit_price=unit,
                               discount=clean_discount(draft.discount), tax_rate=product.tax_rate,
                               position=position))
    assert currency is not None
    return tuple(lines), currency


async def products_by_sku(uow: OrdersUnitOfWork, items: Sequence[Item]) -> tuple[list[LineDraft],
                                                                                 dict[int, Product]]:
    """Typed SKUs as lines; an unknown or inactive SKU is named in the refusal."""
    drafts: list[LineDraft] = []
    products: dict[int, Product] = {}
    found = await uow.sales.products.by_skus([item.sku for item in items])
    for item in items:
        product = found.get(item.sku)
        if product is None or not product.active:
            raise ValidationFailed("orders.error_unknown_sku", sku=item.sku[:40])
        products[product.id] = product
        drafts.append(LineDraft(product_id=product.id, quantity=clean_quantity(item.quantity)))
    return drafts, products


async def next_order(uow: OrdersUnitOfWork, prefix: str, order: Order) -> Order:
    """Number the order in the caller's transaction and store it."""
    sequence = await uow.orders.orders.next_number(order.created_at.year)
    return await uow.orders.orders.add(replace(order, number=order_number(prefix, order.created_at.year, sequence)))


async def visible_order(uow: Any, actor: Actor, order_id: int) -> Order:
    """The order if the actor's ``sales`` scope allows its owner; "not found" otherwise."""
    order: Order | None = await uow.orders.orders.get(order_id)
    if order is None:
        raise NotFound()
    owner = await uow.organisation.staff.get(order.owner_id)
    if not actor.scope_filter("sales").allows(order.owner_id, owner.department_id if owner else None):
        raise NotFound()
    return order


# The custom fields of orders (docs/fields.md): seen with sales.view in the sales scope, set by order takers.
ORDER_KIND = RecordKind(FieldEntity.ORDER, "sales.view", "orders.create", visible_order)


class OrderService:
    def __init__(self, uow: UnitOfWorkFactory[OrdersUnitOfWork], clock: Clock, discounts: DiscountService, *,
                 prefix: str = "O", program: SmsProgram | None = None, texts: SmsTexts | None = None) -> None:
        self._uow = uow
        self._clock = clock
        # Limits, requests and decisions are the sales module's, one machinery for quotes and orders.
        self._discounts = discounts
        self.prefix = prefix
        self._program = program
        self._texts = texts
        self.fields: FieldService | None = None  # the custom fields, saved with a new order, on its card

    # ---- reading -------------------------------------------------------------------------------------------

    async def _visible(self, uow: OrdersUnitOfWork, actor: Actor, order_id: int) -> Order:
        return await visible_order(uow, actor, order_id)

    async def get(self, actor: Actor, order_id: int) -> Order:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, order_id)

    async def card(self, actor: Actor, order_id: int) -> OrderCard:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await self._card(uow, await self._visible(uow, actor, order_id))

    async def _card(self, uow: OrdersUnitOfWork, order: Order) -> OrderCard:
        customer = await uow.customers.customers.get(order.customer_id, include_deleted=True)
        owner = await uow.organisation.staff.get(order.owner_id)
        quote = await uow.sales.quotes.get(order.quote_id) if order.quote_id is not None else None
        shipments = tuple(await uow.orders.shipments.of_order(order.id))
        custom: tuple[tuple[FieldDef, FieldValue], ...] = ()
        if self.fields is not None and await uow.fields.values.any_for(order.id):
            custom = tuple((field, value) for field, value in
                           await FieldService.read(uow, FieldEntity.ORDER, order.id) if not value.is_empty)
        return OrderCard(order, customer.name if customer else "?", owner.name if owner else "?",
                         quote.number if quote else None, shipments, custom)

    async def of_customer(self, actor: Actor, customer_id: int, *, limit: int = 10) -> Sequence[OrderRow]:
        """The customer's latest orders the reader may see (their ``sales`` scope), newest first."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await uow.orders.orders.listed(actor.scope_filter("sales"), customer_id=customer_id, offset=0,
                                                  limit=limit)

    async def shipments_of_customer(self, actor: Actor, customer_id: int, *,
                                    limit: int = 10) -> Sequence[ShipmentRow]:
        """The shipments from the customer's orders the reader may see (their ``sales`` scope), newest first; a
        customer the reader may not see is "not found"."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await uow.orders.shipments.of_customer(actor.scope_filter("sales"), customer_id, limit=limit)

    async def listed(self, actor: Actor, *, page: int = 0) -> tuple[Sequence[OrderRow], bool]:
        """One page of the orders in the reader's ``sales`` scope, newest first."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            rows = await uow.orders.orders.listed(actor.scope_filter("sales"), offset=max(page, 0) * PAGE,
                                                  limit=PAGE + 1)
        return rows[:PAGE], len(rows) > PAGE

    # ---- taking an order ------------------------------------------------------------------------------------

    async def resolve(self, actor: Actor, items: Sequence[Item]) -> tuple[LineDraft, ...]:
        """Typed SKUs and quantities as lines; an unknown or inactive SKU is named in the refusal."""
        actor.require("orders.create")
        async with self._uow(write=False) as uow:
            drafts, _ = await products_by_sku(uow, items)
        return tuple(drafts)

    async def last_lines(self, actor: Actor, customer_id: int) -> tuple[LineDraft, ...]:
        """The products and quantities of the customer's latest order the reader may see (priced anew when
        used: the customer pays today's price); () when there is none."""
        actor.require("orders.create")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            last = await uow.orders.orders.last_of(customer_id, actor.scope_filter("sales"))
        if last is None:
            return ()
        return tuple(LineDraft(product_id=line.product_id, quantity=line.quantity) for line in last.lines)

    def _delivery(self, actor: Actor, delivery_date: date | None) -> date | None:
        today = self._clock.now().astimezone(ZoneInfo(actor.timezone)).date()
        if delivery_date is not None and delivery_date < today:
            raise ValidationFailed("orders.error_delivery_past")
        return delivery_date

    @staticmethod
    async def _over_limit(uow: OrdersUnitOfWork, order: Order) -> bool:
        """A discount beyond the taker's role limit (docs/sales.md, "Discount approval") waits for approval."""
        given = order_discount(order)
        if given <= 0:
            return False  # limits are never below 0: an order without a discount needs no limit read
        limit = await limit_of(uow, order.owner_id)
        return limit is not None and given > limit

    async def preview(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                      order_discount: Decimal = Decimal(0), delivery_date: date | None = None) -> Order:
        """What ``create`` would save, priced now, saving nothing (the chat echoes it for one tap)."""
        actor.require("orders.create")
        async with self._uow(write=False) as uow:
            return await self._draft(uow, actor, customer_id, drafts, order_discount, delivery_date)

    async def preview_items(self, actor: Actor, customer_id: int, items: Sequence[Item], *,
                            delivery_date: date | None = None) -> tuple[Order, tuple[LineDraft, ...]]:
        """The one-message form in one read: typed SKUs resolved and priced for the customer (the echo), with
        the lines to keep in the chat's draft."""
        actor.require("orders.create")
        async with self._uow(write=False) as uow:
            drafts, products = await products_by_sku(uow, items)
            order = await self._draft(uow, actor, customer_id, drafts, Decimal(0), delivery_date, products)
        return order, tuple(drafts)

    async def _draft(self, uow: OrdersUnitOfWork, actor: Actor, customer_id: int, drafts: Sequence[LineDraft],
                     order_discount: Decimal, delivery_date: date | None,
                     products: Mapping[int, Product] | None = None) -> Order:
        now = self._clock.now()
        customer = await visible_customer(uow, actor, customer_id)
        lines, currency = await priced_lines(uow, customer, drafts, products)
        order = Order(id=0, number="", customer_id=customer_id, owner_id=actor.staff_id, currency=currency,
                      status=OrderStatus.CONFIRMED, order_discount=clean_discount(order_discount),
                      delivery_date=self._delivery(actor, delivery_date), created_at=now, updated_at=now,
                      lines=lines, shipped=tuple(Decimal(0) for _ in lines))
        if await self._over_limit(uow, order):
            order = replace(order, status=OrderStatus.PENDING_APPROVAL)
        return order

    async def create(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                     order_discount: Decimal = Decimal(0), delivery_date: date | None = None,
                     custom: Mapping[int, str] | None = None) -> Order:
        """``custom``: the custom fields' answers (field id → text), saved in the same transaction (a required
        field without an answer refuses the order). An order made from a quote passes none: its fields are set
        from the card."""
        actor.require("orders.create")
        async with self._uow() as uow:
            draft = await self._draft(uow, actor, customer_id, drafts, order_discount, delivery_date)
            order = await next_order(uow, self.prefix, draft)
            await audit.record(uow, actor.staff_id, "create", "order", order.id, {}, auditable(order))
            if self.fields is not None and custom is not None:
                await self.fields.write(uow, actor, FieldEntity.ORDER, order.id, custom, creating=True)
            await uow.commit()
        # Beyond the taker's limit: the request for approval exists from the start, so /discounts lists it even
        # when nobody could be told (the chat asks ``request_approval`` for the approvers to push to).
        await self.request_approval(actor, order)
        return order

    # ---- editing before shipment ------------------------------------------------------------------------------

    async def edit(self, actor: Actor, order_id: int, drafts: Sequence[LineDraft] | None = None, *,
                   delivery_date: date | Keep | None = KEEP) -> Order:
        """Change a taken order's lines, quantities or delivery date before anything is shipped (confirmed or
        waiting for approval). A product already on the order keeps its price and discount unless others are
        given; a new one is priced by the rules. The discount is checked again: beyond the owner's limit and
        beyond what was approved, the order waits for approval (asked at once); within it, it is confirmed.
        Audited with the order before and after."""
        actor.require("orders.create")
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.orders.orders.lock(order_id)
            before, after = await self._edited(uow, actor, order_id, drafts, delivery_date)
            lines, delivery = after.lines, after.delivery_date
            if drafts is not None:
                await uow.orders.orders.replace_lines(order_id, lines)
            await uow.orders.orders.update(order_id, status=after.status.value, total=after.totals.total,
                                           delivery_date=delivery, updated_at=now)
            await audit.record(uow, actor.staff_id, "edit", "order", order_id, auditable(before), auditable(after))
            saved = await uow.orders.orders.get(order_id)
            await uow.commit()
        if saved is None:
            raise NotFound()
        await self.request_approval(actor, saved)
        return saved

    async def preview_edit(self, actor: Actor, order_id: int, drafts: Sequence[LineDraft] | None = None, *,
                           delivery_date: date | Keep | None = KEEP) -> Order:
        """What ``edit`` would save, saving nothing (the chat's draft of an edit)."""
        actor.require("orders.create")
        async with self._uow(write=False) as uow:
            return (await self._edited(uow, actor, order_id, drafts, delivery_date))[1]

    async def _edited(self, uow: OrdersUnitOfWork, actor: Actor, order_id: int, drafts: Sequence[LineDraft] | None,
                      delivery_date: date | Keep | None) -> tuple[Order, Order]:
        """The order as it is and as the edit would make it (status included), nothing written."""
        before = await self._visible(uow, actor, order_id)
        if before.status not in CANCELLABLE or any(before.shipped):
            raise ValidationFailed("orders.error_status", status=before.status.value)
        lines = before.lines
        if drafts is not None:
            customer = await visible_customer(uow, actor, before.customer_id)
            kept = {line.product_id: line for line in before.lines}
            priced = [replace(d, unit_price=kept[d.product_id].unit_price,
                              discount=d.discount or kept[d.product_id].discount)
                      if d.unit_price is None and d.product_id in kept else d for d in drafts]
            lines, currency = await priced_lines(uow, customer, priced)
            if currency != before.currency:
                raise ValidationFailed("orders.error_currency", sku=lines[0].sku, currency=currency,
                                       order_currency=before.currency)
        # A date kept as it was is not checked again: it may have passed since the order was taken.
        if isinstance(delivery_date, Keep) or delivery_date == before.delivery_date:
            delivery = before.delivery_date
        else:
            delivery = self._delivery(actor, delivery_date)
        after = replace(before, lines=lines, shipped=tuple(Decimal(0) for _ in lines), delivery_date=delivery,
                        updated_at=self._clock.now())
        cleared = await self._cleared(uow, after)
        return before, replace(after, status=OrderStatus.CONFIRMED if cleared else OrderStatus.PENDING_APPROVAL)

    async def _cleared(self, uow: OrdersUnitOfWork, order: Order) -> bool:
        """Within the owner's limit, or within what an approval of this order already granted."""
        if not await self._over_limit(uow, order):
            return True
        latest = await uow.sales.discount_approvals.latest(KIND, order.id)
        return (latest is not None and latest.status is ApprovalStatus.APPROVED
                and latest.percent >= order_discount(order))

    # ---- approval, cancelling --------------------------------------------------------------------------------

    async def _move(self, actor: Actor, order_id: int, allowed: frozenset[OrderStatus], to: OrderStatus,
                    verb: str, **fields: Any) -> Order:
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.orders.orders.lock(order_id)
            before = await self._visible(uow, actor, order_id)
            if before.status not in allowed:
                raise ValidationFailed("orders.error_status", status=before.status.value)
            await uow.orders.orders.update(order_id, status=to.value, updated_at=now, **fields)
            await audit.record(uow, actor.staff_id, verb, "order", order_id, {"status": before.status.value},
                               {"status": to.value, **{k: str(v) for k, v in fields.items()}})
            after = await uow.orders.orders.get(order_id)
            await uow.commit()
        if after is None:
            raise NotFound()
        return after

    async def cancel(self, actor: Actor, order_id: int, reason: str) -> Order:
        """Only an order nothing was shipped from; the reason is kept on the order and in the audit log."""
        actor.require("orders.cancel")
        return await self._move(actor, order_id, CANCELLABLE, OrderStatus.CANCELLED, "cancel",
                                cancel_reason=reason_text(reason))

    async def to_cancel(self, actor: Actor, order_id: int) -> Order:
        """The order about to be cancelled (checked before the reason is asked)."""
        actor.require("orders.cancel")
        order = await self.get(actor, order_id)
        if order.status not in CANCELLABLE:
            raise ValidationFailed("orders.error_status", status=order.status.value)
        return order

    async def request_approval(self, actor: Actor, order: Order) -> Requested | None:
        """For an order placed beyond its taker's limit: the request for approval (one per order; asked again,
        the waiting one), with the approvers to tell. None when the order does not wait for one."""
        if order.status is not OrderStatus.PENDING_APPROVAL:
            return None
        return await self._discounts.request(actor, KIND, order.id)

    async def _waiting(self, actor: Actor, order_id: int) -> int:
        async with self._uow(write=False) as uow:
            order = await self._visible(uow, actor, order_id)
            approval = await uow.sales.discount_approvals.latest(KIND, order_id)
        if order.status is not OrderStatus.PENDING_APPROVAL or approval is None:
            raise ValidationFailed("orders.error_status", status=order.status.value)
        return approval.id

    async def discount_approved(self, actor: Actor, order_id: int) -> Decided:
        """Approve the order's waiting request (as from the approval push): the order is confirmed."""
        actor.require("discounts.approve")
        return await self._discounts.approve(actor, await self._waiting(actor, order_id))

    async def discount_rejected(self, actor: Actor, order_id: int, reason: str) -> Decided:
        """Reject it: the order is cancelled with the reason."""
        actor.require("discounts.approve")
        return await self._discounts.reject(actor, await self._waiting(actor, order_id), reason_text(reason))

    # ---- shipping --------------------------------------------------------------------------------------------

    async def ship(self, actor: Actor, order_id: int, quantities: Mapping[int, Decimal] | None = None, *,
                   carrier: str | None = None, tracking: str | None = None) -> Shipped:
        """Ship what is left (``quantities`` None) or these quantities per line position — never more than
        ordered minus shipped. The customer is texted on the "Order updates" topic unless they opted out."""
        actor.require("shipments.create")
        carrier_text = _text(carrier, CARRIER_LIMIT, "carrier")
        tracking_text = _text(tracking, TRACKING_LIMIT, "tracking")
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.orders.orders.lock(order_id)  # two shipments at once never ship more than was ordered
            order = await self._visible(uow, actor, order_id)
            if order.status not in SHIPPABLE:
                raise ValidationFailed("orders.error_status", status=order.status.value)
            left = order.remaining()
            wanted = dict(left) if quantities is None else {p: q for p, q in quantities.items() if q != 0}
            for position, quantity in wanted.items():
                if position not in left or quantity < 0 or quantity > left[position]:
                    raise ValidationFailed("orders.error_ship_quantity", line=position + 1,
                                           left=str(left.get(position, 0)))
            if not wanted:
                raise ValidationFailed("orders.error_ship_nothing")
            status = order.status_after(wanted)
            shipment = await uow.orders.shipments.add(Shipment(
                id=0, order_id=order_id, carrier=carrier_text, tracking=tracking_text, shipped_at=now,
                by_staff_id=actor.staff_id, quantities=wanted))
            await uow.orders.orders.add_shipped(order_id, wanted)
            await uow.orders.orders.update(order_id, status=status.value, updated_at=now)
            await audit.record(uow, actor.staff_id, "ship", "order", order_id, {"status": order.status.value},
                               {"status": status.value, "shipment_id": shipment.id, "carrier": carrier_text,
                                "tracking": tracking_text, "lines": {str(p): str(q) for p, q in wanted.items()}})
            after = await uow.orders.orders.get(order_id)
            assert after is not None
            texted = await self._text_customer(uow, actor, after, shipment)
            await uow.commit()
        return Shipped(after, shipment, texted)

    async def _text_customer(self, uow: OrdersUnitOfWork, actor: Actor, order: Order, shipment: Shipment) -> bool:
        """An SMS to the customer's first number through the outbox, when the messaging rules allow it now (the
        dispatcher asks them again right before sending)."""
        if self._program is None or self._texts is None:
            return False
        customer = await uow.customers.customers.get(order.customer_id)
        if customer is None or not customer.phones:
            return False
        phone = customer.phones[0]
        topics = {t.key: t for t in (await uow.messaging.subscriptions.topics() or DEFAULT_TOPICS)}
        latest = (await uow.messaging.subscriptions.latest([phone])).get(phone, {})
        if decide(ORDERS_TOPIC, phone, latest, topics, self._program, self._clock.now()) is not SEND:
            return False
        locale = sms_locale_for(phone)
        key = "orders.sms_shipped_tracking" if shipment.tracking else "orders.sms_shipped"
        if order.status is OrderStatus.PARTIALLY_SHIPPED:
            key = "orders.sms_partly_shipped"
        body = self._texts.t(key, locale, company=self._program.program(locale), number=order.number,
                             carrier=shipment.carrier or "", tracking=shipment.tracking or "")
        await enqueue(uow, NewOutboxMessage(
            OutboxChannel.SMS, phone, body, topic=ORDERS_TOPIC, customer_id=customer.id,
            requested_by=actor.staff_id, idempotency_key=f"order-shipment:{shipment.id}"))
        return True

    async def deliver(self, actor: Actor, order_id: int) -> Order:
        actor.require("shipments.create")
        return await self._move(actor, order_id, frozenset({OrderStatus.SHIPPED}), OrderStatus.DELIVERED,
                                "deliver")
