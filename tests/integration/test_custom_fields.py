"""Custom fields over a real database: definitions as data (define, edit, remove keeping the values, restore),
typed values (a date stays a date, money a Decimal with its currency), required fields, scope, filtering by
indexed values, and every change audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.fields.model import FieldDraft, FieldEntity, FieldType, FieldValue
from storage import tables as t
from tests.support.org import make_org


async def test_define_type_filter_remove_restore(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    service = org.services.fields.fields
    customers = org.services.customers.customers

    with pytest.raises(PermissionDenied):
        await service.define(ned, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER, {"en": "Staff"}))
    size = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER,
                                                      {"en": "Staff", "zh-Hant": "員工數", "zh-Hans": "员工数"},
                                                      required=True))
    since = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.DATE, {"en": "Since"}))
    budget = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.MONEY, {"en": "Budget"}))
    sector = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.MULTI, {"en": "Sector"},
                                                        choices=("Retail", "Food", "Tech")))
    with pytest.raises(ValidationFailed):  # a label names one field, in any language
        await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.TEXT, {"en": "員工數"}))
    with pytest.raises(ValidationFailed):  # a choice field needs its choices
        await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.CHOICE, {"en": "Size"}))

    acme = await customers.create(ned, CustomerDraft(name="Acme"), force=True)
    globex = await customers.create(sue, CustomerDraft(name="Globex"), force=True)
    with pytest.raises(ValidationFailed) as wrong:
        await service.set(ned, FieldEntity.CUSTOMER, acme.id, {size.id: "many"})
    assert wrong.value.key == "fields.invalid_number"
    with pytest.raises(ValidationFailed):  # a required field cannot be cleared
        await service.set(ned, FieldEntity.CUSTOMER, acme.id, {size.id: ""})
    with pytest.raises(NotFound):  # Sue does not see Ned's customer
        await service.set(sue, FieldEntity.CUSTOMER, acme.id, {size.id: "5"})
    rows = await service.set(ned, FieldEntity.CUSTOMER, acme.id,
                             {size.id: "1,200", since.id: "2024-3-5", budget.id: "usd 1500.50",
                              sector.id: "food, retail"})
    values = {field.id: value for field, value in rows}
    assert values[size.id].number == Decimal("1200")
    assert values[since.id].day == date(2024, 3, 5)
    assert (values[budget.id].number, values[budget.id].currency) == (Decimal("1500.50"), "USD")
    assert values[sector.id] == FieldValue(items=("Retail", "Food"))  # in the field's order
    await service.set(sue, FieldEntity.CUSTOMER, globex.id, {size.id: "8", sector.id: "Tech"})

    async def found(actor: object, text: str) -> list[str]:
        conditions = await service.conditions(actor, text)  # type: ignore[arg-type]
        page = await service.find(actor, conditions)  # type: ignore[arg-type]
        return [c.name for c in page.customers]

    assert await found(org.admin, "staff>5") == ["Globex", "Acme"]  # in the order of the value
    assert await found(org.admin, "員工數 >= 1000") == ["Acme"]
    assert await found(org.admin, "员工数<1000") == ["Globex"]
    assert await found(org.admin, "sector=food") == ["Acme"]
    assert await found(org.admin, "since<2025-01-01; budget>1000") == ["Acme"]
    assert await found(org.admin, "sector!=food") == ["Globex"]
    assert await found(sue, "staff>5") == ["Globex"]  # her scope only
    with pytest.raises(ValidationFailed):
        await service.conditions(org.admin, "sector>food")  # choices do not order
    with pytest.raises(ValidationFailed):
        await service.conditions(org.admin, "colour=red")

    card = await customers.card(ned, acme.id, sections={"fields": 50})
    assert [field.id for field, _ in card.sections["fields"]] == [size.id, since.id, budget.id, sector.id]

    await service.remove(org.admin, size.id)
    assert [f.id for f in await service.listed(ned, FieldEntity.CUSTOMER)] == [since.id, budget.id, sector.id]
    with pytest.raises(ValidationFailed):
        await service.conditions(org.admin, "staff>5")
    restored = await service.restore(org.admin, size.id)
    assert restored.deleted_at is None
    values = {field.id: value for field, value in await service.values(ned, FieldEntity.CUSTOMER, acme.id)}
    assert values[size.id].number == Decimal("1200")  # kept while it was removed

    moved = await service.edit(org.admin, size.id, move=-1, required=False, labels={"zh-Hant": "員工人數"})
    assert moved.required is False and moved.labels["zh-Hant"] == "員工人數"
    order = [f.id for f in await service.listed(ned, FieldEntity.CUSTOMER)]
    assert order.index(size.id) == order.index(sector.id) - 1

    async with engine.connect() as conn:
        actions = [r.action for r in await conn.execute(
            select(t.audit_log).where(t.audit_log.c.entity == "custom_field", t.audit_log.c.entity_id == size.id)
            .order_by(t.audit_log.c.id))]
        value_audits = (await conn.execute(select(t.audit_log).where(
            t.audit_log.c.entity == "customer_fields", t.audit_log.c.entity_id == acme.id))).all()
    assert actions == ["create", "delete", "restore", "update"]
    assert len(value_audits) == 1 and value_audits[0].after[f"field_{since.id}"] == "2024-03-05"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("locale", ["en", "zh-Hant", "zh-Hans"])
async def test_export_then_import_carries_the_fields_unchanged(engine: AsyncEngine, clock: ManualClock,
                                                               fmt: str, locale: str) -> None:
    from bot.i18n import Catalogs

    org = await make_org(engine, clock)
    service = org.services.fields.fields
    customers = org.services.customers.customers
    labels = {"en": "Staff", "zh-Hant": "員工數", "zh-Hans": "员工数"}
    staff = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER, labels))
    budget = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.MONEY,
                                                        {"en": "Budget", "zh-Hant": "預算", "zh-Hans": "预算"}))
    since = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.DATE, {"en": "Since"}))
    sector = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.MULTI, {"en": "Sector"},
                                                        choices=("Retail", "Food", "Tech")))
    vip = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.YESNO, {"en": "VIP"}))
    acme = await customers.create(org.admin, CustomerDraft(name="Acme", phones=("0912345678",)), force=True)
    globex = await customers.create(org.admin, CustomerDraft(name="Globex"), force=True)
    await service.set(org.admin, FieldEntity.CUSTOMER, acme.id, {
        staff.id: "1200.5", budget.id: "USD 1500.50", since.id: "2024-03-05", sector.id: "Tech, Retail",
        vip.id: "是"})
    await service.set(org.admin, FieldEntity.CUSTOMER, globex.id, {budget.id: "99"})
    before = {c.id: await service.values(org.admin, FieldEntity.CUSTOMER, c.id) for c in (acme, globex)}

    catalogs = Catalogs()
    exported = await org.services.customers.exporting.export(org.admin, fmt, lambda key: catalogs.t(locale, key))
    for customer in (acme, globex):
        await customers.delete(org.admin, customer.id)
    plan = await org.services.customers.importing.plan_file(org.admin, exported.data, exported.filename)
    assert plan.errors == () and plan.valid == 2
    await org.services.customers.importing.run(org.admin, plan)
    for original in (acme, globex):
        again = (await customers.search(org.admin, original.name)).hits[0].id
        assert again != original.id
        assert await service.values(org.admin, FieldEntity.CUSTOMER, again) == before[original.id]


async def test_a_wrong_value_in_a_field_column_is_the_rows_error(engine: AsyncEngine, clock: ManualClock) -> None:
    from storage.customers.spreadsheets import write_csv

    org = await make_org(engine, clock)
    service = org.services.fields.fields
    await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER,
                                               {"en": "Staff", "zh-Hant": "員工數"}, required=True))
    data = write_csv(["客戶名稱", "員工數"], [["台積電", "很多"], ["聯電", ""], ["大同", "30"]])
    plan = await org.services.customers.importing.plan_file(org.admin, data, "x.csv")
    assert [(e.row, e.column, e.key) for e in plan.errors] == [(2, "員工數", "fields.invalid_number"),
                                                               (3, "員工數", "fields.required")]
    assert plan.valid == 1


async def test_segments_keep_conditions_on_fields_for_every_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    from crm.fields.values import stored_condition
    from crm.segments.model import SegmentFilter

    org = await make_org(engine, clock)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    service = org.services.fields.fields
    customers = org.services.customers.customers
    staff = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER, {"en": "Staff"}))
    sector = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.CHOICE, {"en": "Sector"},
                                                        choices=("Retail", "Food")))
    for actor, name, size, kind in ((ned, "A", "10", "Retail"), (ned, "B", "500", "Food"),
                                    (org.admin, "C", "700", "Retail"), (ned, "D", "", "")):
        created = await customers.create(actor, CustomerDraft(name=name), force=True)
        await service.set(actor, FieldEntity.CUSTOMER, created.id, {staff.id: size, sector.id: kind})

    async def count(actor: object, text: str) -> int:
        conditions = await service.conditions(actor, text)  # type: ignore[arg-type]
        custom = tuple(stored_condition(c) for c in conditions)
        return (await org.services.segments.segments.preview(actor, SegmentFilter(custom=custom))).count  # type: ignore[arg-type]

    cases = {"staff>=500": (1, 2), "sector=retail": (1, 2), "sector!=retail": (1, 1), "staff<600; sector=food": (1, 1)}
    for text, (for_ned, for_admin) in cases.items():
        assert (await count(ned, text), await count(org.admin, text)) == (for_ned, for_admin), text
    await service.remove(org.admin, staff.id)  # a removed field's condition matches nothing until restored
    conditions = tuple(stored_condition(c) for c in await service.conditions(org.admin, "sector=food"))
    gone = (staff.id, ">=", "number", "500")
    view = await org.services.segments.segments.preview(org.admin, SegmentFilter(custom=(gone, *conditions)))
    assert view.count == 0
    await service.restore(org.admin, staff.id)
    view = await org.services.segments.segments.preview(org.admin, SegmentFilter(custom=(gone, *conditions)))
    assert view.count == 1


@pytest.mark.parametrize("list_per_probe", [4, 0])
async def test_segment_counts_and_filters_agree_with_a_plain_reading(engine: AsyncEngine, clock: ManualClock,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     list_per_probe: int) -> None:
    """The segment count read from the value indexes alone (an admin, custom conditions only), or for a rep with
    the narrowest condition listed (or, ``0``, every condition probed), and /filter's plans find what a plain
    reading of the same small data set finds, for every scope: deleted customers left out, a multi-choice value
    counted once, a removed field matching nothing."""
    import itertools
    from collections.abc import Callable
    from typing import Any

    from crm.fields.values import stored_condition
    from crm.segments.model import SegmentFilter
    from storage.segments import repositories

    monkeypatch.setattr(repositories, "LIST_PER_PROBE", list_per_probe)
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    service = org.services.fields.fields
    customers = org.services.customers.customers
    staff = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.NUMBER, {"en": "Staff"}))
    sector = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.CHOICE, {"en": "Sector"},
                                                        choices=("Retail", "Food", "Tech")))
    since = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.DATE, {"en": "Since"}))
    sells = await service.define(org.admin, FieldDraft(FieldEntity.CUSTOMER, FieldType.MULTI, {"en": "Sells"},
                                                       choices=("Tea", "Rice", "Fish")))
    rows: list[tuple[int, Any, dict[str, Any]]] = []  # id, owner, values
    sectors, goods = ("Retail", "Food", "Tech", ""), ("Tea", "Rice", "Fish")
    for n in range(24):
        actor = ned if n % 3 else org.admin
        created = await customers.create(actor, CustomerDraft(name=f"Customer {n}"), force=True)
        size = "" if n % 7 == 6 else str(n * 37 % 100)
        day = "" if n % 5 == 4 else f"2026-0{1 + n % 6}-1{n % 9}"
        bought = ", ".join(g for i, g in enumerate(goods) if (n >> i) & 1)
        await service.set(actor, FieldEntity.CUSTOMER, created.id,
                          {staff.id: size, sector.id: sectors[n % 4], since.id: day, sells.id: bought})
        values = {"staff": Decimal(size) if size else None, "sector": sectors[n % 4] or None,
                  "since": date.fromisoformat(day) if day else None,
                  "sells": {g for i, g in enumerate(goods) if (n >> i) & 1}}
        rows.append((created.id, actor, values))
    deleted = {rows[3][0], rows[8][0]}
    for customer_id in deleted:
        await customers.delete(org.admin, customer_id)

    tests: dict[str, Callable[[dict[str, Any]], bool]] = {
        "staff>=50": lambda v: v["staff"] is not None and v["staff"] >= 50,
        "staff<30": lambda v: v["staff"] is not None and v["staff"] < 30,
        "staff!=74": lambda v: v["staff"] is not None and v["staff"] != 74,
        "sector=food": lambda v: v["sector"] == "Food",
        "sector!=retail": lambda v: v["sector"] not in (None, "Retail"),
        "since>=2026-03-01": lambda v: v["since"] is not None and v["since"] >= date(2026, 3, 1),
        "sells=tea": lambda v: "Tea" in v["sells"],
        "sells=rice": lambda v: "Rice" in v["sells"],
    }
    combos: list[tuple[str, ...]] = [(a,) for a in tests]
    combos += itertools.combinations(tests, 2)
    combos.append(("staff>=50", "sells=tea", "since>=2026-03-01"))
    for combo in combos:
        text = "; ".join(combo)
        for actor in (ned, org.admin):
            expected = {cid for cid, owner, values in rows if cid not in deleted
                        and (actor is org.admin or owner is ned) and all(tests[c](values) for c in combo)}
            conditions = await service.conditions(actor, text)
            custom = tuple(stored_condition(c) for c in conditions)
            view = await org.services.segments.segments.preview(actor, SegmentFilter(custom=custom))
            found = await service.find(actor, conditions)
            assert view.count == len(expected), (text, actor is ned)
            page = {c.id for c in found.customers}
            assert found.count == len(expected) and page <= expected, (text, actor is ned)
            assert len(page) == len(expected) or found.has_more, (text, actor is ned)
    await service.remove(org.admin, sells.id)  # a removed field's condition matches nothing
    gone = (sells.id, "=", "text", "tea")
    view = await org.services.segments.segments.preview(org.admin, SegmentFilter(custom=(gone,)))
    assert view.count == 0
