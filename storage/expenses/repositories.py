"""Repositories for expenses, their categories, projects, budgets and budget alerts.

Sums are taken in SQL as whole cents (``_cents``): SQLite keeps amounts as text (storage/types.py), and its SUM of
text is a float; cents as integers add up exactly on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    Row,
    case,
    cast,
    extract,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.expenses.model import Budget, Category, Expense, Project, ProjectStatus, Status
from crm.organisation.permissions import ScopeFilter
from storage.expenses import tables as t
from storage.organisation import tables as org
from storage.organisation.repositories import scope_clause

_FIELDS = tuple(f.name for f in fields(Expense))
_WRITTEN = tuple(name for name in _FIELDS if name not in ("id", "deleted_at"))


def _cents(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(cast(func.round(cast(column, Numeric(18, 4)) * 100), BigInteger))


def _money(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(Decimal("0.01"))


def _category(row: Row[Any]) -> Category:
    return Category(row.id, row.key, row.name, row.name_zh_hant, row.name_zh_hans, row.words, row.sequence)


def _expense(row: Row[Any]) -> Expense:
    values = {name: getattr(row, name) for name in _FIELDS}
    return Expense(**{**values, "status": Status(row.status)})


class SqlExpenseCategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def all(self) -> Sequence[Category]:
        c = t.expense_categories
        rows = await self._c.execute(select(c).where(c.c.deleted_at.is_(None)).order_by(c.c.sequence, c.c.id))
        return [_category(row) for row in rows]

    async def every(self) -> Sequence[Category]:
        """Deactivated ones too: old expenses still name them."""
        c = t.expense_categories
        return [_category(row) for row in await self._c.execute(select(c).order_by(c.c.sequence, c.c.id))]

    async def update(self, category_id: int, **fields: Any) -> None:
        c = t.expense_categories
        await self._c.execute(update(c).where(c.c.id == category_id).values(**fields))

    async def add(self, category: Category) -> Category:
        c = t.expense_categories
        new_id = (await self._c.execute(insert(c).values(
            key=category.key, name=category.name, name_zh_hant=category.name_zh_hant,
            name_zh_hans=category.name_zh_hans, words=category.words, sequence=category.sequence,
        ).returning(c.c.id))).scalar_one()
        return Category(int(new_id), category.key, category.name, category.name_zh_hant, category.name_zh_hans,
                        category.words, category.sequence)


class SqlExpenseRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, expense: Expense) -> Expense:
        values = {name: getattr(expense, name) for name in _WRITTEN}
        e = t.expenses
        new_id = (await self._c.execute(insert(e).values(**{**values, "status": expense.status.value})
                                        .returning(e.c.id))).scalar_one()
        return Expense(**{**values, "id": int(new_id)})

    async def get(self, expense_id: int, *, include_deleted: bool = False) -> Expense | None:
        e = t.expenses
        q = select(e).where(e.c.id == expense_id)
        row = (await self._c.execute(q if include_deleted else q.where(e.c.deleted_at.is_(None)))).first()
        return _expense(row) if row is not None else None

    async def update(self, expense_id: int, **fields: Any) -> None:
        if isinstance(fields.get("status"), Status):
            fields["status"] = fields["status"].value
        await self._c.execute(update(t.expenses).where(t.expenses.c.id == expense_id).values(**fields))

    async def listed(self, scope: ScopeFilter, *, staff_id: int | None = None, status: Status | None = None,
                     since: date | None = None, before: date | None = None, limit: int) -> Sequence[Expense]:
        e = t.expenses.c
        where = [e.deleted_at.is_(None), scope_clause(scope, e.staff_id)]
        if staff_id is not None:
            where.append(e.staff_id == staff_id)
        if status is not None:
            where.append(e.status == status.value)
        if since is not None:
            where.append(e.spent_on >= since)
        if before is not None:
            where.append(e.spent_on < before)
        rows = await self._c.execute(select(t.expenses).where(*where)
                                     .order_by(e.spent_on.desc(), e.id.desc()).limit(limit))
        return [_expense(row) for row in rows]

    async def sums(self, scope: ScopeFilter, group: str, *, since: date, before: date,
                   statuses: Sequence[Status]) -> Sequence[tuple[Any, str, Decimal, int]]:
        """(group key, currency, total, count) of live expenses in scope spent in ``[since, before)``, grouped by
        ``category`` (id), ``staff`` (id), ``customer`` (id or None), ``project`` (id or None) or ``month``
        ("YYYY-MM"); largest totals first."""
        e = t.expenses.c
        key: ColumnElement[Any]
        if group == "month":
            key = extract("year", e.spent_on) * 100 + extract("month", e.spent_on)
        else:
            key = {"category": e.category_id, "staff": e.staff_id, "customer": e.customer_id,
                   "project": e.project_id}[group]
        total = _cents(e.amount)
        q = (select(key.label("key"), e.currency, total.label("cents"), func.count().label("n"))
             .where(e.deleted_at.is_(None), scope_clause(scope, e.staff_id), e.spent_on >= since,
                    e.spent_on < before, e.status.in_([s.value for s in statuses]))
             .group_by(key, e.currency).order_by(total.desc(), e.currency))
        rows = await self._c.execute(q)
        out: list[tuple[Any, str, Decimal, int]] = []
        for row in rows:
            k = row.key
            if group == "month" and k is not None:
                k = f"{int(k) // 100:04d}-{int(k) % 100:02d}"
            out.append((k, row.currency, _money(row.cents), int(row.n)))
        return out

    async def spent(self, scope: ScopeFilter, *, since: date, before: date, statuses: Sequence[Status],
                    project_id: int | None = None) -> Sequence[tuple[int, int, int | None, str, Status, Decimal]]:
        """(department of the person, category, project, currency, status, total) of live expenses in scope spent
        in ``[since, before)``: what budgets are measured against, in one grouped query."""
        e = t.expenses.c
        s = org.staff.c
        total = _cents(e.amount)
        where = [e.deleted_at.is_(None), scope_clause(scope, e.staff_id, s.department_id), e.spent_on >= since,
                 e.spent_on < before, e.status.in_([st.value for st in statuses])]
        if project_id is not None:
            where.append(e.project_id == project_id)
        q = (select(s.department_id, e.category_id, e.project_id, e.currency, e.status, total.label("cents"))
             .select_from(t.expenses.join(org.staff, org.staff.c.id == e.staff_id)).where(*where)
             .group_by(s.department_id, e.category_id, e.project_id, e.currency, e.status))
        return [(int(r.department_id), int(r.category_id), r.project_id, r.currency, Status(r.status),
                 _money(r.cents)) for r in await self._c.execute(q)]


    async def pending_at(self, scope: ScopeFilter, at: datetime, *, not_of: int
                         ) -> Sequence[tuple[str, int, Decimal]]:
        """(currency, count, total) of the expenses in scope that waited for approval at ``at`` (submitted before
        it, not decided by then), not ``not_of``'s own: one GROUP BY, summed exactly."""
        e = t.expenses.c

        def amount(column: Any) -> Any:
            if self._c.dialect.name == "sqlite":
                # Amounts are text on SQLite (exact); summed as integer ten-thousandths, then back to Decimal.
                return func.sum(cast(func.round(cast(column, Float) * 10000), BigInteger))
            return func.sum(column)

        # Two index-friendly halves rather than one OR: still waiting (status), and decided only after ``at``.
        mine = (e.deleted_at.is_(None), e.created_at < at, e.staff_id != not_of, scope_clause(scope, e.staff_id))
        waiting = union_all(
            select(e.currency, e.amount).where(e.status == Status.SUBMITTED.value, *mine),
            select(e.currency, e.amount).where(e.status != Status.SUBMITTED.value, e.decided_at >= at, *mine),
        ).subquery()
        q = (select(waiting.c.currency, func.count().label("n"), amount(waiting.c.amount).label("total"))
             .group_by(waiting.c.currency).order_by(waiting.c.currency))
        sqlite = self._c.dialect.name == "sqlite"
        return [(str(r.currency), int(r.n),
                 Decimal(int(r.total)) / 10000 if sqlite else Decimal(r.total)) for r in await self._c.execute(q)]

