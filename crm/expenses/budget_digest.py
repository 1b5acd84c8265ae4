"""The managers' digest section "expenses: spent vs budget" (crm/organisation/digest.py).

Per currency, this year's budgets of the departments in the manager's ``expenses`` scope against the approved
expenses in that scope up to the end of the digest's period, and the same at the end of the period before; one
row per category that has a budget. Sums come from SQL (``ExpenseRepository.spent`` groups them), so the
section costs a few grouped queries whatever the number of expenses.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.expenses.budgets import scope_departments
from crm.expenses.model import Status
from crm.expenses.ports import ExpensesUnitOfWork
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestRow, DigestSectionResult
from crm.organisation.permissions import Actor


class BudgetDigestSection:
    name = "expenses_budget"
    position = 60

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not (actor.can("expenses.approve") or actor.can("expenses.budget")):
            return None
        work: ExpensesUnitOfWork = uow
        zone = ZoneInfo(actor.timezone)
        end = period.end.astimezone(zone).date()
        before_end = previous.end.astimezone(zone).date()
        year = (period.end.astimezone(zone) - (period.end - period.start) / 2).year  # the period's own year
        departments = {d.id for d in scope_departments(actor, await work.organisation.departments.list_all())}
        budgets = [b for b in await work.expenses.budgets.listed(year, sorted(departments)) if b.project_id is None]
        if not budgets:
            return None
        categories = {c.id: c for c in await work.expenses.categories.every()}
        scope = actor.scope_filter("expenses")
        start = date(year, 1, 1)

        async def spent_until(until: date) -> dict[tuple[int, str], Decimal]:
            sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
            if until <= start:
                return sums
            for dept, cat, _, currency, _, total in await work.expenses.expenses.spent(
                    scope, since=start, before=until, statuses=(Status.APPROVED,)):
                if dept in departments:
                    sums[(cat, currency)] += total
            return sums

        now, then = await spent_until(min(end, date(year + 1, 1, 1))), await spent_until(before_end)
        budget_by: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for b in budgets:
            budget_by[(b.category_id, b.currency)] += b.amount
        currencies = sorted({currency for _, currency in budget_by})
        figures: list[DigestFigure] = []
        for currency in currencies:
            spent = sum((v for (_, cur), v in now.items() if cur == currency and (_, cur) in budget_by), Decimal(0))
            spent_before = sum((v for (c, cur), v in then.items() if cur == currency and (c, cur) in budget_by),
                               Decimal(0))
            total = sum((v for (_, cur), v in budget_by.items() if cur == currency), Decimal(0))
            figures.append(DigestFigure("expenses.digest_spent", spent, spent_before, {"currency": currency}))
            figures.append(DigestFigure("expenses.digest_budget", total, None, {"currency": currency}))
        rows = tuple(
            DigestRow(categories[cat].name if cat in categories else "?", (
                DigestFigure("expenses.digest_spent", now.get((cat, currency), Decimal(0)),
                             then.get((cat, currency), Decimal(0)), {"currency": currency}),
                DigestFigure("expenses.digest_percent",
                             int(now.get((cat, currency), Decimal(0)) * 100 / amount) if amount else 0, None,
                             {"budget": str(amount), "currency": currency})))
            for (cat, currency), amount in sorted(budget_by.items(),
                                                  key=lambda kv: (categories[kv[0][0]].sequence
                                                                  if kv[0][0] in categories else 0, kv[0])))
        return DigestSectionResult(self.name, "expenses.digest_budget_title", tuple(figures), rows)
