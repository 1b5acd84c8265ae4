"""Shared fixtures: a migrated database on SQLite and (when CRM_TEST_DATABASE_URL is set) PostgreSQL."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.tables import metadata

PG_URL = os.environ.get("CRM_TEST_DATABASE_URL")
START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Taipei, a Thursday

_pg_migrated = False


def _backends() -> list[object]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/crm.db"
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set CRM_TEST_DATABASE_URL to run these tests on PostgreSQL too")
    return PG_URL


_pg_lock: IO[str] | None = None


def _take_database_turn(url: str) -> None:
    """Two test runs on one PostgreSQL database would wipe each other's data; the second waits its turn."""
    global _pg_lock
    if _pg_lock is None:
        # Keyed by the database, not the URL's spelling: "localhost" and "127.0.0.1", with or without a driver
        # or a password, are the same database, and two runs that took different locks wiped each other's data.
        parsed = make_url(url)
        host = {"localhost": "127.0.0.1", "::1": "127.0.0.1"}.get(parsed.host or "", parsed.host or "")
        where = f"{host}:{parsed.port or 5432}/{parsed.database or ''}"
        name = hashlib.sha1(where.encode()).hexdigest()[:12]
        _pg_lock = open(Path(tempfile.gettempdir()) / f"crmbot-tests-{name}.lock", "w")  # noqa: SIM115
        fcntl.flock(_pg_lock, fcntl.LOCK_EX)  # held until this process exits


async def migrated_engine(url: str) -> AsyncEngine:
    global _pg_migrated
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        _take_database_turn(url)
        if not _pg_migrated:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await upgrade(engine)
            _pg_migrated = True
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await conn.execute(text("INSERT INTO org_state (id, version) VALUES (1, 0)"))
    else:
        await upgrade(engine)
    return engine


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = await migrated_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