def _project(row: Row[Any]) -> Project:
    return Project(id=row.id, name=row.name, owner_id=row.owner_id, status=ProjectStatus(row.status),
                   customer_id=row.customer_id, created_at=row.created_at, updated_at=row.updated_at,
                   deleted_at=row.deleted_at)


class SqlProjectRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, project: Project, name_key: str) -> Project:
        p = t.projects
        new_id = (await self._c.execute(insert(p).values(
            name=project.name, name_key=name_key, customer_id=project.customer_id, owner_id=project.owner_id,
            status=project.status.value, created_at=project.created_at, updated_at=project.updated_at,
        ).returning(p.c.id))).scalar_one()
        return Project(**{**project.__dict__, "id": int(new_id)})

    async def get(self, project_id: int) -> Project | None:
        p = t.projects
        row = (await self._c.execute(select(p).where(p.c.id == project_id, p.c.deleted_at.is_(None)))).first()
        return _project(row) if row is not None else None

    async def update(self, project_id: int, **fields: Any) -> None:
        if isinstance(fields.get("status"), ProjectStatus):
            fields["status"] = fields["status"].value
        await self._c.execute(update(t.projects).where(t.projects.c.id == project_id).values(**fields))

    async def named(self, name_key: str, *, limit: int) -> Sequence[Project]:
        """Live projects not closed whose folded name is ``name_key`` or contains it; exact matches first."""
        p = t.projects.c
        pattern = "%" + name_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = (select(t.projects)
             .where(p.deleted_at.is_(None), p.status != ProjectStatus.CLOSED.value,
                    p.name_key.like(pattern, escape="\\"))
             .order_by(case((p.name_key == name_key, 0), else_=1), p.name, p.id).limit(limit))
        return [_project(row) for row in await self._c.execute(q)]

    async def taken(self, name_key: str) -> bool:
        p = t.projects.c
        q = select(p.id).where(p.deleted_at.is_(None), p.name_key == name_key).limit(1)
        return (await self._c.execute(q)).first() is not None

    async def listed(self, scope: ScopeFilter, *, limit: int, offset: int = 0) -> Sequence[Project]:
        """Live projects whose owner is in scope: active ones first, then by name."""
        p = t.projects.c
        order = case((p.status == ProjectStatus.ACTIVE.value, 0), (p.status == ProjectStatus.ON_HOLD.value, 1),
                     else_=2)
        q = (select(t.projects).where(p.deleted_at.is_(None), scope_clause(scope, p.owner_id))
             .order_by(order, p.name, p.id).limit(limit).offset(offset))
        return [_project(row) for row in await self._c.execute(q)]

    async def names(self, project_ids: Sequence[int]) -> dict[int, str]:
        if not project_ids:
            return {}
        p = t.projects.c
        rows = await self._c.execute(select(p.id, p.name).where(p.id.in_(sorted(set(project_ids)))))
        return {int(r.id): r.name for r in rows}

    async def totals(self, scope: ScopeFilter, project_id: int) -> tuple[Sequence[tuple[str, Decimal]], int]:
        """Per currency, the live, not rejected expenses on the project that the scope allows, and their count."""
        e = t.expenses.c
        q = (select(e.currency, _cents(e.amount).label("cents"), func.count().label("n"))
             .where(e.project_id == project_id, e.deleted_at.is_(None), e.status != Status.REJECTED.value,
                    scope_clause(scope, e.staff_id))
             .group_by(e.currency).order_by(e.currency))
        rows = list(await self._c.execute(q))
        return [(r.currency, _money(r.cents)) for r in rows], sum(int(r.n) for r in rows)


