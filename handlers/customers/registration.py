"""The customers area in chat: create (guided or one line), find, open cards, edit, delete and restore.

The modules: ``customer_create`` (the /newcustomer and /newlead flow), ``customer_search`` (/find, plain
text, /customers, shared contacts), ``customer_actions`` (card buttons, /trash), ``customer_views`` (rendering).
Plain text with no flow waiting reaches ``customer_search.search_text`` through ``handlers.core.text``.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.core import text
from handlers.customers import actions as act
from handlers.customers import create, team
from handlers.customers import search as find


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    # Plain text with no question waiting for it looks someone up (handlers/core/text.py asks us).
    text.on_plain_text(app, find.search_text)
    app.add_handlers(create.handlers())
    app.add_handlers([
        CommandHandler("find", find.find),
        CommandHandler("customers", team.my_customers),
        CommandHandler("trash", act.trash),
        MessageHandler(filters.CONTACT, find.on_contact),
    ])
    app.add_handlers(_buttons("cu", {
        "open": act.open_customer, "card": act.customer_card, "edit": act.edit_menu, "ef": act.edit_field,
        "ev": act.set_choice, "efok": act.save_anyway, "more": act.more, "hist": act.history,
        "own": act.owner_menu, "setown": act.set_owner, "del": act.delete, "delok": act.delete_confirmed,
        "addct": act.add_contact, "trash": act.trash, "rst": act.restore, "find": find.find_page,
        "list": team.my_customers, "team": team.team_customers,
    }))
    app.add_handlers(_buttons("ct", {
        "open": act.open_contact, "card": act.contact_card, "edit": act.contact_edit_menu,
        "ef": act.contact_edit_field, "del": act.contact_delete, "delok": act.contact_delete_confirmed,
    }))
    app.add_handlers(_buttons("ld", {
        "open": act.open_lead, "card": act.lead_card, "q": act.qualify, "cv": act.convert, "drop": act.drop,
    }))
    app.add_handlers(_buttons("cs", {
        "lead": find.shared_as_lead, "contact": find.shared_as_contact, "to": find.shared_to_customer,
    }))
