"""Importing and exporting customers over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.data import customer_table, customers
from bot.i18n import Catalogs
from crm.core.clock import ManualClock
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft, customer_terms
from crm.customers.importing import ImportHasErrors, UnreadableFile
from crm.customers.model import Classification, Tier
from crm.organisation.permissions import Actor
from storage import tables as t
from storage.customers import bulk
from storage.customers.spreadsheets import SpreadsheetFiles, read_csv, read_xlsx, write_csv, write_xlsx
from tests.support.org import Org, make_org

FILES = SpreadsheetFiles()


async def _team(engine: AsyncEngine, clock: ManualClock) -> tuple[Org, Actor, Actor, Actor]:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3003, "Sue", "rep", org.south)
    async with org.services.uow() as uow:
        await uow.organisation.staff.update(ned.staff_id, username="ned_w")
        await uow.organisation.staff.update(sue.staff_id, username="sue_s")
        await uow.commit()
    return org, mia, ned, sue


async def _count(engine: AsyncEngine, table: Table, *where: ColumnElement[bool]) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


def _csv(rows: list[list[str]]) -> bytes:
    return write_csv(rows[0], rows[1:])


HEADER = ["客戶名稱", "電話", "Email", "負責人", "分類", "等級", "標籤"]


async def test_dry_run_writes_nothing_and_one_bad_row_blocks_the_import(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    org, mia, ned, _ = await _team(engine, clock)
    service = org.services.customers.importing
    data = _csv([HEADER,
                 ["台積電", "02 2345 6789", "buyer@tsmc.example.com", "Ned", "忠誠", "A", "semis, vip"],
                 ["鴻海精密", "0912 345 678", "", "", "一般", "", ""],
                 ["壞電話公司", "12", "", "", "", "", ""]])
    audit_before = await _count(engine, t.audit_log)

    plan = await service.plan_file(mia, data, "customers.csv")
    assert (plan.total, plan.valid, plan.invalid) == (3, 2, 1)
    assert [(e.row, e.column, e.key) for e in plan.errors] == [(4, "電話", "importing.err_phone")]
    assert await _count(engine, t.customers) == 0 and await _count(engine, t.audit_log) == audit_before

    with pytest.raises(ImportHasErrors):
        await service.run(mia, plan)  # one bad row and no skip_invalid: nothing at all
    assert await _count(engine, t.customers) == 0 and await _count(engine, t.search_terms) == 0
    assert await _count(engine, t.audit_log) == audit_before

    result = await service.run(mia, plan, skip_invalid=True)
    assert (result.created, result.skipped, result.total) == (2, 1, 3)
    hits = (await org.services.customers.customers.search(mia, "台積")).hits  # search terms were written too
    assert [h.title for h in hits] == ["台積電"]
    tsmc = await org.services.customers.customers.get(mia, hits[0].id)
    assert tsmc.owner_id == ned.staff_id and tsmc.phones == ("+886223456789",)
    assert tsmc.classification is Classification.LOYAL and tsmc.tier is Tier.A and tsmc.tags == ("semis", "vip")
    foxconn = (await org.services.customers.customers.search(mia, "鴻海")).hits[0]
    assert foxconn.owner_id == mia.staff_id  # no owner in the row: the importing user
    # Audit: one row for the import with its counts, one create row per customer.
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.entity_id, t.audit_log.c.after)
                                   .where(t.audit_log.c.id > audit_before).order_by(t.audit_log.c.id))).all()
    assert [(r.action, r.entity_id) for r in rows] == [("create", tsmc.id), ("create", foxconn.id), ("import", None)]
    assert rows[0].after["name"] == "台積電" and rows[0].after["owner_id"] == ned.staff_id
    assert rows[2].after["created"] == 2 and rows[2].after["skipped"] == 1

    # The same file again: every good row is now a duplicate of a stored customer.
    again = await service.plan_file(mia, data, "customers.csv")
    assert again.valid == 0 and again.duplicates == 2
    assert {e.params.get("name") for e in again.errors if e.key == "importing.err_duplicate_existing"} == {
        "台積電", "鴻海精密"}
    with pytest.raises(ValidationFailed):
        await service.run(mia, again, skip_invalid=True)


async def test_owners_by_name_or_username_within_the_importers_scope(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    org, mia, ned, sue = await _team(engine, clock)
    service = org.services.customers.importing
    table = [["Name", "Phone", "Owner"],
             ["Alpha", "0911 111 111", "@ned_w"],
             ["Beta", "0911 111 112", "ned"],
             ["Gamma", "0911 111 113", "Sue"],  # Sue is in South, outside Mia's North
             ["Delta", "0911 111 114", "Nobody"],
             ["Epsilon", "0911 111 115", ""]]
    plan = await service.plan(mia, table, default_owner="@ned_w")
    assert [(r.draft.name, r.owner_id) for r in plan.rows] == [
        ("Alpha", ned.staff_id), ("Beta", ned.staff_id), ("Epsilon", ned.staff_id)]
    assert [(e.row, e.column, e.key) for e in plan.errors] == [
        (4, "Owner", "importing.err_owner_unknown"), (5, "Owner", "importing.err_owner_unknown")]
    with pytest.raises(ValidationFailed) as unknown:
        await service.plan(mia, table, default_owner="@sue_s")
    assert unknown.value.key == "importing.default_owner_unknown"

    admin_plan = await service.plan(org.admin, table)
    assert {r.draft.name: r.owner_id for r in admin_plan.rows}["Gamma"] == sue.staff_id
    # Ned was deactivated after the dry run: the import stops instead of giving customers to a leaver.
    await org.services.organisation.staff.set_active(org.admin, ned.staff_id, False)
    with pytest.raises(Exception) as changed:
        await service.run(org.admin, admin_plan, skip_invalid=True)
    assert getattr(changed.value, "key", "") == "importing.owner_changed"
    assert await _count(engine, t.customers) == 0
    with pytest.raises(PermissionDenied):
        await service.plan(ned, table)  # reps may not import


async def test_duplicates_against_customers_outside_the_scope_give_no_details(engine: AsyncEngine,
                                                                              clock: ManualClock) -> None:
    org, mia, _, sue = await _team(engine, clock)
    await org.services.customers.customers.create(sue, CustomerDraft(name="南方貿易", phones=("07 123 4567",),
                                                           email="boss@south.example.com"))
    plan = await org.services.customers.importing.plan(mia, [["Name", "Phone", "Email"],
                                                   ["Same phone", "+886 7 123 4567", ""],
                                                   ["Same mail", "", "BOSS@south.example.com"]])
    assert [(e.row, e.column, e.key, dict(e.params)) for e in plan.errors] == [
        (2, "Phone", "importing.err_duplicate_hidden", {}), (3, "Email", "importing.err_duplicate_hidden", {})]
    seen_by_admin = await org.services.customers.importing.plan(org.admin, [["Name", "Phone"], ["Same phone",
                                                                                                "0712 34567"]])
    assert seen_by_admin.errors[0].params["name"] == "南方貿易"


async def test_export_holds_exactly_the_customers_in_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    org, mia, ned, sue = await _team(engine, clock)
    s = org.services.customers.customers
    await s.create(ned, CustomerDraft(name="北東客戶 Ned", phones=("0912 000 001",)))
    await s.create(mia, CustomerDraft(name="北區客戶 Mia"))
    await s.create(sue, CustomerDraft(name="南區客戶 Sue"))
    gone = await s.create(mia, CustomerDraft(name="已刪除 Gone"))
    await s.delete(mia, gone.id)

    exported = await org.services.customers.exporting.export(mia, "csv", lambda key: key)
    rows = read_csv(exported.data, max_rows=100)
    assert exported.count == 2 and exported.filename.endswith(".csv")
    assert {r[0] for r in rows[1:]} == {"北東客戶 Ned", "北區客戶 Mia"}
    everything = await org.services.customers.exporting.export(org.admin, "xlsx", lambda key: key)
    assert {r[0] for r in read_xlsx(everything.data, max_rows=100)[1:]} == {
        "北東客戶 Ned", "北區客戶 Mia", "南區客戶 Sue"}
    with pytest.raises(PermissionDenied):
        await org.services.customers.exporting.export(ned, "csv", lambda key: key)
    async with engine.connect() as conn:
        audited = (await conn.execute(select(t.audit_log.c.after).where(t.audit_log.c.action == "export")
                                      .order_by(t.audit_log.c.id))).scalars().all()
    assert audited == [{"format": "csv", "count": 2}, {"format": "xlsx", "count": 3}]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_export_then_import_round_trip_with_chinese_text(engine: AsyncEngine, clock: ManualClock,
                                                               fmt: str) -> None:
    org, mia, ned, _ = await _team(engine, clock)
    s = org.services.customers.customers
    originals = [
        await s.create(ned, CustomerDraft(
            name="台灣積體電路製造股份有限公司", short_name="台積電", phones=("02 2345 6789", "0912-345-678"),
            email="buyer@tsmc.example.com", address="新竹科學園區力行六路8號", region="新竹", industry="半導體",
            source="展覽", classification=Classification.LOYAL, tier=Tier.A, tags=("vip", "晶圓"),
            notes="每月拜訪一次；=SUM(A1) 不是公式")),
        await s.create(mia, CustomerDraft(name="上海华东电子科技有限公司", phones=("+86 138 0013 8000",),
                                          region="上海", tags=("潜在",), notes="-5% 折扣")),
        await s.create(mia, CustomerDraft(name="Acme & <Sons>", phones=("+1 415 555 2671",),
                                          email="Sales@Acme.example.com")),
    ]
    catalogs = Catalogs()
    exported = await org.services.customers.exporting.export(mia, fmt, lambda key: catalogs.t("zh-Hant", key))
    for customer in originals:
        await s.delete(mia, customer.id)  # soft-deleted customers are not duplicates

    plan = await org.services.customers.importing.plan_file(mia, exported.data, exported.filename)
    assert plan.errors == () and plan.valid == 3
    await org.services.customers.importing.run(mia, plan)
    fields = ("name", "short_name", "kind", "phones", "email", "address", "region", "industry", "source",
              "classification", "tier", "tags", "notes", "owner_id")
    imported = {}
    for original in originals:
        hit = (await s.search(mia, original.name[:2])).hits[0]
        imported[original.name] = await s.get(mia, hit.id)
    for original in originals:
        again = imported[original.name]
        assert again.id != original.id
        assert {f: getattr(again, f) for f in fields} == {f: getattr(original, f) for f in fields}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp950", "gb18030", "utf-16"])
def test_csv_in_the_encodings_excel_writes(encoding: str) -> None:
    traditional = [["客戶名稱", "電話", "地址"],
                   ["台北精密工業股份有限公司", "02-2345-6789", "台北市信義區松仁路100號"],
                   ["王小明", "0912345678", "高雄市前鎮區"]]
    simplified = [["客户名称", "电话", "地址"], ["深圳华强电子有限公司", "13800138000", "深圳市福田区华强北路"],
                  ["李小红", "13900139000", "上海市浦东新区"]]
    for table in (traditional, simplified):
        if encoding == "cp950" and table is simplified:
            continue  # Big5 has no simplified characters
        text = "\r\n".join(",".join(row) for row in table) + "\r\n"
        assert FILES.read(text.encode(encoding), "list.csv", max_rows=10) == table


def test_unreadable_files_say_why() -> None:
    def key(data: bytes, name: str) -> str:
        with pytest.raises(UnreadableFile) as caught:
            FILES.read(data, name, max_rows=5)
        return caught.value.key

    assert key(b"\x80\xff\xfe\x00" * 10, "junk.csv") == "importing.bad_encoding"
    assert key(b"PK\x03\x04 not really a zip", "list.xlsx") == "importing.damaged_file"
    assert key(b"a,b\n" * 10, "list.csv") == "importing.too_many_rows"
    assert key(b"x", "list.xls") == "importing.old_format"
    assert key(b"%PDF-1.4", "scan.pdf") == "importing.wrong_type"
    assert key(b"name\n\x00\x00", "list.csv") == "importing.damaged_file"


def test_written_files_keep_text_as_text() -> None:
    rows = [["=HYPERLINK(\"http://evil\")", "0912345678", "+886 2 2345 6789", "#N/A", "plain"]]
    assert read_csv(write_csv(["a", "b", "c", "d", "e"], rows), max_rows=5)[1] == rows[0]
    assert read_xlsx(write_xlsx(["a", "b", "c", "d", "e"], rows), max_rows=5)[1] == rows[0]
    raw = write_csv(["a"], [["=1+1"], ["+886 2"], ["ok"]]).decode("utf-8-sig")
    assert raw.splitlines() == ["a", "'=1+1", "'+886 2", "ok"]


async def _raw(engine: AsyncEngine, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows as the database holds them (JSON as text on SQLite), not as the repositories read them back."""
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.exec_driver_sql(sql, params)).all()]


