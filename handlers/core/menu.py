"""The command menu: the modules' commands (bot/modules), used for /help, for setMyCommands in each language, and
for the console."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm.organisation.permissions import Actor


@dataclass(frozen=True)
class Command:
    name: str
    description_key: str
    needs: str | None = None  # operation permission; None = every staff member


# Every module's commands are declared with the module (bot/modules); /cancel belongs to no module: it leaves
# whatever flow is open.
CANCEL = Command("cancel", "cmd.cancel")


def visible_commands(actor: Actor | None, commands: Sequence[Command]) -> list[Command]:
    if actor is None:
        return []
    return [c for c in commands if c.needs is None or actor.can(c.needs)]
