"""Budgets, their alerts, the proposal, reports, projects and the digest section over a real database."""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.expenses.budget_digest import BudgetDigestSection
from crm.expenses.budgets import BudgetDraft
from crm.expenses.model import Category, ExpenseFields, ProjectStatus
from crm.expenses.reports import parse_period
from crm.organisation.digest import DigestPeriod
from crm.organisation.permissions import Actor
from storage import tables as t
from storage.expenses.receipts import MAX_RECEIPT_BYTES, ReceiptFiles
from tests.support.org import Org, make_org


@dataclass
class Team:
    org: Org
    mia: Actor  # manager of North (sees North-East too)
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    fay: Actor  # finance: everything in scope, holds expenses.budget


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    return Team(org, await org.join(org.admin, 3001, "Mia", "manager", org.north),
                await org.join(org.admin, 3002, "Ned", "rep", org.north_east),
                await org.join(org.admin, 3004, "Sue", "rep", org.south),
                await org.join(org.admin, 3005, "Fay", "finance", org.north))


async def _cats(team: Team) -> dict[str, Category]:
    return {c.key: c for c in await team.org.services.expenses.expenses.categories(team.ned)}


async def _spend(team: Team, who: Actor, category: Category, amount: str, *, currency: str = "TWD",
                 day: date = date(2026, 11, 20), approve: bool = True, project_id: int | None = None,
                 customer_id: int | None = None) -> tuple[int, tuple[int, ...]]:
    expenses = team.org.services.expenses.expenses
    expense = (await expenses.create(who, ExpenseFields(
        amount=Decimal(amount), currency=currency, category_id=category.id, spent_on=day, project_id=project_id,
        customer_id=customer_id))).card.expense
    if not approve:
        return expense.id, ()
    approver = team.org.admin if who.staff_id == team.mia.staff_id else team.mia
    if who.staff_id == team.sue.staff_id:
        approver = team.fay
    decided = await expenses.approve(approver, expense.id)
    return expense.id, decided.alerts


async def test_alerts_fire_at_80_and_100_percent_once_each_on_approval(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    team = await _team(engine, clock)
    budgets = team.org.services.expenses.budgets
    cats = await _cats(team)
    line = await budgets.set(team.mia, BudgetDraft(department_id=team.org.north_east,
                                                   category_id=cats["transport"].id, year=2026,
                                                   amount=Decimal(1000), currency="TWD"))
    assert line.used == 0 and line.budget.amount == Decimal(1000)

    assert (await _spend(team, team.ned, cats["transport"], "500"))[1] == ()
    await _spend(team, team.ned, cats["transport"], "900", approve=False)  # pending: shown, never alerting
    assert (await _spend(team, team.ned, cats["transport"], "50", currency="USD"))[1] == ()  # other currency
    _, alerts = await _spend(team, team.ned, cats["transport"], "300.50")
    assert len(alerts) == 1
    alert = await budgets.alert(alerts[0])
    assert alert is not None and alert.threshold == 80 and alert.line.used == Decimal("800.50")
    assert alert.line.pending == Decimal(900)
    assert [m.name for m in alert.managers] == ["Mia"]  # nobody approves in North-East: its parent's manager
    assert await budgets.unsent() == [alerts[0]]
    await budgets.told(alerts[0], sent=True)
    assert await budgets.unsent() == []

    assert (await _spend(team, team.ned, cats["transport"], "100"))[1] == ()  # 90%: 80 already told
    _, alerts = await _spend(team, team.ned, cats["transport"], "200")
    full = await budgets.alert(alerts[0])
    assert full is not None and full.threshold == 100 and full.line.percent == 110
    assert (await _spend(team, team.ned, cats["transport"], "10"))[1] == ()  # never twice

    # One approval crossing both thresholds raises the 100% alert only; the 80% one is written as told.
    await budgets.set(team.fay, BudgetDraft(department_id=team.org.north_east, category_id=cats["meals"].id,
                                            year=2026, amount=Decimal(100), currency="TWD"))
    _, alerts = await _spend(team, team.ned, cats["meals"], "150")
    assert len(alerts) == 1 and (await budgets.alert(alerts[0])).threshold == 100  # type: ignore[union-attr]
    a = t.expense_budget_alerts.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(a.threshold, a.sent_at).order_by(a.id))).all()
    assert [(r.threshold, r.sent_at is not None) for r in rows] == [(80, True), (100, False), (80, True),
                                                                      (100, False)]


