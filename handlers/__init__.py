"""All handlers, registered in one place so their order and groups are visible.

Group -1 resolves the user for every update and stops strangers; group 0 holds commands, buttons and, last,
the fallbacks. Note: order matters — the first matching handler in a group wins.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.core import text
from handlers.core.errors import on_error
from handlers.customers import importing
from handlers.customers import registration as customers
from handlers.followups import followups
from handlers.messaging import campaigns, mailing_labels, messaging, subscriptions
from handlers.organisation import departments, identity, invites, preferences, roles, staff, start
from handlers.segments import segments


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Group -2: any command but /cancel leaves the current flow before anything else sees it (handlers/core/flow.py).
    app.add_handler(MessageHandler(filters.COMMAND, text.leave_on_command), group=-2)
    app.add_handler(TypeHandler(Update, identity.resolve_actor), group=-1)

    app.add_handlers([
        CommandHandler("start", start.start),
        CommandHandler("help", start.help_command),
        CommandHandler("cancel", start.cancel),
        CommandHandler("me", preferences.me),
        CommandHandler("language", preferences.language),
        CommandHandler("timezone", preferences.timezone),
        CommandHandler("invite", invites.invite),
        CommandHandler(["users", "staff", "deactivate"], staff.list_users),
        CommandHandler("departments", departments.list_departments),
        CommandHandler("roles", roles.list_roles),
    ])
    app.add_handlers(_buttons("lang", {"set": preferences.set_language}))
    app.add_handlers(_buttons("inv", {
        "start": invites.invite, "role": invites.pick_role, "dep": invites.pick_department,
        "open": invites.open_invites, "rev": invites.revoke,
    }))
    app.add_handlers(_buttons("rl", {
        "list": roles.list_roles, "view": roles.view_role, "area": roles.view_area,
        "perm": roles.toggle_permission, "scopes": roles.view_scopes, "scope": roles.cycle_scope,
        "new": roles.new_role, "copy": roles.copy_role, "ren": roles.rename_role, "del": roles.delete_role,
        "delok": roles.delete_role_confirmed, "trash": roles.deleted_roles, "undel": roles.restore_role,
    }))
    app.add_handlers(_buttons("us", {
        "list": staff.list_users, "view": staff.view_user, "role": staff.role_menu, "setrole": staff.set_role,
        "dep": staff.department_menu, "setdep": staff.set_department, "off": staff.deactivate,
        "offok": staff.deactivate_confirmed, "on": staff.reactivate,
    }))
    app.add_handlers(_buttons("dp", {
        "list": departments.list_departments, "view": departments.view_department,
        "new": departments.new_department, "ren": departments.rename_department,
        "del": departments.delete_department, "trash": departments.deleted_departments,
        "undel": departments.restore_department,
    }))

    # Feature areas, each registering its own commands, buttons and flows.
    for area in (customers, followups, segments, importing, messaging, campaigns, subscriptions, mailing_labels):
        area.register(app)

    # Fallbacks last: a known command or button never reaches them.
    app.add_handlers([
        MessageHandler(filters.COMMAND, text.unknown_command),
        MessageHandler(filters.TEXT, text.on_text),
        CallbackQueryHandler(_stale_button),
        MessageHandler(filters.ALL, text.on_other),
    ])
    app.add_error_handler(on_error)  # type: ignore[arg-type]


async def _stale_button(update: Update, context: Any) -> None:
    """A button from an old message whose flow no longer exists: answer it so it stops spinning."""
    from handlers.core.common import answer

    await answer(update.callback_query, context.t("error.stale_button"), alert=True)
