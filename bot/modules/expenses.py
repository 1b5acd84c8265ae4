"""The expenses module: expenses logged in chat and their approval (projects and budgets build on it later)."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.expenses.digest import PendingExpensesSection
from crm.expenses.expenses import ExpenseService
from crm.expenses.module import ExpensesServices
from crm.organisation.module import OrganisationServices
from handlers.core.menu import Command
from handlers.expenses import registration
from storage.expenses import tables


def build(wiring: Wiring) -> ExpensesServices:
    wiring.need(OrganisationServices).digest_sections.add(PendingExpensesSection())
    return ExpensesServices(
        expenses=ExpenseService(wiring.uow, wiring.clock, currency=wiring.settings.default_currency))


MODULE = Module(
    name="expenses",
    requires=("organisation", "customers"),
    build=build,
    operations=("expenses.create", "expenses.approve", "expenses.budget"),
    commands=(
        Command("expense", "expenses.cmd_expense", "expenses.create"),
        Command("expenses", "expenses.cmd_expenses",
                lambda actor: actor.can("expenses.create") or actor.can("expenses.approve")),
        Command("approvals", "expenses.cmd_approvals", "expenses.approve"),
    ),
    handlers=(registration.register,),
    tables=(tables.expense_categories, tables.expenses),
)
