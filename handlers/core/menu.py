"""The command menu: the modules' commands (bot/modules), used for /help, for setMyCommands in each language, and
for the console."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crm.organisation.permissions import Actor


@dataclass(frozen=True)
class Command:
    name: str
    description_key: str
    # An operation permission, or a test on the actor for what no single operation says (a scope wider than
    # their own); None = every staff member. Only hides the command: its handler and service still check.
    needs: str | Callable[[Actor], bool] | None = None


# Every module's commands are declared with the module (bot/modules); /cancel belongs to no module: it leaves
# whatever flow is open.
CANCEL = Command("cancel", "cmd.cancel")


def visible_commands(actor: Actor | None, commands: Sequence[Command]) -> list[Command]:
    if actor is None:
        return []
    return [c for c in commands if shown_to(actor, c)]


def shown_to(actor: Actor, command: Command) -> bool:
    if command.needs is None:
        return True
    if isinstance(command.needs, str):
        return actor.can(command.needs)
    return command.needs(actor)
