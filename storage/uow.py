"""Unit of work over one database connection and transaction.

Reads can share one transaction for a whole Telegram update (``SqlUnitOfWorkFactory.shared_reads``): who is
asking, the search, the card — each a unit of work of its own in the services, but one connection and one
BEGIN/ROLLBACK for the update instead of one per service call (~0.1 ms of CPU each on SQLite, a fair part of an
update's budget). A write commits on its own connection as always, and ends the shared read transaction
(once no read is in progress), so what is read after a commit sees it — SQLite's WAL readers otherwise keep
the snapshot of their first read. Only the task that opened the scope shares it: a task started meanwhile
gets units of work of its own, as asyncpg allows one operation at a time per connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import Clock
from crm.core.events import Event, MessageBus
from storage.announcements.group import AnnouncementsRepositories
from storage.billing.group import BillingRepositories
from storage.competitors.group import CompetitorsRepositories
from storage.contracts.group import ContractsRepositories
from storage.customers.group import CustomerRepositories
from storage.digests.group import DigestsRepositories
from storage.engine import is_sqlite
from storage.expenses.group import ExpensesRepositories
from storage.fields.group import FieldsRepositories
from storage.followups.group import FollowUpRepositories
from storage.hr.group import HrRepositories
from storage.messaging.group import MessagingRepositories
from storage.office.group import OfficeRepositories
from storage.orders.group import OrdersRepositories
from storage.organisation.group import OrganisationRepositories
from storage.organisation.repositories import SqlAuditRepository
from storage.sales.group import SalesRepositories
from storage.segments.group import SegmentRepositories
from storage.segments.repositories import SqlSettingsStore
from storage.service.group import ServiceRepositories

_G = TypeVar("_G")


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, write: bool,
                 shared: _SharedReads | None = None, bus: MessageBus | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._write = write
        self._sqlite = engine.dialect.name == "sqlite"
        self._conn: AsyncConnection | None = None
        self._shared = shared  # a writer ends this scope's read transaction when it commits
        self._groups: dict[str, object] = {}
        self._bus = bus
        self._events: list[Event] = []  # recorded since the last commit; dropped unless committed

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn

    # Each module's repositories, grouped and built when first used: an update that only asks who the user is
    # builds one repository, not all of them.
    @property
    def organisation(self) -> OrganisationRepositories:
        return self._group("organisation", OrganisationRepositories)

    @property
    def customers(self) -> CustomerRepositories:
        return self._group("customers", CustomerRepositories)

    @property
    def fields(self) -> FieldsRepositories:
        return self._group("fields", FieldsRepositories)

    @property
    def followups(self) -> FollowUpRepositories:
        return self._group("followups", FollowUpRepositories)

    @property
    def segments(self) -> SegmentRepositories:
        return self._group("segments", SegmentRepositories)

    @property
    def messaging(self) -> MessagingRepositories:
        return self._group("messaging", MessagingRepositories)

    @property
    def sales(self) -> SalesRepositories:
        return self._group("sales", SalesRepositories)

    @property
    def orders(self) -> OrdersRepositories:
        return self._group("orders", OrdersRepositories)

    @property
    def expenses(self) -> ExpensesRepositories:
        return self._group("expenses", ExpensesRepositories)

    @property
    def billing(self) -> BillingRepositories:
        return self._group("billing", BillingRepositories)

    @property
    def contracts(self) -> ContractsRepositories:
        return self._group("contracts", ContractsRepositories)

    @property
    def announcements(self) -> AnnouncementsRepositories:
        return self._group("announcements", AnnouncementsRepositories)

    @property
    def service(self) -> ServiceRepositories:
        return self._group("service", ServiceRepositories)

    @property
    def competitors(self) -> CompetitorsRepositories:
        return self._group("competitors", CompetitorsRepositories)

    @property
    def hr(self) -> HrRepositories:
        return self._group("hr", HrRepositories)

    @property
    def office(self) -> OfficeRepositories:
        return self._group("office", OfficeRepositories)

    @property
    def digests(self) -> DigestsRepositories:
        return self._group("digests", DigestsRepositories)

    @property
    def audit(self) -> SqlAuditRepository:
        return self._group("audit", lambda conn, now: SqlAuditRepository(conn, now))

    @property
    def kv(self) -> SqlSettingsStore:
        return self._group("kv", lambda conn, now: SqlSettingsStore(conn))

    def _group(self, name: str, build: Callable[[AsyncConnection, Callable[[], datetime]], _G]) -> _G:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = build(self.connection, self._clock.now)
        return group  # type: ignore[return-value]  # built by ``build`` under this name

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        if self._sqlite:
            await conn.execution_options(sqlite_begin="IMMEDIATE" if self._write else "DEFERRED")
        await conn.begin()
        self._conn = conn
        self._groups.clear()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._events = []  # never committed: nobody hears of them
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def suspend(self) -> None:
        """End the transaction but keep the connection and repositories, for ``resume``.

        On SQLite only the database's transaction ends: SQLAlchemy's stays open on the kept connection, and
        ``resume`` starts the next one on the driver. A read transaction's BEGIN and ROLLBACK cost SQLite ~1 µs;
        through SQLAlchemy's begin and rollback (events, pool, greenlet) they cost ~0.1 ms — on every update."""
        if self._conn is None or not self._conn.in_transaction():
            return
        if self._sqlite:
            raw = self._driver()
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            return
        await self._conn.rollback()

    async def resume(self) -> None:
        if self._sqlite and self.connection.in_transaction():
            self._driver().execute("BEGIN DEFERRED")  # what storage/engine.py's "begin" listener does for readers
            return
        await self.connection.begin()

    def _driver(self) -> Any:
        return self.connection.sync_connection.connection.driver_connection._conn  # type: ignore[union-attr]

    def record(self, event: Event) -> None:
        """Something happened in this unit of work: the bus hears of it on ``commit`` (see crm/core/events.py)."""
        self._events.append(event)

    async def commit(self) -> None:
        events, self._events = self._events, []
        if events and self._bus is not None:
            self._events = events  # what handlers record joins the round in progress
            try:
                # The port's repository attributes are read-write, so mypy wants their exact types: SqlX is not X.
                await self._bus.run_in_transaction(self, events)
            except Exception:
                # Roll back here, not only in __aexit__: a caller catching the error must not commit half of it.
                await self.connection.rollback()
                raise
            finally:
                self._events = []
        await self.connection.commit()
        if self._shared is not None:
            await self._shared.refresh()
        if events and self._bus is not None:
            await self._bus.run_after_commit(events)


