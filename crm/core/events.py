"""Domain events inside the process: one module says what happened, others react without being called.

A service records an event on the unit of work it writes in (``uow.record(CustomerCreated(...))``). The unit of
work's ``commit()`` hands them to the ``MessageBus`` in two phases:

* **in transaction** — before COMMIT, in the same unit of work: the handler gets the uow and may write and record
  further events (handled in the same round, after the ones already waiting). An exception rolls everything
  back, the service's own writes included: use it for what must be true together with the change.
* **after commit** — once COMMIT succeeded: for telling people and other systems. A failure is logged and does not
  undo the commit (it is already done); nothing runs when the transaction rolled back. These handlers run before
  the service call returns, so they should be quick, or hand the work to the outbox.

Handlers subscribe per event class; a handler for a base class also hears its subclasses. Order is the order of
subscription, events in the order recorded. See docs/decisions.md, "Domain events".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)

# Events raised by handlers of events raised by handlers ...: a chain this deep is a cycle between subscribers
# (A's handler records B, B's records A), not a business process.
MAX_DEPTH = 10


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened, in the past tense. Carries ids and the facts subscribers need, not whole rows."""

    occurred_at: datetime


E = TypeVar("E", bound=Event)

InTransactionHandler = Callable[[E, Any], Awaitable[None]]
AfterCommitHandler = Callable[[E], Awaitable[None]]


class EventCycleError(RuntimeError):
    """Handlers kept raising events beyond ``MAX_DEPTH``; the transaction is rolled back."""


class MessageBus:
    def __init__(self, *, max_depth: int = MAX_DEPTH) -> None:
        self._max_depth = max_depth
        # Stored untyped per class; ``_for`` only hands a handler events of the class it subscribed to.
        self._in_transaction: list[tuple[type[Event], Callable[[Any, Any], Awaitable[None]]]] = []
        self._after_commit: list[tuple[type[Event], Callable[[Any], Awaitable[None]]]] = []
        self._cache: dict[tuple[bool, type[Event]], tuple[Callable[..., Awaitable[None]], ...]] = {}

    def in_transaction(self, event_type: type[E], handler: InTransactionHandler[E]) -> None:
        self._in_transaction.append((event_type, handler))
        self._cache.clear()

    def after_commit(self, event_type: type[E], handler: AfterCommitHandler[E]) -> None:
        self._after_commit.append((event_type, handler))
        self._cache.clear()

    def _for(self, after: bool, event_type: type[Event]) -> tuple[Callable[..., Awaitable[None]], ...]:
        key = (after, event_type)
        found = self._cache.get(key)
        if found is None:
            table: Sequence[tuple[type[Event], Callable[..., Awaitable[None]]]] = (
                self._after_commit if after else self._in_transaction)
            found = self._cache[key] = tuple(h for t, h in table if issubclass(event_type, t))
        return found

    async def run_in_transaction(self, uow: Any, pending: list[Event]) -> None:
        """Handle ``pending`` in order; what handlers record (``uow.record`` appends to ``pending``) is handled
        too, so that afterwards ``pending`` holds every event of the transaction. A queue, not recursion: a
        long chain costs no stack."""
        depths = [0] * len(pending)
        index = 0
        while index < len(pending):
            event, depth = pending[index], depths[index]
            index += 1
            for handler in self._for(False, type(event)):
                await handler(event, uow)
            if len(pending) > len(depths):
                if depth >= self._max_depth:
                    raise EventCycleError(f"events still raised {depth + 1} levels below the first, last "
                                          f"{type(pending[-1]).__name__} while handling {type(event).__name__}")
                depths.extend([depth + 1] * (len(pending) - len(depths)))

    async def run_after_commit(self, events: Sequence[Event]) -> None:
        for event in events:
            for handler in self._for(True, type(event)):
                try:
                    await handler(event)
                except Exception:
                    # Committed is committed: one failing reaction must not hide the others or fail the caller.
                    log.exception("after-commit handler %s failed for %r", _name(handler), event)


def _name(handler: Callable[..., object]) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


__all__ = ["MAX_DEPTH", "AfterCommitHandler", "Event", "EventCycleError", "InTransactionHandler", "MessageBus"]
