"""Storage mechanics on SQLite and PostgreSQL: migrations match the tables, types round-trip exactly,
conversation state survives a restart, and SQLite is configured for concurrent use."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from storage.ptb_persistence import SqlPersistence
from storage.tables import metadata
from storage.types import ExactDecimal, UTCDateTime
from storage.uow import SqlUnitOfWorkFactory


async def test_migrations_create_exactly_the_declared_tables(engine: AsyncEngine) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_money_and_time_round_trip_exactly(engine: AsyncEngine) -> None:
    scratch = MetaData()
    table = Table("scratch_values", scratch, Column("id", Integer, primary_key=True),
                  Column("amount", ExactDecimal()), Column("currency", String(3)), Column("at", UTCDateTime()))
    async with engine.begin() as conn:
        await conn.run_sync(scratch.create_all)
    taipei = timezone(timedelta(hours=8))
    amount = Decimal("12345678901234.5678")
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(table).values(id=1, amount=amount, currency="TWD",
                                                    at=datetime(2026, 12, 3, 14, 0, tzinfo=taipei)))
        async with engine.connect() as conn:
            row = (await conn.execute(select(table))).one()
        assert row.amount == amount and isinstance(row.amount, Decimal)
        assert row.at == datetime(2026, 12, 3, 6, 0, tzinfo=UTC) and row.at.tzinfo is not None
        with pytest.raises(Exception, match="float"):
            async with engine.begin() as conn:
                await conn.execute(insert(table).values(id=2, amount=1.1, currency="TWD"))
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(scratch.drop_all)


async def test_conversation_and_user_data_survive_a_restart(engine: AsyncEngine) -> None:
    first = SqlPersistence(engine)
    await first.update_conversation("newcustomer", (42, 42), 3)
    await first.update_user_data(42, {"pending": {"kind": "role.create"}, "draft": {"name": "台積電"}})
    await first.update_user_data(43, {"x": 1})
    await first.update_conversation("newcustomer", (43, 43), 1)
    await first.update_conversation("newcustomer", (43, 43), None)  # conversation ended

    second = SqlPersistence(engine)  # a new process
    assert await second.get_conversations("newcustomer") == {(42, 42): 3}
    data = await second.get_user_data()
    assert data[42]["draft"] == {"name": "台積電"} and data[43] == {"x": 1}
    await second.drop_user_data(43)
    assert 43 not in await SqlPersistence(engine).get_user_data()


async def test_read_only_units_of_work_do_not_block_writers(engine: AsyncEngine) -> None:
    uow = SqlUnitOfWorkFactory(engine, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    async with uow(write=False) as reader:
        await reader.organisation.state.version()
        async with uow() as writer:
            await writer.organisation.state.bump()
            await writer.commit()
    async with uow(write=False) as reader:
        assert await reader.organisation.state.version() == 1


async def test_sqlite_pragmas_are_set(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only settings")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        # Lock waits happen in storage/sqlite_inline.begin_immediate, which yields to the event loop.
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 0


async def test_concurrent_writers_wait_instead_of_failing(engine: AsyncEngine) -> None:
    """Write transactions start with BEGIN IMMEDIATE on SQLite: concurrent bumps all land, none is lost."""
    uow = SqlUnitOfWorkFactory(engine, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))

    async def bump() -> None:
        async with uow() as w:
            await w.organisation.state.version()
            await asyncio.sleep(0.005)  # hold the transaction open while others queue up
            await w.organisation.state.bump()
            await w.commit()

    await asyncio.gather(*(bump() for _ in range(10)))
    async with uow(write=False) as r:
        assert await r.organisation.state.version() == 10


async def test_unchanged_user_data_is_not_rewritten(engine: AsyncEngine) -> None:
    persistence = SqlPersistence(engine)
    writes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "ptb_data" in statement and statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            writes.append(statement)

    from sqlalchemy import event

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await persistence.update_user_data(7, {"draft": {"name": "Acme"}})
        first = len(writes)
        assert first >= 1
        await persistence.update_user_data(7, {"draft": {"name": "Acme"}})  # PTB offers it again, unchanged
        assert len(writes) == first
        await persistence.update_user_data(7, {"draft": {"name": "Acme Ltd"}})
        changed = len(writes)
        assert changed > first
        reloaded = SqlPersistence(engine)
        assert (await reloaded.get_user_data())[7] == {"draft": {"name": "Acme Ltd"}}
        await reloaded.update_user_data(7, {"draft": {"name": "Acme Ltd"}})
        assert len(writes) == changed  # a restarted process knows what is stored too
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_prepared_reads_return_what_sqlalchemy_returns(engine: AsyncEngine) -> None:
    """The hot-path reads skip SQLAlchemy on SQLite: same values, same types (aware datetimes, decoded JSON)."""
    from sqlalchemy import JSON, bindparam

    from storage.prepared import Prepared, Probe

    scratch = MetaData()
    table = Table("scratch_prepared", scratch, Column("id", Integer, primary_key=True),
                  Column("name", String(50)), Column("tags", JSON), Column("at", UTCDateTime(timezone=True)))
    at = datetime(2026, 3, 8, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    async with engine.begin() as conn:
        await conn.run_sync(scratch.create_all)
        await conn.execute(insert(table), [{"id": 1, "name": "王大明", "tags": ["vip", "重点"], "at": at},
                                           {"id": 2, "name": None, "tags": None, "at": None}])
    statement = (select(table, (table.c.id * 10).label("tenfold"))
                 .where(table.c.id >= bindparam("low"), table.c.name.is_not(None) | (table.c.id == 2))
                 .order_by(table.c.id))
    prepared = Prepared(statement)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            expected = [tuple(r) for r in await conn.execute(statement, {"low": 1})]
            for _ in range(2):  # compiled once, then reused
                got = await prepared.rows(conn, {"low": 1})
                assert [tuple(r) for r in got] == expected
            assert got[0].name == "王大明" and got[0].tags == ["vip", "重点"] and got[0].tenfold == 10
            assert got[0].at == at and got[0].at.tzinfo is not None
            assert (await prepared.first(conn, {"low": 3})) is None
            probe = Probe(table.c.name)
            assert await probe.any(conn, "王大明") and not await probe.any(conn, "王大")
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(scratch.drop_all)


async def test_an_updates_reads_share_one_transaction_and_see_what_it_commits(engine: AsyncEngine) -> None:
    uow = SqlUnitOfWorkFactory(engine, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    async with uow.shared_reads():
        async with uow(write=False) as first:
            assert await first.organisation.state.version() == 0
            connection = first.connection
        async with uow(write=False) as second:
            assert second.connection is connection  # no new connection, no new BEGIN
            assert await second.organisation.state.version() == 0
            async with uow() as writer:  # a write inside a read: the read keeps its own snapshot
                await writer.organisation.state.bump()
                await writer.commit()
        async with uow(write=False) as third:  # after the commit: a fresh transaction that sees it
            assert third.connection is not connection
            assert await third.organisation.state.version() == 1
        async with uow() as writer:
            await writer.organisation.state.bump()
            await writer.commit()
        async with uow(write=False) as fourth:
            assert await fourth.organisation.state.version() == 2

        async def elsewhere() -> object:
            async with uow(write=False) as other:  # another task: a unit of work of its own
                await other.organisation.state.version()
                return other.connection

        assert await asyncio.create_task(elsewhere()) is not fourth.connection

        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
            async with uow(write=False) as failing:
                await failing.connection.execute(text("SELECT * FROM no_such_table"))
        async with uow(write=False) as after:  # PostgreSQL aborted that transaction: a new one
            assert await after.organisation.state.version() == 2
    async with uow(write=False) as outside:  # the scope is over: units of work of their own again
        assert await outside.organisation.state.version() == 2


async def test_the_bot_keeps_its_read_connection_between_updates_on_sqlite(engine: AsyncEngine) -> None:
    uow = SqlUnitOfWorkFactory(engine, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    sqlite = engine.dialect.name == "sqlite"
    try:
        async with uow.shared_reads(keep_connection=True), uow(write=False) as first:
            assert await first.organisation.state.version() == 0
            connection = first.connection
        if sqlite:  # between updates the kept connection holds no snapshot: nothing stops a checkpoint
            assert connection.sync_connection is not None
            driver = connection.sync_connection.connection.driver_connection
            assert driver is not None and not driver._conn.in_transaction
        async with uow() as writer:  # between two updates, someone else writes
            await writer.organisation.state.bump()
            await writer.commit()
        if sqlite and engine.url.database not in (None, "", ":memory:"):
            with closing(sqlite3.connect(engine.url.database)) as other:
                busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        async with uow.shared_reads(keep_connection=True), uow(write=False) as second:
            assert (second.connection is connection) is sqlite  # PostgreSQL's go back to the pool
            assert await second.organisation.state.version() == 1  # a new transaction: it sees the write
        with pytest.raises(RuntimeError):
            async with uow.shared_reads(keep_connection=True), uow(write=False) as failing:
                await failing.organisation.state.version()
                raise RuntimeError("a handler failed")
        async with uow.shared_reads(keep_connection=True), uow(write=False) as after:
            assert after.connection is not connection  # not kept after a failure
            assert await after.organisation.state.version() == 1
    finally:
        await uow.close()
    assert uow._idle is None
