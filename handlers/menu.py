"""The command menu: one list, used for /help, for setMyCommands in each language, and for the console."""

from __future__ import annotations

from dataclasses import dataclass

from crm.permissions import Actor


@dataclass(frozen=True)
class Command:
    name: str
    description_key: str
    needs: str | None = None  # operation permission; None = every staff member


COMMANDS: tuple[Command, ...] = (
    Command("start", "cmd.start"),
    Command("help", "cmd.help"),
    Command("me", "cmd.me"),
    Command("language", "cmd.language"),
    Command("timezone", "cmd.timezone"),
    Command("invite", "cmd.invite", "users.invite"),
    Command("users", "cmd.users", "users.view"),
    Command("departments", "cmd.departments", "users.view"),
    Command("roles", "cmd.roles", "roles.manage"),
    Command("cancel", "cmd.cancel"),
)


def visible_commands(actor: Actor | None) -> list[Command]:
    if actor is None:
        return []
    return [c for c in COMMANDS if c.needs is None or actor.can(c.needs)]
