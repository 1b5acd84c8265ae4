"""The sales area in chat: the product catalog (/products, /product, /newproduct), the pipeline (/opportunity,
/pipeline), quotations (/quote, /quotes), discount approval (/discounts, /discountlimit) and their buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from crm.fields.model import FieldEntity
from handlers.customers import card_extras
from handlers.customers import importing as uploads
from handlers.fields import values as field_values
from handlers.sales import catalog as cat
from handlers.sales import create, product_import
from handlers.sales import discounts as disc
from handlers.sales import opportunities as opp
from handlers.sales import quote_new as qn
from handlers.sales import quotes as qt
from handlers.sales import stages as st


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("products", cat.products),
        CommandHandler("product", cat.product),
        CommandHandler("newproduct", create.new_product),
    ])
    app.add_handlers(_buttons("pr", {
        "open": cat.open_product, "card": cat.product_card, "photo": cat.photo, "more": cat.more_results,
        "edit": cat.edit_menu, "ef": cat.edit_field, "ev": cat.set_choice, "del": cat.delete,
        "delok": cat.delete_confirmed, "trash": cat.trash, "rst": cat.restore,
    }))
    app.add_handlers(_buttons("pc", {"cat": cat.category, "new": cat.new_category}))
    app.add_handlers(_buttons("np", {"save": create.save, "cancel": create.cancel}))
    app.add_handlers([CommandHandler("opportunity", opp.new_opportunity), CommandHandler("pipeline", opp.pipeline)])
    app.add_handlers(_buttons("op", {
        "new": opp.new_from_card, "open": opp.open_opportunity, "card": opp.opportunity_card, "mv": opp.move,
        "edit": opp.edit_menu, "ef": opp.edit_field,
    }))
    app.add_handlers(_buttons("opn", {"save": opp.save, "cancel": opp.cancel}))
    field_values.add_kind(opp.KIND, FieldEntity.OPPORTUNITY, "op:open")  # the card's 🧩 Fields
    app.add_handlers(_buttons("pl", {"team": opp.pipeline_team, "st": opp.stage_list}))
    app.add_handlers([CommandHandler("stages", st.stages)])
    app.add_handlers(_buttons("st", {
        "list": st.stage_list, "open": st.open_stage, "card": st.stage_card, "ef": st.edit_field, "up": st.move_up,
        "down": st.move_down, "new": st.new_stage, "add": st.add, "nocancel": st.cancel_new, "del": st.remove,
        "delok": st.remove_confirmed, "trash": st.trash, "rst": st.restore,
    }))
    # A product file sent to the bot (the customers module's upload handler asks which kind it is).
    uploads.add_kind(app, product_import.KIND)
    app.add_handlers(_buttons("pimp", {"run": product_import.run, "cancel": product_import.cancel}))
    # The customer card's "💼 Opportunity".
    card_extras.add(app, card_extras.CardExtra(button=opp.card_button))
    app.add_handlers([CommandHandler("quote", qn.new_quote), CommandHandler("quotes", qt.quotes),
                      CommandHandler("discounts", disc.waiting), CommandHandler("discountlimit", disc.discount_limit)])
    app.add_handlers(_buttons("qn", {
        "cu": qn.pick_customer, "for": qn.for_customer, "pr": qn.pick_product, "cat": qn.browse,
        "inc": qn.step_quantity, "dec": qn.step_quantity, "ld": qn.ask_line_discount, "add": qn.add_line,
        "rev": qn.review, "more": qn.more, "od": qn.ask_order_discount, "vu": qn.ask_valid_until, "save": qn.save,
        "x": qn.cancel,
    }))
    app.add_handlers(_buttons("qt", {
        "open": qt.open_quote, "card": qt.quote_card, "pdf": qt.pdf, "sent": qt.mark_sent, "acc": qt.accepted,
        "accok": qt.accepted_confirmed, "rej": qt.rejected, "del": qt.delete, "delok": qt.delete_confirmed,
        "ask": qt.ask, "em": qt.email, "emto": qt.email_to, "emgo": qt.email_go, "fx": qt.fax, "fxto": qt.fax_to,
        "fxgo": qt.fax_go,
    }))
    app.add_handlers(_buttons("ql", {"list": qt.quotes_page}))
    app.add_handlers(_buttons("da", {"ok": disc.approve, "no": disc.reject, "open": disc.open_request}))
    # The customer card's open quotes and "📝 Quote".
    card_extras.add(app, card_extras.CardExtra(section="quotes", items=qt.CARD_QUOTES, render=qt.card_section,
                                               button=qt.card_button, history=qt.history_entries))
