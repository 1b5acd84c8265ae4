"""Budgets per department × category × year (optionally for one project), what is used of them, the alerts at
80% and 100%, and next year's proposal (docs/expenses.md).

What counts against a budget: **approved** expenses of the people in the budget's department (not its
sub-departments, which have budgets of their own, so budgets add up along the tree), in its category, spent in its
year, in its currency; a project's budget counts only the expenses on that project. Pending expenses are shown
beside the use (``BudgetLine.pending``) but neither count nor raise alerts: an approver may still reject them, and
an alert that a rejection takes back would teach managers to ignore alerts. An approval is what crosses a
threshold, so the alerts are written in the approval's own transaction (``crossings``), once per budget and
threshold, and told afterwards; the alert job tries again until the push arrived.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.expenses.model import (
    ALERT_THRESHOLDS,
    Budget,
    BudgetAlert,
    BudgetLine,
    Category,
    Expense,
    ProposalRow,
    Status,
)
from crm.expenses.ports import ExpensesUnitOfWork, SheetWriter
from crm.organisation import audit
from crm.organisation.model import Department, Staff
from crm.organisation.permissions import Actor, Scope, ScopeFilter

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_BUDGET = Decimal(10) ** 12
EVERYONE = ScopeFilter(everything=True, owner_id=0)
Translate = Callable[..., str]
SpentKey = tuple[int, int, int | None, str, Status]


@dataclass(frozen=True, kw_only=True)
class BudgetDraft:
    department_id: int
    category_id: int
    year: int
    amount: Decimal
    currency: str
    project_id: int | None = None


@dataclass(frozen=True)
class UsageView:
    year: int
    lines: tuple[BudgetLine, ...]


@dataclass(frozen=True)
class SheetFile:
    filename: str
    data: bytes
    rows: int


def year_span(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def round_whole(amount: Decimal) -> Decimal:
    """A proposal is a planning figure: whole currency units, half up (docs/sales.md rounds prices the same way)."""
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def proposal_of(actual: Decimal, growth_percent: int) -> Decimal:
    return round_whole(actual * (100 + growth_percent) / 100)


def scope_departments(actor: Actor, departments: Iterable[Department]) -> list[Department]:
    """The departments whose budgets the actor sees: all, their department (tree), or — with their own expenses
    only in scope — their own department, measured against their own expenses."""
    live = [d for d in departments if d.deleted_at is None]
    scope = actor.scope_filter("expenses")
    if scope.everything:
        return live
    ids = scope.department_ids or frozenset({actor.department_id})
    return [d for d in live if d.id in ids]


def used_of(budget: Budget, spent: Mapping[SpentKey, Decimal], status: Status) -> Decimal:
    return sum((amount for (dept, cat, project, currency, st), amount in spent.items()
                if dept == budget.department_id and cat == budget.category_id and currency == budget.currency
                and st is status and (budget.project_id is None or project == budget.project_id)), Decimal(0))


def crossed(used: Decimal, amount: Decimal, threshold: int) -> bool:
    return amount > 0 and used * 100 >= amount * threshold


class BudgetService:
    def __init__(self, uow: UnitOfWorkFactory[ExpensesUnitOfWork], clock: Clock, sheets: SheetWriter, *,
                 growth_percent: int = 10, worker: Worker[UnitOfWorkFactory[ExpensesUnitOfWork]] | None = None
                 ) -> None:
        self._uow = uow
        self._clock = clock
        self._sheets = sheets
        self.growth_percent = growth_percent  # next year's proposal: this year's actual scaled by this
        self._worker = worker or InlineWorker(uow)

    def this_year(self, actor: Actor) -> int:
        return self._clock.now().astimezone(ZoneInfo(actor.timezone)).year

    @staticmethod
    def _may_read(actor: Actor) -> None:
        if not any(actor.can(op) for op in ("expenses.create", "expenses.approve", "expenses.budget")):
            actor.require("expenses.budget")

    async def departments(self, actor: Actor) -> list[Department]:
        self._may_read(actor)
        async with self._uow(write=False) as uow:
            return scope_departments(actor, await uow.organisation.departments.list_all())

    async def set(self, actor: Actor, draft: BudgetDraft) -> BudgetLine:
        """Set (or change) one budget of a department in the actor's scope."""
        actor.require("expenses.budget")
        amount = draft.amount
        if not amount.is_finite() or amount <= 0 or amount >= MAX_BUDGET or amount != amount.quantize(Decimal("0.01")):
            raise ValidationFailed("expenses.error_amount")
        if not MIN_YEAR <= draft.year <= MAX_YEAR:
            raise ValidationFailed("expenses.error_year")
        currency = draft.currency.strip().upper()
        if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
            raise ValidationFailed("expenses.error_currency")
        now = self._clock.now()
        async with self._uow() as uow:
            departments = scope_departments(actor, await uow.organisation.departments.list_all())
            if draft.department_id not in {d.id for d in departments}:
                raise NotFound()
            if draft.category_id not in {c.id for c in await uow.expenses.categories.all()}:
                raise ValidationFailed("expenses.error_category")
            if draft.project_id is not None and await uow.expenses.projects.get(draft.project_id) is None:
                raise NotFound()
            before = await uow.expenses.budgets.find(draft.department_id, draft.category_id, draft.year,
                                                     draft.project_id)
            if before is None:
                budget = await uow.expenses.budgets.add(Budget(
                    id=0, department_id=draft.department_id, category_id=draft.category_id, year=draft.year,
                    amount=amount, currency=currency, project_id=draft.project_id, set_by=actor.staff_id), now)
                await audit.record(uow, actor.staff_id, "create", "expense_budget", budget.id, {},
                                   {"department_id": budget.department_id, "category_id": budget.category_id,
                                    "year": budget.year, "project_id": budget.project_id,
                                    "amount": str(amount), "currency": currency})
            else:
                await uow.expenses.budgets.update(before.id, amount=amount, currency=currency,
                                                  set_by=actor.staff_id, updated_at=now)
                await audit.record(uow, actor.staff_id, "update", "expense_budget", before.id,
                                   {"amount": str(before.amount), "currency": before.currency},
                                   {"amount": str(amount), "currency": currency})
                budget = Budget(**{**before.__dict__, "amount": amount, "currency": currency,
                                   "set_by": actor.staff_id})
            lines = await self._lines(uow, [budget], EVERYONE)
            await uow.commit()
        return lines[0]

    async def _lines(self, uow: ExpensesUnitOfWork, budgets: Sequence[Budget], scope: ScopeFilter
                     ) -> list[BudgetLine]:
        if not budgets:
            return []
        years = {b.year for b in budgets}
        spent: dict[SpentKey, Decimal] = defaultdict(Decimal)
        for year in years:
            since, before = year_span(year)
            for dept, cat, project, currency, status, total in await uow.expenses.expenses.spent(
                    scope, since=since, before=before, statuses=(Status.APPROVED, Status.SUBMITTED)):
                spent[(dept, cat, project, currency, status)] += total
        departments = {d.id: d.name for d in await uow.organisation.departments.list_all(include_deleted=True)}
        categories = {c.id: c for c in await uow.expenses.categories.every()}
        projects = await uow.expenses.projects.names([b.project_id for b in budgets if b.project_id is not None])
        return [BudgetLine(b, departments.get(b.department_id, "?"), categories[b.category_id],
                           projects.get(b.project_id) if b.project_id is not None else None,
                           used_of(b, spent, Status.APPROVED), used_of(b, spent, Status.SUBMITTED))
                for b in budgets]

    async def usage(self, actor: Actor, year: int | None = None) -> UsageView:
        """The year's budgets of the departments in the actor's scope, each with what the expenses the actor may
        see use of it (a rep sees their own share of their department's budget)."""
        self._may_read(actor)
        year = year or self.this_year(actor)
        async with self._uow(write=False) as uow:
            departments = scope_departments(actor, await uow.organisation.departments.list_all())
            budgets = await uow.expenses.budgets.listed(year, [d.id for d in departments])
            lines = await self._lines(uow, budgets, actor.scope_filter("expenses"))
        lines.sort(key=lambda line: (line.department_name, line.category.sequence, line.project_name or ""))
        return UsageView(year, tuple(lines))

    # ---- next year's proposal ---------------------------------------------------------------------------------

    async def proposal_rows(self, uow: ExpensesUnitOfWork, actor: Actor, year: int) -> list[ProposalRow]:
        """Per department × category × currency in the actor's scope: this year's approved actual, this year's
        budget (the department's own, not a project's), and the actual scaled by the growth setting."""
        departments = scope_departments(actor, await uow.organisation.departments.list_all())
        names = {d.id: d.name for d in departments}
        since, before = year_span(year)
        actual: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
        for dept, cat, _, currency, _, total in await uow.expenses.expenses.spent(
                actor.scope_filter("expenses"), since=since, before=before, statuses=(Status.APPROVED,)):
            if dept in names:
                actual[(dept, cat, currency)] += total
        budgets: dict[tuple[int, int, str], Decimal] = {}
        for budget in await uow.expenses.budgets.listed(year, list(names)):
            if budget.project_id is None:
                budgets[(budget.department_id, budget.category_id, budget.currency)] = budget.amount
        categories = {c.id: c for c in await uow.expenses.categories.every()}
        rows = [ProposalRow(names[dept], categories[cat], currency, actual.get((dept, cat, currency), Decimal(0)),
                            budgets.get((dept, cat, currency)),
                            proposal_of(actual.get((dept, cat, currency), Decimal(0)), self.growth_percent))
                for dept, cat, currency in set(actual) | set(budgets)]
        rows.sort(key=lambda r: (r.department, r.category.sequence, r.category.id, r.currency))
        return rows

    async def proposal(self, actor: Actor, translate: Translate, locale: str) -> SheetFile:
        """Next year's proposal as an XLSX file, prepared in the worker (rows from SQL sums)."""
        actor.require("expenses.budget")
        year = self.this_year(actor)
        return await self._worker.run(lambda factory: self._proposal(factory, actor, year, translate, locale))

    async def _proposal(self, factory: UnitOfWorkFactory[ExpensesUnitOfWork], actor: Actor, year: int,
                        translate: Translate, locale: str) -> SheetFile:
        async with factory(write=False) as uow:
            rows = await self.proposal_rows(uow, actor, year)
        headers = [translate("expenses.col_department"), translate("expenses.col_category"),
                   translate("expenses.col_currency"), translate("expenses.col_actual", year=year),
                   translate("expenses.col_budget", year=year), translate("expenses.col_proposal", year=year + 1)]
        cells = [[r.department, r.category.display_name(locale), r.currency, r.actual,
                  r.budget if r.budget is not None else "", r.proposal] for r in rows]
        title = translate("expenses.proposal_sheet", year=year + 1)
        data = await asyncio.to_thread(self._sheets.write, [(title, headers, cells)])
        return SheetFile(f"budget-proposal-{year + 1}.xlsx", data, len(rows))

    # ---- alerts -----------------------------------------------------------------------------------------------

    async def alert(self, alert_id: int) -> BudgetAlert | None:
        """An alert with its budget's use now and the managers to tell (None when it is gone)."""
        async with self._uow(write=False) as uow:
            return await alert_of(uow, alert_id)

    async def unsent(self, *, limit: int = 50, max_attempts: int = 20) -> list[int]:
        async with self._uow(write=False) as uow:
            return [alert_id for alert_id, _, _ in await uow.expenses.alerts.unsent(limit=limit,
                                                                                    max_attempts=max_attempts)]

    async def told(self, alert_id: int, *, sent: bool) -> None:
        async with self._uow() as uow:
            await uow.expenses.alerts.mark(alert_id, sent_at=self._clock.now() if sent else None)
            await uow.commit()