async def test_an_imported_customer_is_stored_exactly_like_one_typed_in(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    org, mia, ned, _ = await _team(engine, clock)
    typed = await org.services.customers.customers.create(ned, CustomerDraft(
        name="台灣積體電路 TSMC", short_name="台積電", phones=("02 2345 6789", "0912-345-678"),
        email="Buyer@TSMC.example.com", address="新竹科學園區", region="新竹", industry="半導體", source="展覽",
        classification=Classification.LOYAL, tier=Tier.A, tags=("vip", "晶圓"), notes="每月拜訪"))
    typed_terms = await _raw(engine, "SELECT term FROM search_terms WHERE entity_id = " + str(typed.id))
    await org.services.customers.customers.delete(mia, typed.id)  # a deleted customer is no duplicate
    plan = await org.services.customers.importing.plan(mia, [
        ["名稱", "簡稱", "電話", "Email", "地址", "地區", "行業", "來源", "分類", "等級", "標籤", "備註", "負責人"],
        ["台灣積體電路 TSMC", "台積電", "02 2345 6789; 0912-345-678", "Buyer@TSMC.example.com", "新竹科學園區",
         "新竹", "半導體", "展覽", "忠誠", "A", "vip, 晶圓", "每月拜訪", "@ned_w"]])
    await org.services.customers.importing.run(mia, plan)

    columns = ("kind, name, short_name, phones, email, address, region, industry, source, owner_id, classification, "
               "tier, tags, notes, created_at, updated_at, last_contact_at")
    stored = await _raw(engine, f"SELECT id, {columns} FROM customers ORDER BY id")
    assert [row[1:] for row in stored[1:]] == [row[1:] for row in stored[:1]]
    imported_id = stored[1][0]
    imported_terms = await _raw(engine, "SELECT term FROM search_terms WHERE entity_id = " + str(imported_id))
    assert sorted(imported_terms) == sorted(typed_terms)
    assert {term for (term,) in imported_terms} == customer_terms(await org.services.customers.customers.get(mia,
                                                                                                             imported_id))
    created = await _raw(engine, "SELECT entity_id, after FROM audit_log WHERE action = 'create' AND "
                                 "entity = 'customer' ORDER BY id")
    assert [row[0] for row in created] == [typed.id, imported_id] and created[1][1] == created[0][1]


async def test_a_big_import_writes_in_rounds_and_lets_other_tasks_run(engine: AsyncEngine, clock: ManualClock,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BATCH", 250)
    org, mia, _, _ = await _team(engine, clock)
    table = customer_table(customers(2_000, owners=["Mia"], seed=5))
    ticks = 0
    running = True

    async def other_task() -> None:  # stands for the bot answering everybody else
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    reported: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        reported.append((done, total))

    try:
        plan = await org.services.customers.importing.plan(mia, table)
        while_checking = ticks
        result = await org.services.customers.importing.run(mia, plan, progress=progress)
    finally:
        running = False
        await other
    assert result.created == plan.valid == 2_000 and gc.isenabled()
    assert while_checking > 8  # the checking ran in a worker thread
    assert reported == [(n, 2_000) for n in range(250, 2_001, 250)]
    assert ticks - while_checking >= len(reported)  # a turn for others after every round
    assert await _count(engine, t.customers) == 2_000