async def test_setting_budgets_is_checked_and_usage_follows_the_scope(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    team = await _team(engine, clock)
    budgets = team.org.services.expenses.budgets
    cats = await _cats(team)
    draft = BudgetDraft(department_id=team.org.south, category_id=cats["travel"].id, year=2026,
                        amount=Decimal(5000), currency="twd")
    with pytest.raises(PermissionDenied):
        await budgets.set(team.ned, draft)  # a rep sets no budget
    with pytest.raises(NotFound):
        await budgets.set(team.mia, draft)  # South is not under North
    for bad in (BudgetDraft(**{**draft.__dict__, "amount": Decimal(0)}),
                BudgetDraft(**{**draft.__dict__, "amount": Decimal("1.001")}),
                BudgetDraft(**{**draft.__dict__, "year": 1999}),
                BudgetDraft(**{**draft.__dict__, "currency": "T1"})):
        with pytest.raises(ValidationFailed):
            await budgets.set(team.fay, bad)
    first = await budgets.set(team.fay, draft)
    again = await budgets.set(team.fay, BudgetDraft(**{**draft.__dict__, "amount": Decimal(6000)}))
    assert again.budget.id == first.budget.id and again.budget.amount == Decimal(6000)
    assert again.budget.currency == "TWD"
    await budgets.set(team.mia, BudgetDraft(department_id=team.org.north_east, category_id=cats["travel"].id,
                                            year=2026, amount=Decimal(2000), currency="TWD"))
    await _spend(team, team.sue, cats["travel"], "1500")
    await _spend(team, team.ned, cats["travel"], "400")

    assert [(ln.department_name, ln.used) for ln in (await budgets.usage(team.fay)).lines] == [
        ("North-East", Decimal(400)), ("South", Decimal(1500))]
    assert [(ln.department_name, ln.percent) for ln in (await budgets.usage(team.mia)).lines] == [
        ("North-East", 20)]
    assert [ln.department_name for ln in (await budgets.usage(team.sue)).lines] == ["South"]
    assert (await budgets.usage(team.fay, 2027)).lines == ()


async def test_the_proposal_xlsx_holds_actual_budget_and_the_grown_figure(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    team = await _team(engine, clock)
    budgets = team.org.services.expenses.budgets
    assert budgets.growth_percent == 10
    cats = await _cats(team)
    await budgets.set(team.fay, BudgetDraft(department_id=team.org.north_east, category_id=cats["travel"].id,
                                            year=2026, amount=Decimal(3000), currency="TWD"))
    await budgets.set(team.fay, BudgetDraft(department_id=team.org.south, category_id=cats["gifts"].id,
                                            year=2026, amount=Decimal(800), currency="TWD"))
    await _spend(team, team.ned, cats["travel"], "1234.50")
    await _spend(team, team.ned, cats["travel"], "1000")
    await _spend(team, team.ned, cats["travel"], "999", approve=False)  # pending: not actual
    await _spend(team, team.ned, cats["meals"], "45", currency="USD")
    await _spend(team, team.ned, cats["meals"], "700", day=date(2025, 12, 31))  # last year
    await _spend(team, team.sue, cats["meals"], "95")

    with pytest.raises(PermissionDenied):
        await budgets.proposal(team.ned, lambda key, **p: key, "en")
    made = await budgets.proposal(team.fay, lambda key, **p: f"{key}{p.get('year', '')}", "zh-Hant")
    assert made.filename == "budget-proposal-2027.xlsx" and made.rows == 4
    sheet = load_workbook(io.BytesIO(made.data)).active
    assert sheet is not None
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[0] == ("expenses.col_department", "expenses.col_category", "expenses.col_currency",
                       "expenses.col_actual2026", "expenses.col_budget2026", "expenses.col_proposal2027")
    # 2,234.50 × 1.1 = 2,457.95 → 2,458; 45 × 1.1 = 49.5 → 50 (half up); 95 × 1.1 = 104.5 → 105.
    assert rows[1:] == [("North-East", "差旅", "TWD", 2234.5, 3000, 2458),
                        ("North-East", "餐費", "USD", 45, None, 50),
                        ("South", "餐費", "TWD", 95, None, 105),
                        ("South", "禮品", "TWD", 0, 800, 0)]
    # The manager's proposal holds their tree only.
    mine = await budgets.proposal(team.mia, lambda key, **p: key, "en")
    sheet = load_workbook(io.BytesIO(mine.data)).active
    assert sheet is not None
    assert {row[0].value for row in sheet.iter_rows(min_row=2)} == {"North-East"}


async def test_reports_stay_within_the_readers_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    reports = team.org.services.expenses.reports
    cats = await _cats(team)
    acme = await team.org.services.customers.customers.create(team.ned, CustomerDraft(name="Acme"), force=True)
    project = await team.org.services.expenses.projects.create(team.ned, "新竹案")
    await _spend(team, team.ned, cats["meals"], "300", customer_id=acme.id, project_id=project.project.id)
    await _spend(team, team.ned, cats["meals"], "200.25", approve=False, day=date(2026, 11, 3))
    await _spend(team, team.ned, cats["travel"], "20", currency="USD", day=date(2026, 10, 5))
    rejected, _ = await _spend(team, team.ned, cats["gifts"], "999", approve=False)
    await team.org.services.expenses.expenses.reject(team.mia, rejected, "no")
    await _spend(team, team.mia, cats["lodging"], "4000")
    await _spend(team, team.sue, cats["meals"], "77")

    year = parse_period("2026", date(2026, 11, 26))
    ned = await reports.report(team.ned, year, "en", "—")
    assert sorted(str(m) for m in ned.totals) == ["TWD 500.25", "USD 20.00"]
    assert [(r.label, r.total, r.count) for r in ned.groups["category"]] == [
        ("Meals", Decimal("500.25"), 2), ("Travel", Decimal(20), 1)]
    assert {r.label for r in ned.groups["staff"]} == {"Ned"}
    assert [(r.label, r.total) for r in ned.groups["customer"]] == [("Acme", Decimal(300)),
                                                                  ("—", Decimal("200.25")), ("—", Decimal(20))]
    assert (ned.groups["project"][0].label, ned.groups["project"][0].total) == ("新竹案", Decimal(300))
    assert [(r.label, r.currency) for r in ned.groups["month"]] == [("2026-11", "TWD"), ("2026-10", "USD")]

    mia = await reports.report(team.mia, year, "zh-Hans", "—")
    assert {r.label for r in mia.groups["staff"]} == {"Ned", "Mia"}  # her tree, not Sue in South
    assert mia.groups["category"][0].label == "住宿"
    november = await reports.report(team.mia, parse_period("2026-11", date(2026, 11, 26)), "en", "—")
    assert all(r.label == "2026-11" for r in november.groups["month"])

    made = await reports.export(team.mia, year, lambda key, **p: key, "en")
    book = load_workbook(io.BytesIO(made.data))
    assert book.sheetnames == ["expenses.report_by_category", "expenses.report_by_staff",
                               "expenses.report_by_customer", "expenses.report_by_project",
                               "expenses.report_by_month"]
    staff = [tuple(c.value for c in row) for row in book["expenses.report_by_staff"].iter_rows(min_row=2)]
    assert ("Mia", "TWD", 4000, 1) in staff and ("Ned", "TWD", 500.25, 2) in staff


@pytest.mark.parametrize("text", ["2026-13", "1999", "someday", "2026-00"])
def test_a_period_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_period(text, date(2026, 11, 26))


def test_periods_read_in_three_languages() -> None:
    today = date(2026, 1, 15)
    assert parse_period("", today).label == "2026-01"
    assert parse_period("上個月", today).label == "2025-12"
    assert parse_period("last month", today).label == "2025-12"
    assert parse_period("今年", today).label == "2026"
    assert parse_period("2026年11月", today).label == "2026-11"


async def test_projects_names_scope_status_and_totals(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    projects = team.org.services.expenses.projects
    cats = await _cats(team)
    hsinchu = await projects.create(team.ned, " #新竹案 ")
    assert hsinchu.project.name == "新竹案" and hsinchu.project.status is ProjectStatus.ACTIVE
    with pytest.raises(Conflict):
        await projects.create(team.sue, "新竹案")
    with pytest.raises(ValidationFailed):
        await projects.create(team.sue, "  ")
    await projects.create(team.sue, "新竹案二期")
    await projects.create(team.sue, "Taipei fair")

    assert [p.name for p in await projects.matching(team.ned, "新竹案")] == ["新竹案"]  # exact wins
    assert sorted(p.name for p in await projects.matching(team.ned, "新竹")) == ["新竹案", "新竹案二期"]
    assert await projects.matching(team.ned, "高雄") == []
    assert [p.name for p in await projects.matching(team.ned, "TAIPEI FAIR")] == ["Taipei fair"]
    assert await projects.matching(team.ned, "100%") == []  # LIKE wildcards are plain characters

    await _spend(team, team.ned, cats["travel"], "1200", project_id=hsinchu.project.id)
    await _spend(team, team.mia, cats["travel"], "800", project_id=hsinchu.project.id)
    assert [str(m) for m in (await projects.card(team.mia, hsinchu.project.id)).totals] == ["TWD 2,000.00"]
    assert [str(m) for m in (await projects.card(team.ned, hsinchu.project.id)).totals] == ["TWD 1,200.00"]
    with pytest.raises(NotFound):
        await projects.card(team.sue, hsinchu.project.id)  # Ned's project, outside South
    assert [p.name for p in await projects.listed(team.sue)] == ["Taipei fair", "新竹案二期"]
    with pytest.raises(NotFound):
        await projects.set_status(team.sue, hsinchu.project.id, ProjectStatus.CLOSED)
    with pytest.raises(PermissionDenied):
        await projects.create(team.fay, "Finance's own")  # finance holds no projects.manage

    closed = await projects.set_status(team.mia, hsinchu.project.id, ProjectStatus.CLOSED)
    assert closed.project.status is ProjectStatus.CLOSED
    assert await projects.matching(team.ned, "新竹案") != [] and all(
        p.status is not ProjectStatus.CLOSED for p in await projects.matching(team.ned, "新竹案"))
    with pytest.raises(Conflict):
        await _spend(team, team.ned, cats["travel"], "5", project_id=hsinchu.project.id, approve=False)


async def test_the_digest_section_compares_spent_with_budget_in_scope(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    team = await _team(engine, clock)
    cats = await _cats(team)
    budgets = team.org.services.expenses.budgets
    await budgets.set(team.fay, BudgetDraft(department_id=team.org.north_east, category_id=cats["travel"].id,
                                            year=2026, amount=Decimal(1000), currency="TWD"))
    await budgets.set(team.fay, BudgetDraft(department_id=team.org.south, category_id=cats["travel"].id,
                                            year=2026, amount=Decimal(9000), currency="TWD"))
    await _spend(team, team.ned, cats["travel"], "300", day=date(2026, 11, 2))
    await _spend(team, team.ned, cats["travel"], "450", day=date(2026, 11, 24))
    await _spend(team, team.ned, cats["travel"], "999", approve=False, day=date(2026, 11, 24))
    await _spend(team, team.sue, cats["travel"], "5000", day=date(2026, 11, 24))

    section = BudgetDigestSection()
    week = DigestPeriod(datetime(2026, 11, 22, 16, tzinfo=UTC), datetime(2026, 11, 29, 16, tzinfo=UTC))
    before = DigestPeriod(datetime(2026, 11, 15, 16, tzinfo=UTC), datetime(2026, 11, 22, 16, tzinfo=UTC))
    async with team.org.services.uow(write=False) as uow:
        mine = await section.compute(uow, team.mia, week, before)
        everyone = await section.compute(uow, team.fay, week, before)
        rep = await section.compute(uow, team.ned, week, before)
    assert rep is None  # a rep approves nothing
    assert mine is not None and mine.title_key == "expenses.digest_budget_title"
    assert [(f.key, f.value, f.previous) for f in mine.figures] == [
        ("expenses.digest_spent", Decimal(750), Decimal(300)), ("expenses.digest_budget", Decimal(1000), None)]
    assert [(r.label, [f.value for f in r.figures]) for r in mine.rows] == [("Travel", [Decimal(750), 75])]
    assert everyone is not None
    assert (everyone.figures[0].value, everyone.figures[0].previous) == (Decimal(5750), Decimal(300))


def test_receipt_copies_are_private_and_capped(tmp_path: Path) -> None:
    store = ReceiptFiles(tmp_path / "receipts")
    relative = store.save(7, b"\xff\xd8jpeg")
    path = tmp_path / relative
    assert path.read_bytes() == b"\xff\xd8jpeg" and store.read(relative) == b"\xff\xd8jpeg"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "receipts").st_mode) == 0o700
    with pytest.raises(ValueError):
        store.save(8, b"x" * (MAX_RECEIPT_BYTES + 1))
    assert not (tmp_path / "receipts" / "expense-8.jpg").exists()


async def test_categories_keep_one_active_and_only_company_wide_keepers_change_them(
        engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    categories = team.org.services.expenses.categories
    assert len(await categories.every(team.mia)) == 6  # she reads them; she sees only her tree, so keeps none
    for attempt in (categories.add(team.mia, "training", "Training"), categories.rename(team.mia, 1, "Trips"),
                    categories.set_active(team.mia, 1, False)):
        with pytest.raises(PermissionDenied):
            await attempt
    with pytest.raises(PermissionDenied):
        await categories.add(team.ned, "training", "Training")
    every = await categories.every(team.fay)
    for category, _ in every[:-1]:
        await categories.set_active(team.fay, category.id, False)
    with pytest.raises(Conflict):
        await categories.set_active(team.fay, every[-1][0].id, False)
    assert [c.key for c in await team.org.services.expenses.expenses.categories(team.ned)] == ["other"]
    with pytest.raises(Conflict):
        await categories.add(team.fay, "travel", "Trips")  # the key of a deactivated one is still taken
    with pytest.raises(NotFound):
        await categories.rename(team.fay, 10_000, "Nothing")
