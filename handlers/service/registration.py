"""The service area in chat: /ticket, /tickets, the customer card's 🛠 Ticket and the ticket buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from crm.fields.model import FieldEntity
from handlers.customers import card_extras
from handlers.fields import values as field_values
from handlers.service import tickets as tk


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([CommandHandler("ticket", tk.new_ticket), CommandHandler("tickets", tk.listing),
                     CommandHandler("ticketreport", tk.report)])
    app.add_handlers(_buttons("tkn", {"save": tk.save, "cancel": tk.cancel, "sev": tk.severity, "pick": tk.pick,
                                      "c": tk.from_card}))
    app.add_handlers(_buttons("tk", {"open": tk.open_ticket, "mv": tk.move, "upd": tk.ask_update,
                                     "note": tk.ask_note, "att": tk.ask_attachment, "asg": tk.assign_menu,
                                     "to": tk.assign, "list": tk.listing_page, "prod": tk.ask_product,
                                     "pp": tk.picked_product, "ord": tk.order_menu, "po": tk.picked_order}))
    app.add_handlers(_buttons("tke", {"send": tk.send_entry, "cancel": tk.cancel_entry}))
    card_extras.add(app, card_extras.CardExtra(button=tk.card_button))
    field_values.add_kind(tk.KIND, FieldEntity.TICKET, "tk:open")  # the card's 🧩 Fields
