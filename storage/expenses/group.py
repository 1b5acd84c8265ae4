"""The expenses module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.expenses.repositories import (
    SqlBudgetAlertRepository,
    SqlBudgetRepository,
    SqlExpenseCategoryRepository,
    SqlExpenseRepository,
    SqlProjectRepository,
)


class ExpensesRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def categories(self) -> SqlExpenseCategoryRepository:
        return SqlExpenseCategoryRepository(self._conn)

    @cached_property
    def expenses(self) -> SqlExpenseRepository:
        return SqlExpenseRepository(self._conn)

    @cached_property
    def projects(self) -> SqlProjectRepository:
        return SqlProjectRepository(self._conn)

    @cached_property
    def budgets(self) -> SqlBudgetRepository:
        return SqlBudgetRepository(self._conn)

    @cached_property
    def alerts(self) -> SqlBudgetAlertRepository:
        return SqlBudgetAlertRepository(self._conn)