async def crossings(uow: ExpensesUnitOfWork, expense: Expense, submitter: Staff, now: datetime) -> list[int]:
    """In the approval's transaction: the alerts this approval raises (ids), at most one per budget and threshold
    ever. When one approval crosses 80% and 100% at once, only the 100% alert is told (the 80% one is written as
    told, so it is never sent later)."""
    year = expense.spent_on.year
    keys = {0} | ({expense.project_id} if expense.project_id is not None else set())
    budgets = [b for b in [await uow.expenses.budgets.find(submitter.department_id, expense.category_id, year,
                                                           key or None) for key in keys]
               if b is not None and b.currency == expense.currency]
    if not budgets:
        return []
    since, before = year_span(year)
    spent: dict[SpentKey, Decimal] = defaultdict(Decimal)
    for dept, cat, project, currency, status, total in await uow.expenses.expenses.spent(
            EVERYONE, since=since, before=before, statuses=(Status.APPROVED,)):
        spent[(dept, cat, project, currency, status)] += total
    raised: list[int] = []
    for budget in budgets:
        used = used_of(budget, spent, Status.APPROVED)
        done = await uow.expenses.alerts.crossed(budget.id)
        new = [th for th in ALERT_THRESHOLDS if th not in done and crossed(used, budget.amount, th)]
        for threshold in new:
            alert_id = await uow.expenses.alerts.add(budget.id, threshold, used, now)
            if threshold != new[-1]:
                await uow.expenses.alerts.mark(alert_id, sent_at=now)  # overtaken by the higher one
            else:
                raised.append(alert_id)
    return raised


