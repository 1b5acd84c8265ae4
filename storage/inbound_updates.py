"""Webhook updates, stored before Telegram is told they arrived (docs/decisions.md, "Webhook updates").

Telegram delivers an update again until it gets a 2xx, so an update is durable once this table holds it: the
webhook answers 200 only after the INSERT committed, and a worker handles the stored updates in ``update_id``
order and marks each handled. The primary key drops an update delivered twice, also across a restart; handled
rows are kept a week for that (Telegram gives up on an update after 24 hours) and then pruned.
"""

from __future__ import annotations

import sqlite3
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Table, Text, bindparam, delete, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert

from storage import sqlite_inline
from storage.metadata import metadata
from storage.types import UTCDateTime

__all__ = ["KEEP_HANDLED", "InboundUpdates", "inbound_updates"]

inbound_updates = Table(
    "inbound_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),  # the update's JSON as Telegram sent it
    Column("received_at", UTCDateTime(timezone=True), nullable=False),
    Column("handled_at", UTCDateTime(timezone=True), nullable=True, index=True),
)

KEEP_HANDLED = timedelta(days=7)

# Built once: every update is stored and marked through these, and SQLAlchemy memoises a statement object's cache
# key, where a statement built per call pays for its key and bind coercion each time.
_UNHANDLED = (select(inbound_updates.c.update_id, inbound_updates.c.body)
              .where(inbound_updates.c.handled_at.is_(None))
              .order_by(inbound_updates.c.update_id).limit(bindparam("limit")))
# On SQLite, storing and marking go straight to the driver (storage/sqlite_inline.py): two writes per update,
# each ~0.4 ms of CPU through SQLAlchemy's connection and transaction machinery against ~50 µs for SQLite.
_SQLITE_STORE = ("INSERT INTO inbound_updates (update_id, body, received_at) VALUES (?, ?, ?) "
                 "ON CONFLICT (update_id) DO NOTHING")
_SQLITE_MARK = "UPDATE inbound_updates SET handled_at = ? WHERE update_id = ?"


def _sqlite_time(at: datetime) -> str:
    """As SQLAlchemy's SQLite DateTime stores it (naive UTC, microseconds always written)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


_MARK = (update(inbound_updates).where(inbound_updates.c.update_id == bindparam("id"))
         .values(handled_at=bindparam("at")))


class InboundUpdates:
    """The table's operations; each is its own committed transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = self._insert_statement(engine.dialect.name)
        # A file database: an in-memory one (some tests) is only reachable through the engine's pool.
        database = engine.url.database or ""
        self._sqlite = engine.dialect.name == "sqlite" and database not in ("", ":memory:") \
            and not database.startswith("file:")
        self._conn: sqlite3.Connection | None = None

    @staticmethod
    def _insert_statement(dialect: str) -> Insert:
        values: dict[str, Any] = {
            "update_id": bindparam("id"), "body": bindparam("body"), "received_at": bindparam("at")}
        if dialect == "postgresql":
            return pg_insert(inbound_updates).values(values).on_conflict_do_nothing(index_elements=["update_id"])
        if dialect == "sqlite":
            return sqlite_insert(inbound_updates).values(values).on_conflict_do_nothing(index_elements=["update_id"])
        return insert(inbound_updates).values(values)

    async def store(self, update_id: int, body: str, *, now: datetime | None = None) -> bool:
        """Keep the update; False when this update_id was stored before (a redelivery: nothing to do)."""
        return bool(await self.store_many([(update_id, body)], now=now))

    async def store_many(self, updates: list[tuple[int, str]], *, now: datetime | None = None) -> list[int]:
        """Keep a batch in one transaction (a long poll's); returns the update_ids that were new."""
        received_at = now or datetime.now(UTC)
        if self._sqlite:
            at = _sqlite_time(received_at)
            counts = await self._sqlite_write(_SQLITE_STORE, [(update_id, body, at) for update_id, body in updates])
            return [update_id for (update_id, _), count in zip(updates, counts, strict=True) if count]
        stored = []
        async with self._engine.begin() as conn:
            for update_id, body in updates:
                result = await conn.execute(self._insert, {"id": update_id, "body": body, "at": received_at})
                if result.rowcount:
                    stored.append(update_id)
        return stored

    async def unhandled(self, limit: int = 100) -> list[tuple[int, str]]:
        """Stored updates not handled yet, oldest update_id first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(_UNHANDLED, {"limit": limit})
            return [(int(update_id), str(body)) for update_id, body in rows]

    async def mark_handled(self, update_id: int, *, now: datetime | None = None) -> None:
        if self._sqlite:
            await self._sqlite_write(_SQLITE_MARK, [(_sqlite_time(now or datetime.now(UTC)), update_id)])
            return
        async with self._engine.begin() as conn:
            await conn.execute(_MARK, {"id": update_id, "at": now or datetime.now(UTC)})

    async def prune(self, *, now: datetime | None = None) -> int:
        """Forget handled updates older than KEEP_HANDLED; returns how many."""
        cutoff = (now or datetime.now(UTC)) - KEEP_HANDLED
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(inbound_updates).where(
                inbound_updates.c.handled_at.is_not(None), inbound_updates.c.received_at < cutoff))
        return int(result.rowcount or 0)

    async def _sqlite_write(self, sql: str, rows: list[tuple[Any, ...]]) -> list[int]:
        """One write transaction, taking the write lock as every writer does (BEGIN IMMEDIATE, waiting without
        blocking the loop); the rows each statement changed."""
        conn = self._sqlite_connection()
        await sqlite_inline.begin_immediate(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            counts = [conn.execute(sql, row).rowcount for row in rows]
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return counts

    def _sqlite_connection(self) -> sqlite3.Connection:
        """This table's own connection, opened as the engine opens its own (storage/engine.py) and closed with
        the engine: going through the engine's pool for each write cost more than the write."""
        if self._conn is None:
            path = self._engine.url.database
            assert path, "an in-memory SQLite database has no second connection"
            conn = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
            event.listen(self._engine.sync_engine, "engine_disposed", lambda _engine: self.close())
            weakref.finalize(self, conn.close)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
