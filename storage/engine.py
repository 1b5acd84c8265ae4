"""Engine creation: one place that knows the differences between SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import sqlite_inline

try:
    from sqlalchemy.util import await_
except ImportError:  # SQLAlchemy 2.0 names it await_only
    from sqlalchemy.util import await_only as await_

# The database holds every customer's name, phone and history: a new one is readable by its owner only. An
# existing file or folder keeps whatever mode the operator gave it.
DATA_DIR_MODE = 0o700
DATABASE_FILE_MODE = 0o600


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        return _sqlite_engine(url, echo)
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_engine(url: str, echo: bool) -> AsyncEngine:
    parsed = make_url(url)
    path = parsed.database or ":memory:"
    if path != ":memory:" and not path.startswith("file:"):
        create_private_file(Path(path).expanduser())
    # Statements run inline on the loop thread (storage/sqlite_inline.py), not on aiosqlite's worker thread.
    # A small pool: statements run inline, so few connections are ever busy at once, and each idle one keeps
    # its own page cache in memory.
    engine = create_async_engine(url, echo=echo, async_creator=sqlite_inline.creator(path), pool_size=2,
                                 max_overflow=8)
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection._connection._conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # No blocking wait inside SQLite: waiting for the write lock happens in begin_immediate, which yields
        # (for up to sqlite_inline.LOCK_WAIT_SECONDS).
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Every transaction takes the write lock up front (BEGIN IMMEDIATE) unless it declared itself a reader:
        # a deferred transaction that later writes fails at once with SQLITE_BUSY instead of waiting its turn.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        raw = connection.connection.driver_connection._conn
        if mode == "IMMEDIATE":
            await_(sqlite_inline.begin_immediate(lambda: raw.execute("BEGIN IMMEDIATE")))
        else:
            raw.execute(f"BEGIN {mode}")

    return engine


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with DATABASE_FILE_MODE (and its missing folder with DATA_DIR_MODE) unless it exists.

    SQLite accepts an empty file as a new database, and gives its -wal and -shm files the database file's mode.
    """
    if not path.parent.exists():
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(mode=DATA_DIR_MODE)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_FILE_MODE))
