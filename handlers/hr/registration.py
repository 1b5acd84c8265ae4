"""The HR area in chat: /hr, /mykpi, /teamkpi and the buttons of records, events, reviews and targets."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.hr import records as rec
from handlers.hr import reviews as rev


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("hr", rec.hr_command),
        CommandHandler("mykpi", rev.mykpi),
        CommandHandler("teamkpi", rev.teamkpi),
    ])
    routes: dict[str, Any] = {
        "open": rec.open_card, "list": rec.list_page, "tl": rec.timeline, "file": rec.send_file,
        "edit": rec.edit_menu, "ef": rec.edit_field, "st": rec.set_status, "es": rec.edit_save, "ex": rec.edit_cancel,
        "ev": rec.event_menu, "ek": rec.event_kind, "ed": rec.event_department, "eg": rec.event_save,
        "off": rec.finish_departure,
        "my": rev.mykpi_period, "tm": rev.teamkpi_period, "kp": rev.person_kpi, "kq": rev.person_kpi_period,
        "rv": rev.review_start, "rp": rev.review_period, "rs": rev.review_score, "rg": rev.review_submit,
        "rx": rev.review_cancel, "ack": rev.acknowledge,
        "tg": rev.targets_menu, "tk": rev.target_measure, "tt": rev.target_kind, "ts": rev.target_save,
        "tx": rev.review_cancel,
    }
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^hr:{verb}(:|$)") for verb, func in routes.items()])
