"""The expenses area in chat: /expense (also a receipt photo captioned /expense), /approvals, /expenses, /budget,
/expensereport, /project, /projects, /expensecategories and their buttons."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from crm.fields.model import FieldEntity
from handlers.expenses import budgets as bg
from handlers.expenses import categories as cat
from handlers.expenses import expenses as ex
from handlers.fields import values as field_values


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("expense", ex.new_expense),
        CommandHandler("approvals", ex.approvals),
        CommandHandler("expenses", ex.month),
        CommandHandler("budget", bg.budget),
        CommandHandler("expensereport", bg.report),
        CommandHandler("project", bg.new_project),
        CommandHandler("projects", bg.projects),
        CommandHandler("expensecategories", cat.categories),
        # A caption is not a command to Telegram: the photo's own handler reads it.
        MessageHandler(filters.PHOTO & filters.CaptionRegex(r"^/expense(@\w+)?(\s|$)"), ex.receipt_photo),
    ])
    app.add_handlers(_buttons("exn", {"save": ex.save, "cancel": ex.cancel, "prj": ex.picked_project}))
    field_values.add_kind(ex.KIND, FieldEntity.EXPENSE, "ex:open")  # the card's 🧩 Fields
    app.add_handlers(_buttons("ex", {"open": ex.open_expense, "ok": ex.approve, "no": ex.reject,
                                     "rcpt": ex.receipt, "month": ex.month_team, "edit": ex.edit_menu,
                                     "ef": ex.edit_field, "ec": ex.edit_category, "del": ex.delete_ask,
                                     "delok": ex.delete_ok, "undel": ex.restore}))
    app.add_handlers(_buttons("bgs", {"save": bg.budget_save, "cancel": bg.budget_cancel,
                                      "d": bg.guided_department, "c": bg.guided_category, "y": bg.guided_year}))
    app.add_handlers(_buttons("bg", {"prop": bg.proposal}))
    app.add_handlers(_buttons("er", {"x": bg.report_file}))
    app.add_handlers(_buttons("pjn", {"save": bg.project_save, "cancel": bg.project_cancel}))
    app.add_handlers(_buttons("pj", {"open": bg.open_project, "st": bg.project_status, "ren": bg.project_rename}))
    app.add_handlers(_buttons("ec", {"open": cat.open_category, "ren": cat.rename, "off": cat.deactivate,
                                     "on": cat.activate, "add": cat.add, "list": cat.categories}))
    app.add_handlers(_buttons("ecn", {"save": cat.save, "cancel": cat.cancel}))
