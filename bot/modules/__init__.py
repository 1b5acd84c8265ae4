"""The module registry: every business module, in the order they are built and their handlers registered.

A module comes after the modules it requires. Adding one: docs/architecture.md, "Adding a module".
"""

from __future__ import annotations

from bot.module import Module
from bot.modules import (
    announcements,
    billing,
    competitors,
    contracts,
    customers,
    digests,
    expenses,
    fields,
    followups,
    hr,
    messaging,
    office,
    orders,
    organisation,
    sales,
    segments,
    service,
)
from handlers.core.menu import CANCEL, Command

MODULES: tuple[Module, ...] = (
    organisation.MODULE,
    customers.MODULE,
    segments.MODULE,
    fields.MODULE,
    followups.MODULE,
    messaging.MODULE,
    sales.MODULE,
    orders.MODULE,
    billing.MODULE,
    expenses.MODULE,
    contracts.MODULE,
    announcements.MODULE,
    service.MODULE,
    competitors.MODULE,
    hr.MODULE,  # after every module that adds a KPI source
    office.MODULE,
    digests.MODULE,  # last: every other module has added its digest sections
)


def commands() -> tuple[Command, ...]:
    """The command menu: each module's commands in registry order, /cancel last."""
    return (*(command for module in MODULES for command in module.commands), CANCEL)


def check_order(modules: tuple[Module, ...] = MODULES) -> None:
    """Every module after the ones it requires: what it builds on is built and registered first."""
    seen: set[str] = set()
    for module in modules:
        missing = [name for name in module.requires if name not in seen]
        if missing:
            raise ValueError(f"module {module.name!r} requires {missing}, which must come earlier in the registry")
        if module.name in seen:
            raise ValueError(f"module {module.name!r} is registered twice")
        seen.add(module.name)
