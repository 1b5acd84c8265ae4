"""How orders look, for the handlers and for the push that tells a rep an accepted quotation became an order."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from decimal import Decimal

from crm.core.money import Money
from crm.orders.model import CANCELLABLE, SHIPPABLE, Order, OrderCard, OrderRow, OrderStatus, ShipmentRow
from crm.organisation.permissions import Actor
from crm.sales.quote_model import QuoteLine, Totals
from outbound.telegram_send import Button
from views.core.text import short
from views.sales.opportunities import money_text

Translate = Callable[..., str]
Rows = list[list[Button]]
CARD_LINES = 10  # lines on the card itself; "📋 Lines" shows them all
STATUS_ICON = {OrderStatus.PENDING_APPROVAL: "⏳", OrderStatus.CONFIRMED: "🆗", OrderStatus.PARTIALLY_SHIPPED: "📦",
               OrderStatus.SHIPPED: "🚚", OrderStatus.DELIVERED: "✅", OrderStatus.CANCELLED: "✖️"}


def quantity_text(value: Decimal) -> str:
    """3, 2.5 — never 3.0000 (stored with four places)."""
    text = f"{value.normalize():f}"
    return text


def status_text(t: Translate, status: OrderStatus) -> str:
    return f"{STATUS_ICON[status]} " + t(f"orders.status_{status.value}")


def line_text(t: Translate, index: int, line: QuoteLine, net: Decimal, currency: str, *,
              locale: str | None = None) -> str:
    """One line, its name in ``locale`` (the reader's) when the product had one there."""
    discount = t("orders.line_discount", percent=quantity_text(line.discount)) if line.discount else ""
    return t("orders.line", n=index, sku=line.sku, name=line.name_in(locale), quantity=quantity_text(line.quantity),
             price=money_text(Money(line.unit_price, currency)), discount=discount,
             net=money_text(Money(net, currency)))


def totals_text(t: Translate, totals: Totals) -> list[str]:
    lines = [t("orders.subtotal", amount=money_text(totals.money(totals.subtotal)))]
    if totals.discount:
        lines.append(t("orders.order_discount", amount=money_text(totals.money(totals.discount))))
    lines += [t("orders.tax", amount=money_text(totals.money(totals.tax))),
              t("orders.total", amount=money_text(totals.money(totals.total)))]
    return lines


def lines_text(t: Translate, order: Order, *, limit: int | None = None, shipped: bool = False,
               totals: Totals | None = None, locale: str | None = None) -> list[str]:
    totals = totals or order.totals
    shown = order.lines if limit is None else order.lines[:limit]
    out: list[str] = []
    for line, amounts in zip(shown, totals.lines, strict=False):
        out.append(line_text(t, line.position + 1, line, amounts.net, order.currency, locale=locale))
        if shipped and order.shipped_of(line.position):
            out.append(t("orders.line_shipped", shipped=quantity_text(order.shipped_of(line.position)),
                         quantity=quantity_text(line.quantity)))
    if limit is not None and len(order.lines) > limit:
        out.append(t("orders.more_lines", count=len(order.lines) - limit))
    return out


def review_text(t: Translate, order: Order, customer_name: str, *, title: str, locale: str | None = None) -> str:
    """A draft or an echo: what would be saved, with prices and totals."""
    delivery = order.delivery_date.isoformat() if order.delivery_date else t("orders.no_date")
    totals = order.totals
    parts = [t(title), t("orders.card_customer", name=customer_name),
             *lines_text(t, order, totals=totals, locale=locale), "", *totals_text(t, totals),
             t("orders.card_delivery", date=delivery)]
    if order.status is OrderStatus.PENDING_APPROVAL:
        parts.append(t("orders.needs_approval"))
    return "\n".join(parts)


def card_text(t: Translate, card: OrderCard, *, locale: str | None = None) -> str:
    order = card.order
    delivery = order.delivery_date.isoformat() if order.delivery_date else t("orders.no_date")
    parts = [t("orders.card_title", number=order.number), status_text(t, order.status),
             t("orders.card_customer", name=card.customer_name), t("orders.card_owner", name=card.owner_name),
             t("orders.card_delivery", date=delivery)]
    if card.quote_number:
        parts.append(t("orders.card_quote", number=card.quote_number))
    if order.cancel_reason:
        parts.append(t("orders.card_reason", reason=order.cancel_reason))
    totals = order.totals
    parts += ["", *lines_text(t, order, limit=CARD_LINES, shipped=True, totals=totals, locale=locale), "",
              *totals_text(t, totals)]
    for shipment in card.shipments:
        # "S<id>": the shipment's reference, e.g. for invoicing what it carried (`/invoice S12`).
        parts.append(t("orders.card_shipment", date=shipment.shipped_at.date().isoformat(),
                       carrier=shipment.carrier or "—", tracking=shipment.tracking or "—") + f" · S{shipment.id}")
    return "\n".join(parts)


def card_rows(t: Translate, actor: Actor, card: OrderCard) -> Rows:
    order = card.order
    rows: Rows = []
    if order.status in SHIPPABLE and actor.can("shipments.create"):
        rows.append([(t("orders.btn_ship_all"), f"or:ship:{order.id}"),
                     (t("orders.btn_ship_part"), f"or:part:{order.id}")])
    if order.status is OrderStatus.SHIPPED and actor.can("shipments.create"):
        rows.append([(t("orders.btn_delivered"), f"or:dlv:{order.id}")])
    if order.status is OrderStatus.PENDING_APPROVAL and actor.can("discounts.approve"):
        rows.append([(t("orders.btn_approve"), f"or:apv:{order.id}"), (t("orders.btn_reject"), f"or:rej:{order.id}")])
    last: list[Button] = []
    if len(order.lines) > CARD_LINES or card.shipments:
        last.append((t("orders.btn_lines"), f"or:lines:{order.id}"))
    if order.status in CANCELLABLE and actor.can("orders.create"):  # nothing shipped yet: may still change
        last.append((t("orders.btn_edit_order"), f"or:edit:{order.id}"))
    if order.status in CANCELLABLE and actor.can("orders.cancel"):
        last.append((t("orders.btn_cancel_order"), f"or:cxl:{order.id}"))
    if last:
        rows.append(last)
    rows.append([(short(f"🏢 {card.customer_name}", 40), f"cu:open:{order.customer_id}")])
    return rows


def all_lines_text(t: Translate, card: OrderCard, *, locale: str | None = None) -> str:
    order = card.order
    parts = [t("orders.lines_title", number=order.number), *lines_text(t, order, shipped=True, locale=locale)]
    for shipment in card.shipments:
        # "S<id>": the shipment's reference, e.g. for invoicing what it carried (`/invoice S12`).
        parts.append(t("orders.card_shipment", date=shipment.shipped_at.date().isoformat(),
                       carrier=shipment.carrier or "—", tracking=shipment.tracking or "—") + f" · S{shipment.id}")
        for position, quantity in sorted(shipment.quantities.items()):
            sku = order.lines[position].sku if position < len(order.lines) else "?"
            parts.append(f"  · {sku} × {quantity_text(quantity)}")
    return "\n".join(parts)


def row_label(row: OrderRow) -> str:
    return short(f"{STATUS_ICON[row.status]} {row.number} · {row.customer_name} · "
                 f"{money_text(Money(row.total, row.currency))}", 60)


def card_section(t: Translate, rows: Sequence[OrderRow]) -> str:
    """The customer card's lines about the latest orders ("" when there are none)."""
    if not rows:
        return ""
    return "\n".join([t("orders.section_title"),
                      *(t("orders.section_row", number=r.number, status=t(f"orders.status_{r.status.value}"),
                          amount=money_text(Money(r.total, r.currency)), date=r.created_at.date().isoformat())
                        for r in rows)])


def history_line(t: Translate, row: OrderRow) -> str:
    """An order among the customer's history (handlers/customers/actions.py)."""
    return t("orders.history_line", date=row.created_at.date().isoformat(), number=row.number,
             status=t(f"orders.status_{row.status.value}"), amount=money_text(Money(row.total, row.currency)))


def shipment_history_line(t: Translate, row: ShipmentRow) -> str:
    """A shipment among the customer's history, with its carrier and tracking number when it had them."""
    line = t("orders.shipment_history_line", date=row.shipped_at.date().isoformat(), reference=row.reference,
             number=row.order_number)
    if row.carrier is None and row.tracking is None:
        return line
    return t("orders.shipment_history_carrier", line=line, carrier=html.escape(row.carrier or "—"),
             tracking=html.escape(row.tracking or "—"))
