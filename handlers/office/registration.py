"""My office in chat: /docs, /event, /schedule, /calendar, the "File it" offer for a file or photo nothing else
took, and their buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.customers import card_extras
from handlers.office import documents as docs
from handlers.office import schedule as sch
from handlers.sales import card_extras as opportunity_extras
from handlers.service import card_extras as ticket_extras


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("docs", docs.docs),
        CommandHandler("event", sch.new_event),
        CommandHandler("schedule", sch.show_schedule),
        CommandHandler("calendar", sch.calendar),
        # Note: order matters — registered after the modules before this one, so a spreadsheet (an import) and a
        # photo captioned /intel or /expense are theirs; a file while a question is open goes to that question.
        MessageHandler(filters.ChatType.PRIVATE & (filters.Document.ALL | filters.PHOTO)
                       & ~filters.CaptionRegex(r"^/"), docs.sent_file),
    ])
    app.add_handlers(_buttons("ofd", {"file": docs.start_filing, "skip": docs.skip, "vis": docs.pick_visibility,
                                      "save": docs.save, "cancel": docs.cancel, "open": docs.open_card,
                                      "send": docs.send_again, "del": docs.delete, "rst": docs.restore,
                                      "pg": docs.list_page, "lk": docs.linked}))
    card_extras.add(app, card_extras.CardExtra(button=docs.card_button))
    opportunity_extras.add(app, docs.opportunity_button)
    ticket_extras.add(app, docs.ticket_button)
    app.add_handlers(_buttons("ofe", {"save": sch.save, "cancel": sch.cancel, "acc": sch.accept,
                                      "dec": sch.decline, "del": sch.delete, "rst": sch.restore,
                                      "open": sch.open_event, "ed": sch.ask_edit,
                                      "esave": sch.save_edit, "ecancel": sch.cancel_edit}))
    app.add_handlers(_buttons("ofs", {"d": sch.day_page, "w": sch.week_page, "img": sch.week_image}))
