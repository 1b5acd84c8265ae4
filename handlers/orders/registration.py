"""The orders area in chat: /order, /orders, the order card's buttons, the customer card's latest orders, and the
message telling a rep that an accepted quotation became an order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.fields.model import FieldEntity
from crm.orders.discounts import KIND
from crm.orders.events import OrderFromQuote
from handlers.customers import card_extras
from handlers.fields import values as field_values
from handlers.orders import orders as od
from handlers.orders import sales as sr
from outbound.telegram_send import Outcome, deliver
from views.orders.orders import card_rows, card_section, card_text, history_line, shipment_history_line
from views.sales import quotes as discount_cards

log = logging.getLogger(__name__)
CARD_ORDERS = 3  # orders on the customer card


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def _section(context: CrmContext, rows: Sequence[Any]) -> str:
    return card_section(context.t, rows)


async def _history(context: CrmContext, customer_id: int) -> list[tuple[datetime, str]]:
    actor = context.actor
    if actor is None or not actor.can("sales.view"):
        return []
    orders = context.services.orders.orders
    rows = await orders.of_customer(actor, customer_id)
    shipments = await orders.shipments_of_customer(actor, customer_id)
    return [*((row.created_at, history_line(context.t, row)) for row in rows),
            *((row.shipped_at, shipment_history_line(context.t, row)) for row in shipments)]


def _tell_owner(app: Application[Any, Any, Any, Any, Any, Any]) -> Any:
    """After the acceptance committed: the order's card to its owner, in their language. A message that does not
    arrive is logged; the order is there under /orders all the same."""

    async def told(event: OrderFromQuote) -> None:
        services = app.bot_data["services"]
        owner = await services.organisation.identity.actor_by_staff_id(event.owner_id)
        if owner is None or owner.telegram_user_id is None:
            return
        card = await services.orders.orders.card(owner, event.order_id)

        def t(key: str, /, **params: Any) -> str:
            text: str = app.bot_data["i18n"].t(owner.locale, key, **params)
            return text

        text = t("orders.from_quote", quote=card.quote_number or "", number=card.order.number) + "\n\n" + \
            card_text(t, card, locale=owner.locale)
        delivery = await deliver(app.bot, owner.telegram_user_id, text, card_rows(t, owner, card))
        if delivery.outcome is not Outcome.SENT:
            log.warning("could not tell staff %s about order %s: %s", owner.staff_id, event.order_id, delivery.error)

    return told


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # The discount-approval push's "open" button leads to the order card (views/sales/quotes.py).
    discount_cards.CARD_PREFIX[KIND] = od.ORDER.prefix
    field_values.add_kind(od.KIND, FieldEntity.ORDER, "or:open")  # the card's 🧩 Fields
    app.add_handlers([CommandHandler("order", od.new_order), CommandHandler("orders", od.orders),
                      CommandHandler("sales", sr.sales)])
    app.add_handlers(_buttons("sr", {"x": sr.sales_file}))
    app.add_handlers(_buttons("orn", {
        "cu": od.picked_customer, "last": od.same_as_last, "cat": od.category, "p": od.picked_product,
        "q": od.change_quantity, "rm": od.remove_line, "add": od.add_more, "rev": od.review, "when": od.ask_when,
        "nodate": od.no_date, "ok": od.confirmed, "x": od.cancel_draft,
    }))
    app.add_handlers(_buttons("or", {
        "open": od.open_order, "card": od.order_card, "lines": od.lines, "ship": od.ship_all, "part": od.ship_part,
        "dlv": od.delivered, "cxl": od.cancel_order, "apv": od.approve_discount, "rej": od.reject_discount,
        "list": od.orders, "edit": od.edit_order,
    }))
    app.add_handlers(_buttons("ors", {
        "q": od.ship_quantity, "next": od.ship_next, "none": od.no_tracking, "go": od.ship_go, "x": od.ship_cancel,
    }))
    card_extras.add(app, card_extras.CardExtra(section="orders", items=CARD_ORDERS, render=_section,
                                               history=_history))
    app.bot_data["services"].uow.bus.after_commit(OrderFromQuote, _tell_owner(app))
