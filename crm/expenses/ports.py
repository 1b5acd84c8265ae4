"""What the expenses module needs from storage (``storage/expenses`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from crm.customers.ports import CustomersUnitOfWork
from crm.expenses.model import Category, Expense, Status
from crm.organisation.permissions import ScopeFilter


class ExpenseCategoryRepository(Protocol):
    async def all(self) -> Sequence[Category]:
        """Every live category, in their order."""
        ...
    async def add(self, category: Category) -> Category: ...


class ExpenseRepository(Protocol):
    async def add(self, expense: Expense) -> Expense: ...
    async def get(self, expense_id: int) -> Expense | None:
        """A live (not deleted) expense."""
        ...
    async def update(self, expense_id: int, **fields: Any) -> None: ...
    async def listed(self, scope: ScopeFilter, *, staff_id: int | None = None, status: Status | None = None,
                     since: date | None = None, before: date | None = None, limit: int) -> Sequence[Expense]:
        """Live expenses the scope allows (of one person, with one status, spent in ``[since, before)`` when
        given), the latest spent first."""
        ...

    async def pending_at(self, scope: ScopeFilter, at: datetime, *, not_of: int
                         ) -> Sequence[tuple[str, int, Decimal]]:
        """(currency, count, total) of what waited for approval at ``at`` within the scope, not ``not_of``'s own,
        by currency."""
        ...


class ExpensesRepositories(Protocol):
    @property
    def categories(self) -> ExpenseCategoryRepository: ...
    @property
    def expenses(self) -> ExpenseRepository: ...


class ExpensesUnitOfWork(CustomersUnitOfWork, Protocol):
    @property
    def expenses(self) -> ExpensesRepositories: ...
