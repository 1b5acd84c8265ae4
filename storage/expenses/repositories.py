"""Repositories for expenses and their categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Float, Row, cast, func, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.expenses.model import Category, Expense, Status
from crm.organisation.permissions import ScopeFilter
from storage.expenses import tables as t
from storage.organisation.repositories import scope_clause

_FIELDS = tuple(f.name for f in fields(Expense))
_WRITTEN = tuple(name for name in _FIELDS if name not in ("id", "deleted_at"))


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

    async def get(self, expense_id: int) -> Expense | None:
        e = t.expenses
        row = (await self._c.execute(select(e).where(e.c.id == expense_id, e.c.deleted_at.is_(None)))).first()
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
