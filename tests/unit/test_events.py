"""The message bus alone: who hears what, in which order, and what a failing handler does."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from crm.core.events import Event, EventCycleError, MessageBus
from crm.unit_of_work import UnitOfWork

AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ordered(Event):
    number: int


@dataclass(frozen=True)
class Shipped(Event):
    number: int


@dataclass(frozen=True)
class RushOrdered(Ordered):
    pass


class _Recording:
    """What the bus needs of a unit of work: handlers record into the list the bus is working through."""

    def __init__(self, pending: list[Event]) -> None:
        self.pending = pending

    def record(self, event: Event) -> None:
        self.pending.append(event)


def _uow(pending: list[Event]) -> UnitOfWork:
    return cast(UnitOfWork, _Recording(pending))


async def test_handlers_run_in_subscription_order_per_event_in_recorded_order() -> None:
    bus = MessageBus()
    heard: list[str] = []

    async def first(event: Ordered, uow: UnitOfWork) -> None:
        heard.append(f"first {event.number}")

    async def second(event: Ordered, uow: UnitOfWork) -> None:
        heard.append(f"second {event.number}")

    async def shipped(event: Shipped, uow: UnitOfWork) -> None:
        heard.append(f"shipped {event.number}")

    bus.in_transaction(Ordered, first)
    bus.in_transaction(Shipped, shipped)
    bus.in_transaction(Ordered, second)
    pending: list[Event] = [Ordered(1, occurred_at=AT), Shipped(1, occurred_at=AT), Ordered(2, occurred_at=AT)]
    await bus.run_in_transaction(_uow(pending), pending)
    assert heard == ["first 1", "second 1", "shipped 1", "first 2", "second 2"]


async def test_a_handler_of_a_base_class_hears_its_subclasses_and_nobody_hears_unsubscribed_events() -> None:
    bus = MessageBus()
    heard: list[Event] = []

    async def any_event(event: Event) -> None:
        heard.append(event)

    async def rush(event: RushOrdered) -> None:
        heard.append(event)

    bus.after_commit(Event, any_event)
    bus.after_commit(RushOrdered, rush)
    plain, urgent = Ordered(1, occurred_at=AT), RushOrdered(2, occurred_at=AT)
    await bus.run_after_commit([plain, urgent])
    assert heard == [plain, urgent, urgent]
    await MessageBus().run_after_commit([plain])  # no subscribers: nothing to do, nothing fails


async def test_events_raised_by_handlers_are_handled_after_those_already_waiting() -> None:
    bus = MessageBus()
    heard: list[str] = []

    async def ship(event: Ordered, uow: UnitOfWork) -> None:
        heard.append(f"ordered {event.number}")
        uow.record(Shipped(event.number, occurred_at=AT))

    async def shipped(event: Shipped, uow: UnitOfWork) -> None:
        heard.append(f"shipped {event.number}")

    bus.in_transaction(Ordered, ship)
    bus.in_transaction(Shipped, shipped)
    pending: list[Event] = [Ordered(1, occurred_at=AT), Ordered(2, occurred_at=AT)]
    await bus.run_in_transaction(_uow(pending), pending)
    # A queue: the second order is handled before the first one's shipment, and the list ends up holding all four
    # for the after-commit phase.
    assert heard == ["ordered 1", "ordered 2", "shipped 1", "shipped 2"]
    assert pending == [Ordered(1, occurred_at=AT), Ordered(2, occurred_at=AT), Shipped(1, occurred_at=AT),
                       Shipped(2, occurred_at=AT)]


async def test_a_long_chain_is_handled_without_recursion_but_a_cycle_is_stopped() -> None:
    bus = MessageBus(max_depth=500)

    async def countdown(event: Ordered, uow: UnitOfWork) -> None:
        if event.number > 0:
            uow.record(Ordered(event.number - 1, occurred_at=AT))

    bus.in_transaction(Ordered, countdown)
    pending: list[Event] = [Ordered(500, occurred_at=AT)]
    await bus.run_in_transaction(_uow(pending), pending)
    assert [e.number for e in cast(list[Ordered], pending)] == list(range(500, -1, -1))

    cyclic = MessageBus()

    async def reorder(event: Shipped, uow: UnitOfWork) -> None:
        uow.record(Ordered(event.number, occurred_at=AT))

    async def reship(event: Ordered, uow: UnitOfWork) -> None:
        uow.record(Shipped(event.number, occurred_at=AT))

    cyclic.in_transaction(Shipped, reorder)
    cyclic.in_transaction(Ordered, reship)
    pending = [Ordered(1, occurred_at=AT)]
    with pytest.raises(EventCycleError, match="Shipped"):
        await cyclic.run_in_transaction(_uow(pending), pending)
    assert len(pending) == 12  # the first event and ten levels below it handled; the eleventh level refused


async def test_wide_fan_out_is_not_mistaken_for_a_cycle() -> None:
    bus = MessageBus(max_depth=1)

    async def ship(event: Ordered, uow: UnitOfWork) -> None:
        uow.record(Shipped(event.number, occurred_at=AT))

    bus.in_transaction(Ordered, ship)
    pending: list[Event] = [Ordered(n, occurred_at=AT) for n in range(2000)]
    await bus.run_in_transaction(_uow(pending), pending)
    assert len(pending) == 4000


async def test_an_after_commit_failure_is_logged_and_the_other_handlers_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    bus = MessageBus()
    heard: list[Any] = []

    async def broken(event: Ordered) -> None:
        raise ConnectionError("SMS gateway down")

    async def working(event: Ordered) -> None:
        heard.append(event.number)

    bus.after_commit(Ordered, broken)
    bus.after_commit(Ordered, working)
    with caplog.at_level(logging.ERROR, logger="crm.core.events"):
        await bus.run_after_commit([Ordered(1, occurred_at=AT), Ordered(2, occurred_at=AT)])
    assert heard == [1, 2]
    failures = [r for r in caplog.records if "broken" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None
    assert "Ordered(occurred_at=" in failures[0].getMessage()


async def test_an_in_transaction_failure_propagates() -> None:
    bus = MessageBus()

    async def refuse(event: Ordered, uow: UnitOfWork) -> None:
        raise ValueError("credit limit exceeded")

    bus.in_transaction(Ordered, refuse)
    pending: list[Event] = [Ordered(1, occurred_at=AT)]
    with pytest.raises(ValueError, match="credit limit"):
        await bus.run_in_transaction(_uow(pending), pending)


def test_events_are_frozen_values() -> None:
    event = Ordered(1, occurred_at=AT)
    assert event == Ordered(1, occurred_at=AT)
    with pytest.raises(AttributeError):
        event.number = 2  # type: ignore[misc]