def department_managers(department_id: int, departments: Sequence[Department], staff: Sequence[Staff],
                        managers: set[int], others: set[int]) -> tuple[Staff, ...]:
    """Whom a budget alert goes to: the department's managers — approvers whose expenses scope is their department
    (tree) — sitting in it, or in the nearest department above it that has any; failing those, approvers who see
    everything (finance, an administrator), found the same way."""
    return (_nearest(department_id, departments, staff, managers)
            or _nearest(department_id, departments, staff, others))


def _nearest(department_id: int, departments: Sequence[Department], staff: Sequence[Staff],
             approver_roles: set[int]) -> tuple[Staff, ...]:
    parents = {d.id: d.parent_id for d in departments}
    current: int | None = department_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        seen.add(current)
        found = tuple(p for p in staff if p.department_id == current and p.role_id in approver_roles and p.active
                      and p.deleted_at is None)
        if found:
            return found
        current = parents.get(current)
    return ()


async def alert_of(uow: ExpensesUnitOfWork, alert_id: int) -> BudgetAlert | None:
    found = await uow.expenses.alerts.get(alert_id)
    if found is None:
        return None
    budget_id, threshold = found
    budget = await uow.expenses.budgets.get(budget_id)
    if budget is None:
        return None
    departments = await uow.organisation.departments.list_all(include_deleted=True)
    since, before = year_span(budget.year)
    spent: dict[SpentKey, Decimal] = defaultdict(Decimal)
    for dept, cat, project, currency, status, total in await uow.expenses.expenses.spent(
            EVERYONE, since=since, before=before, statuses=(Status.APPROVED, Status.SUBMITTED)):
        spent[(dept, cat, project, currency, status)] += total
    categories: dict[int, Category] = {c.id: c for c in await uow.expenses.categories.every()}
    projects = await uow.expenses.projects.names([budget.project_id] if budget.project_id else [])
    line = BudgetLine(budget, next((d.name for d in departments if d.id == budget.department_id), "?"),
                      categories[budget.category_id], projects.get(budget.project_id or 0),
                      used_of(budget, spent, Status.APPROVED), used_of(budget, spent, Status.SUBMITTED))
    approvers = [r for r in await uow.organisation.roles.list_all() if "expenses.approve" in r.permissions]
    managers = {r.id for r in approvers if r.scopes.get("expenses") in (Scope.DEPARTMENT, Scope.DEPARTMENT_TREE)}
    others = {r.id for r in approvers} - managers
    staff = await uow.organisation.staff.list(EVERYONE, limit=100_000)
    return BudgetAlert(alert_id, threshold, line, department_managers(budget.department_id, departments, staff,
                                                                      managers, others))