class _SharedReads:
    def __init__(self, factory: SqlUnitOfWorkFactory, *, keep: bool) -> None:
        self._factory = factory
        self._keep = keep  # leave the unit of work with the factory for the next scope, connection and all
        self.task = asyncio.current_task()
        self._uow: SqlUnitOfWork | None = None
        self._readers = 0
        self._stale = False
        self.closed = False

    async def enter(self) -> SqlUnitOfWork:
        if self._uow is None:
            self._uow = await self._factory._reader(self._keep)
        self._readers += 1
        return self._uow

    async def leave(self, failed: bool) -> None:
        self._readers -= 1
        # After an error the transaction may be unusable (PostgreSQL aborts it): start afresh next time.
        if self._readers == 0 and (failed or self._stale):
            await self.end(failed=failed)

    async def refresh(self) -> None:
        """Something was committed: later reads must see it."""
        if self._readers:
            self._stale = True  # a read in progress keeps its snapshot, as its own transaction would
        else:
            await self.end()

    async def end(self, *, failed: bool = False) -> None:
        uow, self._uow, self._stale = self._uow, None, False
        if uow is not None:
            await self._factory._done_reading(uow, keep=self._keep and not failed)


class _SharedReader:
    """What a service's ``uow(write=False)`` gets inside a shared scope."""

    def __init__(self, scope: _SharedReads) -> None:
        self._scope = scope

    async def __aenter__(self) -> SqlUnitOfWork:
        return await self._scope.enter()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._scope.leave(exc_type is not None)


_SHARED: ContextVar[_SharedReads | None] = ContextVar("crm_shared_reads", default=None)


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, bus: MessageBus | None = None) -> None:
        self.engine = engine
        self._clock = clock
        self.bus = bus if bus is not None else MessageBus()  # bot/app.py subscribes the modules to it
        self._idle: SqlUnitOfWork | None = None  # a reader kept between shared scopes (SQLite only)

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        scope = _SHARED.get()
        if scope is not None and (scope.closed or scope.task is not asyncio.current_task()):
            scope = None
        if scope is not None and not write:
            return _SharedReader(scope)  # type: ignore[return-value]  # enters as the shared unit of work
        return SqlUnitOfWork(self.engine, self._clock, write=write, shared=scope, bus=self.bus)

    @asynccontextmanager
    async def shared_reads(self, *, keep_connection: bool = False) -> AsyncIterator[None]:
        """Reads of this task share one transaction until the block ends (see the module docstring).

        ``keep_connection``: on SQLite, the connection (and the unit of work around it) then stays checked out
        for the next scope — a BEGIN and a ROLLBACK per update instead of a connect and a close as well (~0.2 ms
        of CPU). ``close()`` gives it back. PostgreSQL connections always go back to the pool, whose pre-ping
        notices a server restart."""
        current = _SHARED.get()
        if current is not None and not current.closed and current.task is asyncio.current_task():
            yield  # already inside one
            return
        scope = _SharedReads(self, keep=keep_connection and self.engine.dialect.name == "sqlite")
        token = _SHARED.set(scope)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            scope.closed = True
            _SHARED.reset(token)
            await scope.end(failed=failed)

    async def _reader(self, keep: bool) -> SqlUnitOfWork:
        idle, self._idle = self._idle, None
        if keep and idle is not None:
            try:
                await idle.resume()
                return idle
            except Exception:  # a kept connection gone bad: a fresh one below
                await idle.__aexit__(None, None, None)
        elif idle is not None:
            self._idle = idle
        uow = SqlUnitOfWork(self.engine, self._clock, write=False, bus=self.bus)
        await uow.__aenter__()
        return uow

    async def _done_reading(self, uow: SqlUnitOfWork, *, keep: bool) -> None:
        if keep and self._idle is None:
            await uow.suspend()
            self._idle = uow
        else:
            await uow.__aexit__(None, None, None)

    async def close(self) -> None:
        """Give back the connection kept between shared scopes, if any."""
        idle, self._idle = self._idle, None
        if idle is not None:
            await idle.__aexit__(None, None, None)


__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory", "is_sqlite"]
