"""`crmbot import customers FILE`: dry run, all-or-nothing, --skip-invalid, --owner and --as-staff."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from crm.core.clock import ManualClock
from storage import tables as t
from storage.customers.spreadsheets import write_xlsx
from storage.engine import create_engine
from tests.conftest import START, migrated_engine
from tests.support.org import make_org


def _customers(url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(t.customers.c.name, t.customers.c.owner_id))
                return {name: owner for name, owner in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, int]]:
    """A database with Ada (admin) and Ned (rep, username ned_w); the CLI reads it from DATABASE_URL."""
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def setup() -> dict[str, int]:
        engine = await migrated_engine(url)
        try:
            org = await make_org(engine, ManualClock(START))
            ned = await org.join(org.admin, 3002, "Ned", "rep", org.north)
            async with org.services.uow() as uow:
                await uow.organisation.staff.update(ned.staff_id, username="ned_w")
                await uow.commit()
            return {"Ada": org.admin.staff_id, "Ned": ned.staff_id}
        finally:
            await engine.dispose()

    ids = asyncio.run(setup())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return url, ids


def test_dry_run_all_or_nothing_and_skip_invalid(company: tuple[str, dict[str, int]], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url, ids = company
    sheet = tmp_path / "客戶.xlsx"
    sheet.write_bytes(write_xlsx(["名稱", "手機", "負責人"], [
        ["台積電", "0912 345 678", "@ned_w"], ["鴻海", "0922 000 111", ""], ["壞的", "12", ""]]))

    assert main(["import", "customers", str(sheet), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "客戶.xlsx: 3 rows — 2 valid, 1 with problems (0 duplicates)" in out
    assert "Row 4, 手機: “12” is not a valid phone number" in out and "Dry run: nothing was saved." in out
    assert _customers(url) == {}

    assert main(["import", "customers", str(sheet)]) == 1
    assert "--skip-invalid" in capsys.readouterr().err
    assert _customers(url) == {}

    assert main(["import", "customers", str(sheet), "--skip-invalid"]) == 0
    assert "Imported 2 customers; 1 rows were skipped" in capsys.readouterr().out
    assert _customers(url) == {"台積電": ids["Ned"], "鴻海": ids["Ada"]}  # default owner: the first admin


def test_owner_and_acting_staff(company: tuple[str, dict[str, int]], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    url, ids = company
    sheet = tmp_path / "list.csv"
    sheet.write_text("Name,Phone\nAcme,0912 345 678\n", encoding="utf-8")

    assert main(["import", "customers", str(sheet), "--as-staff", "Nobody"]) == 2
    assert "No active staff member “Nobody”" in capsys.readouterr().err
    assert main(["import", "customers", str(sheet), "--as-staff", "Ned"]) == 1  # reps may not import
    assert "permission" in capsys.readouterr().err
    assert main(["import", "customers", str(sheet), "--owner", "Someone"]) == 1
    assert "“Someone”" in capsys.readouterr().err
    assert main(["import", "customers", str(tmp_path / "missing.csv")]) == 2
    assert _customers(url) == {}

    assert main(["import", "customers", str(sheet), "--owner", "@ned_w", "--as-staff", str(ids["Ada"])]) == 0
    assert _customers(url) == {"Acme": ids["Ned"]}
