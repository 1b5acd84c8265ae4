"""Importing products: headers in English or Chinese, a per-row report, all rows or none; and the CLI
(`crmbot import products FILE [--dry-run]`)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from crm.core.clock import ManualClock
from crm.core.errors import DomainError, PermissionDenied
from storage import tables as t
from storage.engine import create_engine
from tests.conftest import START, migrated_engine
from tests.support.org import make_org

GOOD = "料號,品名,分類,單價,幣別,稅率,成本\nA-1,螺絲起子,Tools,120,TWD,5,80\nb-2,六角螺栓,,15.5,,0,\n"
BAD = "sku,name,price\nA-1,Widget,12\nA-1,Widget again,13\nC-3,Bad price,abc\n,No sku,1\n"


async def test_plan_reports_every_row_and_run_writes_all_or_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    rep = await org.join(org.admin, 3002, "Ned", "rep", org.north)
    finance = await org.join(org.admin, 3003, "Fay", "finance", org.north)
    importing, catalog = org.services.sales.importing, org.services.sales.catalog
    await catalog.create_category(manager, "Tools")

    plan = await importing.plan_file(manager, GOOD.encode(), "products.csv")
    assert (plan.total, plan.valid, plan.errors) == (2, 2, ())
    assert "料號 → sku" in plan.columns and "單價 → list_price" in plan.columns

    bad = await importing.plan_file(manager, BAD.encode(), "bad.csv")
    assert [(e.row, e.key) for e in bad.errors] == [(3, "sales.import_sku_twice"), (4, "sales.error_amount"),
                                                    (5, "error.field_required")]
    with pytest.raises(DomainError):
        await importing.run_file(manager, BAD.encode(), "bad.csv")
    assert (await catalog.search(manager, "widget")).products == ()  # not even the good row

    with pytest.raises(PermissionDenied):
        await importing.plan_file(rep, GOOD.encode(), "products.csv")
    assert await importing.run_file(manager, GOOD.encode(), "products.csv") == 2
    bolt = (await catalog.find(manager, "B-2")).products[0]
    assert bolt.name == "六角螺栓" and bolt.list_price == Decimal("15.5") and bolt.currency == "TWD"
    screwdriver = (await catalog.search(manager, "起子")).products[0]
    assert screwdriver.cost == Decimal("80") and screwdriver.category_id is not None
    again = await importing.plan_file(manager, GOOD.encode(), "products.csv")
    assert {e.key for e in again.errors} == {"sales.error_sku_taken"}
    # Finance may see costs but not manage the catalog; a manager without prices.view_cost could not set them.
    with pytest.raises(PermissionDenied):
        await importing.plan_file(finance, GOOD.encode(), "products.csv")


def _skus(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return sorted(str(sku) for sku in (await conn.execute(select(t.products.c.sku))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_cli_dry_run_then_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def setup() -> None:
        engine = await migrated_engine(url)
        try:
            org = await make_org(engine, ManualClock(START))
            await org.services.sales.catalog.create_category(org.admin, "Tools")
        finally:
            await engine.dispose()

    asyncio.run(setup())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    bad, good = tmp_path / "bad.csv", tmp_path / "產品.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")

    assert main(["import", "products", str(bad)]) == 1
    out = capsys.readouterr()
    assert "Row 3" in out.out and "nothing was imported" in out.err and _skus(url) == []
    assert main(["import", "products", str(good), "--dry-run"]) == 0
    assert "2 valid" in capsys.readouterr().out and _skus(url) == []
    assert main(["import", "products", str(good)]) == 0
    assert "Imported 2 products." in capsys.readouterr().out and _skus(url) == ["A-1", "B-2"]
