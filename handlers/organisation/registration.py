"""The organisation area in chat: /start, /help, /cancel, preferences, invites, roles, staff, departments."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.organisation import departments, invites, preferences, roles, staff, start


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0; it comes first, so its /cancel is the general one."""
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

