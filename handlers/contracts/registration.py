"""The contracts area in chat: /contract, /contracts, the card's buttons and the customer card's section."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.contracts import cards, new
from handlers.customers import card_extras

CARD_CONTRACTS = 5


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("contract", new.new_contract),
        CommandHandler("contracts", cards.list_contracts),
    ])
    app.add_handlers(_buttons("ktn", {"cu": new.picked_customer, "skip": new.skip_file, "save": new.save,
                                      "cancel": new.cancel}))
    app.add_handlers(_buttons("kt", {
        "list": cards.list_page, "open": cards.open_card, "card": cards.back_to_card, "file": cards.send_file,
        "edit": cards.edit_menu, "ef": cards.ask_field, "att": cards.ask_attach, "renew": cards.renew,
        "rnok": cards.renew_confirmed, "rnd": cards.renew_dates, "term": cards.terminate, "del": cards.delete,
        "delok": cards.delete_confirmed, "trash": cards.trash, "rst": cards.restore}))
    card_extras.add(app, card_extras.CardExtra(section="contracts", items=CARD_CONTRACTS, render=cards.card_section))
