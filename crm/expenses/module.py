"""The expenses module: expenses logged in chat and their approval (projects and budgets come later).

The module's services as one namespace: ``services.expenses.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.expenses.expenses import ExpenseService


@dataclass
class ExpensesServices:
    expenses: ExpenseService
