"""The announcements area in chat: /announce, /board and their buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.announcements import board as bd
from handlers.announcements import compose as co


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([CommandHandler("announce", co.announce), CommandHandler("board", bd.show_board)])
    app.add_handlers(_buttons("an", {"aud": co.pick_audience, "dep": co.pick_department, "role": co.pick_role,
                                     "now": co.now_button, "pin": co.pin_button, "ok": co.publish, "no": co.cancel,
                                     "pv": co.preview_button}))
    app.add_handlers(_buttons("ae", {"ok": co.save_edit, "no": co.cancel_edit}))
    app.add_handlers(_buttons("ann", {
        "board": bd.show_board, "open": bd.open_announcement, "read": bd.got_it, "file": bd.attachment,
        "mine": bd.mine, "adm": bd.manage, "rd": bd.readers, "ed": co.start_edit, "wd": bd.ask_withdraw,
        "wdok": bd.withdraw, "rs": bd.restore}))
