"""Expenses over a real database: create, approve, reject with a reason, the lock, scope and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.expenses.model import Category, ExpenseFields, Status
from crm.organisation.permissions import Actor
from storage import tables as t
from tests.support.org import Org, make_org


@dataclass
class Team:
    org: Org
    mia: Actor  # manager of North (sees North-East too)
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    return Team(org, await org.join(org.admin, 3001, "Mia", "manager", org.north),
                await org.join(org.admin, 3002, "Ned", "rep", org.north_east),
                await org.join(org.admin, 3004, "Sue", "rep", org.south))


async def _categories(team: Team) -> dict[str, Category]:
    return {c.key: c for c in await team.org.services.expenses.expenses.categories(team.ned)}


def _fields(category: Category, amount: str, *, currency: str = "TWD", day: date = date(2026, 11, 25),
            customer_id: int | None = None) -> ExpenseFields:
    return ExpenseFields(amount=Decimal(amount), currency=currency, category_id=category.id, spent_on=day,
                         note="to the fab", customer_id=customer_id, receipt_file_id="photo-1")


async def _audit(engine: AsyncEngine, expense_id: int) -> list[tuple[str, int | None]]:
    a = t.audit_log.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(a.action, a.actor_id).where(a.entity == "expense", a.entity_id == expense_id)
                                  .order_by(a.id))
        return [(row.action, row.actor_id) for row in rows]


async def test_create_goes_to_the_managers_in_scope_and_approval_locks(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    team = await _team(engine, clock)
    expenses = team.org.services.expenses.expenses
    cats = await _categories(team)
    assert [c.key for c in cats.values()] == ["travel", "meals", "gifts", "transport", "lodging", "other"]
    assert cats["transport"].display_name("zh-Hant") == "交通"
    customer = await team.org.services.customers.customers.create(team.ned, CustomerDraft(name="台積電"), force=True)

    submitted = await expenses.create(team.ned, _fields(cats["transport"], "350", customer_id=customer.id))
    expense = submitted.card.expense
    assert expense.status is Status.SUBMITTED and expense.staff_id == team.ned.staff_id
    assert submitted.card.customer_name == "台積電" and submitted.card.staff_name == "Ned"
    approvers = {s.name for s in submitted.approvers}
    assert "Mia" in approvers and "Ned" not in approvers and "Sue" not in approvers

    assert [c.expense.id for c in await expenses.pending(team.mia)] == [expense.id]
    decided = await expenses.approve(team.mia, expense.id)
    assert decided.card.expense.status is Status.APPROVED and decided.card.expense.decided_by == team.mia.staff_id
    assert decided.submitter is not None and decided.submitter.id == team.ned.staff_id
    assert await expenses.pending(team.mia) == []

    with pytest.raises(Conflict):
        await expenses.update(team.ned, expense.id, {"amount": Decimal(400)})
    with pytest.raises(Conflict):
        await expenses.delete(team.ned, expense.id)
    with pytest.raises(Conflict):
        await expenses.reject(team.mia, expense.id, "too late")
    assert (await expenses.card(team.ned, expense.id)).expense.amount == Decimal(350)
    assert await _audit(engine, expense.id) == [("create", team.ned.staff_id), ("approved", team.mia.staff_id)]


async def test_reject_needs_a_reason_and_a_changed_expense_goes_back(engine: AsyncEngine,
                                                                     clock: ManualClock) -> None:
    team = await _team(engine, clock)
    expenses = team.org.services.expenses.expenses
    cats = await _categories(team)
    expense = (await expenses.create(team.ned, _fields(cats["meals"], "1280.50", currency="USD"))).card.expense

    with pytest.raises(ValidationFailed):
        await expenses.reject(team.mia, expense.id, "   ")
    assert (await expenses.card(team.mia, expense.id)).expense.status is Status.SUBMITTED
    decided = await expenses.reject(team.mia, expense.id, "No receipt  for the wine")
    assert decided.card.expense.status is Status.REJECTED
    assert decided.card.expense.reject_reason == "No receipt for the wine"

    changed = await expenses.update(team.ned, expense.id, {"amount": Decimal("980")})
    assert changed.expense.status is Status.SUBMITTED and changed.expense.reject_reason is None
    await expenses.delete(team.ned, expense.id)
    with pytest.raises(NotFound):
        await expenses.card(team.ned, expense.id)
    assert [a for a, _ in await _audit(engine, expense.id)] == ["create", "rejected", "update", "delete"]


async def test_scope_refuses_out_of_scope_and_own_and_bad_input(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    expenses = team.org.services.expenses.expenses
    cats = await _categories(team)
    sues = (await expenses.create(team.sue, _fields(cats["gifts"], "500"))).card.expense
    mias = (await expenses.create(team.mia, _fields(cats["travel"], "9000"))).card.expense

    with pytest.raises(NotFound):
        await expenses.approve(team.mia, sues.id)  # South is not under North
    with pytest.raises(NotFound):
        await expenses.card(team.ned, sues.id)
    with pytest.raises(PermissionDenied):
        await expenses.approve(team.ned, sues.id)  # a rep approves nothing
    with pytest.raises(PermissionDenied):
        await expenses.approve(team.mia, mias.id)  # nobody approves their own
    assert (await expenses.card(team.sue, sues.id)).expense.status is Status.SUBMITTED
    # The admin (everything in scope) approves the manager's.
    assert (await expenses.approve(team.org.admin, mias.id)).card.expense.status is Status.APPROVED

    tomorrow = date(2026, 11, 27)
    for bad in (_fields(cats["meals"], "0"), _fields(cats["meals"], "1.005"), _fields(cats["meals"], "5", day=tomorrow),
                _fields(cats["meals"], "5", currency="T1")):
        with pytest.raises(ValidationFailed):
            await expenses.create(team.ned, bad)
    other = await team.org.services.customers.customers.create(team.sue, CustomerDraft(name="Beta"), force=True)
    with pytest.raises(NotFound):
        await expenses.create(team.ned, _fields(cats["meals"], "5", customer_id=other.id))


async def test_this_month_mine_and_the_teams_with_totals_per_currency(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    team = await _team(engine, clock)
    expenses = team.org.services.expenses.expenses
    cats = await _categories(team)
    await expenses.create(team.ned, _fields(cats["meals"], "300"))
    await expenses.create(team.ned, _fields(cats["transport"], "50"))
    await expenses.create(team.ned, _fields(cats["meals"], "20", currency="USD"))
    await expenses.create(team.ned, _fields(cats["meals"], "999", day=date(2026, 10, 31)))  # last month
    rejected = (await expenses.create(team.ned, _fields(cats["gifts"], "700"))).card.expense
    await expenses.reject(team.mia, rejected.id, "not a business gift")
    await expenses.create(team.sue, _fields(cats["meals"], "111"))

    mine = await expenses.month(team.ned)
    assert mine.first_day == date(2026, 11, 1) and len(mine.items) == 4
    assert sorted(str(m) for m in mine.totals) == ["TWD 350.00", "USD 20.00"]  # rejected not counted
    teams = await expenses.month(team.mia, team=True)
    assert {c.staff_name for c in teams.items} == {"Ned"}  # Sue is in South
    assert (await expenses.month(team.ned, team=True)).items == mine.items  # a rep's team is themselves

    clock.advance(timedelta(days=6))  # December in Taipei
    assert (await expenses.month(team.ned)).items == ()
