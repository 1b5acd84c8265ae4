"""The SQLite database on disk: a new one is private to its owner, an operator's own modes are kept, and the
lock-waiting described in docs/decisions.md is the one the engine sets up."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from sqlalchemy import text

from storage import sqlite_inline
from storage.engine import create_engine

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_database_and_folder_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'crm.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(p.name for p in data.iterdir())
        assert files == ["crm.db", "crm.db-shm", "crm.db-wal"]
        assert _mode(data) == 0o700
        assert {name: _mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        await engine.dispose()


async def test_existing_folder_and_file_keep_their_modes(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)
    (shared / "crm.db").touch()
    (shared / "crm.db").chmod(0o640)
    engine = create_engine(f"sqlite+aiosqlite:///{shared / 'crm.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _mode(shared) == 0o750 and _mode(shared / "crm.db") == 0o640
    finally:
        await engine.dispose()


async def test_lock_wait_is_ours_and_documented(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 0
    finally:
        await engine.dispose()
    decisions = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    section = decisions.split("## SQLite transaction mode", 1)[1].split("\n## ", 1)[0]
    assert "`busy_timeout=0`" in section and "LOCK_WAIT_SECONDS" in section
    assert re.search(rf"\b{sqlite_inline.LOCK_WAIT_SECONDS:g} s\b", section)