def _budget(row: Row[Any]) -> Budget:
    return Budget(id=row.id, department_id=row.department_id, category_id=row.category_id, year=row.year,
                  amount=row.amount, currency=row.currency, project_id=row.project_id, set_by=row.set_by)


class SqlBudgetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def find(self, department_id: int, category_id: int, year: int, project_id: int | None) -> Budget | None:
        b = t.expense_budgets.c
        row = (await self._c.execute(select(t.expense_budgets).where(
            b.department_id == department_id, b.category_id == category_id, b.year == year,
            b.project_key == (project_id or 0)))).first()
        return _budget(row) if row is not None else None

    async def get(self, budget_id: int) -> Budget | None:
        b = t.expense_budgets.c
        row = (await self._c.execute(select(t.expense_budgets).where(b.id == budget_id))).first()
        return _budget(row) if row is not None else None

    async def add(self, budget: Budget, now: datetime) -> Budget:
        b = t.expense_budgets
        new_id = (await self._c.execute(insert(b).values(
            department_id=budget.department_id, category_id=budget.category_id, year=budget.year,
            project_id=budget.project_id, project_key=budget.project_id or 0, amount=budget.amount,
            currency=budget.currency, set_by=budget.set_by, created_at=now, updated_at=now,
        ).returning(b.c.id))).scalar_one()
        return Budget(**{**budget.__dict__, "id": int(new_id)})

    async def update(self, budget_id: int, **fields: Any) -> None:
        b = t.expense_budgets
        await self._c.execute(update(b).where(b.c.id == budget_id).values(**fields))

    async def listed(self, year: int, department_ids: Sequence[int] | None) -> Sequence[Budget]:
        """The year's budgets, of these departments (all when None)."""
        b = t.expense_budgets.c
        where = [b.year == year]
        if department_ids is not None:
            where.append(b.department_id.in_(sorted(set(department_ids))))
        q = select(t.expense_budgets).where(*where).order_by(b.department_id, b.category_id, b.project_key)
        return [_budget(row) for row in await self._c.execute(q)]


class SqlBudgetAlertRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def crossed(self, budget_id: int) -> set[int]:
        a = t.expense_budget_alerts.c
        return {int(r.threshold) for r in await self._c.execute(select(a.threshold).where(a.budget_id == budget_id))}

    async def get(self, alert_id: int) -> tuple[int, int] | None:
        a = t.expense_budget_alerts.c
        row = (await self._c.execute(select(a.budget_id, a.threshold).where(a.id == alert_id))).first()
        return (int(row.budget_id), int(row.threshold)) if row is not None else None

    async def add(self, budget_id: int, threshold: int, used: Decimal, now: datetime) -> int:
        a = t.expense_budget_alerts
        return int((await self._c.execute(insert(a).values(
            budget_id=budget_id, threshold=threshold, used=used, crossed_at=now, attempts=0,
        ).returning(a.c.id))).scalar_one())

    async def unsent(self, *, limit: int, max_attempts: int) -> Sequence[tuple[int, int, int]]:
        """(alert id, budget id, threshold) of alerts not yet told, oldest first."""
        a = t.expense_budget_alerts.c
        q = (select(a.id, a.budget_id, a.threshold).where(a.sent_at.is_(None), a.attempts < max_attempts)
             .order_by(a.id).limit(limit))
        return [(int(r.id), int(r.budget_id), int(r.threshold)) for r in await self._c.execute(q)]

    async def mark(self, alert_id: int, *, sent_at: datetime | None) -> None:
        a = t.expense_budget_alerts
        await self._c.execute(update(a).where(a.c.id == alert_id)
                              .values(sent_at=sent_at, attempts=a.c.attempts + 1))
