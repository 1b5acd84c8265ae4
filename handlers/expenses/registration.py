"""The expenses area in chat: /expense (also a receipt photo captioned /expense), /approvals, /expenses and
their buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.expenses import expenses as ex


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("expense", ex.new_expense),
        CommandHandler("approvals", ex.approvals),
        CommandHandler("expenses", ex.month),
        # A caption is not a command to Telegram: the photo's own handler reads it.
        MessageHandler(filters.PHOTO & filters.CaptionRegex(r"^/expense(@\w+)?(\s|$)"), ex.receipt_photo),
    ])
    app.add_handlers(_buttons("exn", {"save": ex.save, "cancel": ex.cancel}))
    app.add_handlers(_buttons("ex", {"open": ex.open_expense, "ok": ex.approve, "no": ex.reject,
                                     "rcpt": ex.receipt, "month": ex.month_team}))
