"""What a business module declares to be plugged in: one ``Module`` object per module, in ``bot/modules/``.

The composition root loops over the registry (``bot/modules/__init__.py``): it builds each module's services in
order (a module may use the services of the modules it ``requires``, which come earlier), then adds each one's
handlers, jobs and menu commands. See docs/architecture.md, "Adding a module".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Table
from telegram.ext import Application

from bot.settings import Settings
from crm.core.clock import Clock
from crm.core.events import MessageBus
from handlers.core.menu import Command
from outbound.dispatch_wiring import Sinks
from storage.uow import SqlUnitOfWorkFactory

App = Application[Any, Any, Any, Any, Any, Any]
T = TypeVar("T")


@dataclass
class Wiring:
    """What a module's ``build`` gets: settings, the database, the clock, and the modules built before it."""

    settings: Settings
    uow: SqlUnitOfWorkFactory
    clock: Clock
    sinks: Sinks | None = None  # stand-ins for absent outbound channels (console demo, tests)
    built: dict[str, object] = field(default_factory=dict)

    def need(self, kind: type[T]) -> T:
        """The services of a module built earlier, by their namespace type (``wiring.need(CustomersServices)``)."""
        for services in self.built.values():
            if isinstance(services, kind):
                return services
        raise LookupError(f"{kind.__name__} is not built yet: list its module earlier in the registry and in "
                          "this module's requires")


@dataclass(frozen=True)
class Module:
    name: str
    requires: tuple[str, ...]
    build: Callable[[Wiring], object]
    """The module's services namespace (``crm/<module>/module.py``), reached as ``services.<name>``."""
    operations: tuple[str, ...] = ()
    """The operation permissions this module owns (they are in ``crm.organisation.permissions.OPERATIONS``,
    whose order is what role buttons carry)."""
    commands: tuple[Command, ...] = ()
    handlers: tuple[Callable[[App], None], ...] = ()
    jobs: tuple[Callable[[App], None], ...] = ()
    tables: tuple[Table, ...] = ()
    subscribe: Callable[[MessageBus], None] | None = None
    """Subscribe the module's event handlers (``crm/<module>/subscribers.py``) before anything runs."""
