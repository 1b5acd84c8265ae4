"""The expenses module: expenses logged in chat and their approval, projects, budgets with their alerts, the
budget proposal and reports."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.expenses.budget_digest import BudgetDigestSection
from crm.expenses.budgets import BudgetService
from crm.expenses.categories import CategoryService
from crm.expenses.digest import PendingExpensesSection
from crm.expenses.expenses import EXPENSE_KIND, ExpenseService
from crm.expenses.module import ExpensesServices
from crm.expenses.projects import ProjectService
from crm.expenses.reports import ReportService
from crm.fields.module import FieldsServices
from crm.organisation.module import OrganisationServices
from handlers.core.menu import Command
from handlers.expenses import registration
from outbound.expense_sheets import XlsxSheets
from scheduler.expenses import budget_alerts
from storage.expenses import tables
from storage.expenses.receipts import ReceiptFiles
from storage.offloop import worker_beside


def build(wiring: Wiring) -> ExpensesServices:
    uow, clock = wiring.uow, wiring.clock
    worker = worker_beside(uow, clock)  # the proposal and report files are written off the event loop
    sheets = XlsxSheets()
    wiring.need(OrganisationServices).digest_sections.add(BudgetDigestSection())
    wiring.need(OrganisationServices).digest_sections.add(PendingExpensesSection())
    expenses = ExpenseService(uow, clock, currency=wiring.settings.default_currency,
                              receipts=ReceiptFiles(wiring.settings.data_dir / "receipts"))
    fields = wiring.need(FieldsServices).fields
    fields.kinds[EXPENSE_KIND.entity] = EXPENSE_KIND  # custom fields on expenses (docs/fields.md)
    expenses.fields = fields
    return ExpensesServices(
        expenses=expenses,
        projects=ProjectService(uow, clock),
        budgets=BudgetService(uow, clock, sheets, growth_percent=wiring.settings.budget_growth_percent,
                              worker=worker),
        reports=ReportService(uow, clock, sheets, worker=worker),
        categories=CategoryService(uow, clock),
    )


MODULE = Module(
    name="expenses",
    requires=("organisation", "customers", "fields"),
    build=build,
    operations=("expenses.create", "expenses.approve", "expenses.budget", "projects.manage"),
    commands=(
        Command("expense", "expenses.cmd_expense", "expenses.create"),
        Command("expenses", "expenses.cmd_expenses",
                lambda actor: actor.can("expenses.create") or actor.can("expenses.approve")),
        Command("approvals", "expenses.cmd_approvals", "expenses.approve"),
        Command("budget", "expenses.cmd_budget",
                lambda actor: any(actor.can(op) for op in ("expenses.create", "expenses.approve", "expenses.budget"))),
        Command("expensereport", "expenses.cmd_report",
                lambda actor: any(actor.can(op) for op in ("expenses.create", "expenses.approve", "expenses.budget"))),
        Command("projects", "expenses.cmd_projects",
                lambda actor: any(actor.can(op) for op in ("projects.manage", "expenses.create", "expenses.approve"))),
        Command("expensecategories", "expenses.cmd_categories", "expenses.budget"),
    ),
    handlers=(registration.register,),
    jobs=(budget_alerts.register,),
    tables=(tables.expense_categories, tables.projects, tables.expenses, tables.expense_budgets,
            tables.expense_budget_alerts),
)
