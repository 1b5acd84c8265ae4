"""The competitors area in chat: /competitors, /competitor, /intel (also a photo captioned /intel or #intel, and a
text starting #intel), the opportunity card's "⚔️ Competitors" and the lost opportunity's question."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.competitors import competitors as cp
from handlers.competitors import intel, intel_edit
from handlers.sales import card_extras

# A caption is not a command to Telegram: the photo's own handler reads it. /expense captions are the expenses
# module's; these start /intel or #intel, so the two never match the same photo.
INTEL_TAG = r"(?i)^(/intel(@\w+)?|#intel)(\s|$)"


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("intel", intel.new_intel),
        CommandHandler("competitors", cp.competitors),
        CommandHandler("competitor", cp.competitor),
        MessageHandler(filters.PHOTO & filters.CaptionRegex(INTEL_TAG), intel.tagged),
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.Regex(r"(?i)^#intel(\s|$)"), intel.tagged),
    ])
    app.add_handlers(_buttons("cpi", {"save": intel.save, "cancel": intel.cancel, "new": intel.create_competitor,
                                      "pick": intel.pick_competitor}))
    app.add_handlers(_buttons("cp", {"open": cp.open_card, "pg": cp.card_page, "list": cp.list_page,
                                     "trash": cp.trash, "edit": cp.edit_menu, "ef": cp.edit_field,
                                     "prod": cp.product_ask, "del": cp.delete_ask, "delok": cp.delete_ok,
                                     "rst": cp.restore, "ph": cp.photo}))
    app.add_handlers(_buttons("cie", {"open": intel_edit.open_intel, "f": intel_edit.ask_field,
                                      "k": intel_edit.kind, "del": intel_edit.delete, "rst": intel_edit.restore}))
    app.add_handlers(_buttons("cpp", {"save": cp.product_save, "cancel": cp.product_cancel}))
    app.add_handlers(_buttons("cpo", {"ls": cp.links, "tg": cp.toggle, "nm": cp.ask_name, "new": cp.create_named,
                                      "pk": cp.pick_named, "x": cp.cancel_named,
                                      "ty": cp.typed_before}))
    app.add_handlers(_buttons("cpl", {"w": cp.won_by, "o": cp.won_by_other, "n": cp.won_by_nobody,
                                      "skip": cp.skip_why}))
    card_extras.add(app, cp.opportunity_button)
