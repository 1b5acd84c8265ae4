"""The expenses module: expenses logged in chat and their approval, projects, budgets and reports.

The module's services as one namespace: ``services.expenses.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.expenses.budgets import BudgetService
from crm.expenses.categories import CategoryService
from crm.expenses.expenses import ExpenseService
from crm.expenses.projects import ProjectService
from crm.expenses.reports import ReportService


@dataclass
class ExpensesServices:
    expenses: ExpenseService
    projects: ProjectService
    budgets: BudgetService
    reports: ReportService
    categories: CategoryService
