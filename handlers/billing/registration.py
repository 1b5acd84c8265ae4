"""The billing area in chat: /invoice, /payment, /receivables, the invoice card and its buttons, and what a
customer owes on their card."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.billing import invoices as bi
from handlers.billing import payments as bp
from handlers.customers import card_extras


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    card_extras.add(app, card_extras.CardExtra(section="owed", items=5, render=bi.card_section,
                                               button=bi.card_button, history=bi.history_entries))
    app.add_handlers([
        CommandHandler("invoice", bi.new_invoice),
        CommandHandler("payment", bp.new_payment),
        CommandHandler("receivables", bi.receivables),
    ])
    app.add_handlers(_buttons("bn", {"cust": bi.picked_customer, "issue": bi.issue, "due": bi.ask_due,
                                     "cancel": bi.cancel}))
    app.add_handlers(_buttons("bi", {"open": bi.open_invoice, "pdf": bi.pdf, "void": bi.ask_void,
                                     "cust": bi.customer_invoices, "pay": bp.pay_invoice,
                                     "terms": bi.ask_terms}))
    app.add_handlers(_buttons("bp", {"cust": bp.picked_customer, "m": bp.picked_method, "inv": bp.toggle,
                                     "done": bp.done, "choose": bp.choose, "save": bp.save, "cancel": bp.cancel,
                                     "rev": bp.ask_reverse}))
