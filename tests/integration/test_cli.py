"""`crmbot migrate` and `crmbot backup` as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return tmp_path / "data"


def test_migrate_then_backup(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0  # idempotent
    target = data_dir.parent / "backups" / "crm.db"
    assert main(["backup", str(target)]) == 0
    with sqlite3.connect(target) as db:
        names = {r[0] for r in db.execute("select name from roles")}
    assert {"admin", "manager", "rep", "reviewer", "finance"} <= names
    assert "Backed up" in capsys.readouterr().out


def test_backup_on_postgresql_explains_pg_dump(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://crm:s3cret@db.internal:5432/crm")
    assert main(["backup", "out.dump"]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err and "s3cret" not in err


def test_bad_settings_exit_with_a_clear_message(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Nowhere/Land")
    assert main(["migrate"]) == 2
    assert "DEFAULT_TIMEZONE" in capsys.readouterr().err
