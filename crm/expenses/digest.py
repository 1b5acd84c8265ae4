"""The expenses module's part of a manager's digest (crm/organisation/digest.py): the expenses waiting for the
manager's approval at the end of the period — how many, and how much in each currency — beside the same at the end
of the period before. Only for approvers, within their ``expenses`` query scope, their own not counted (as in
/approvals: nobody approves their own)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm.expenses.ports import ExpensesUnitOfWork
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestSectionResult
from crm.organisation.permissions import Actor


class PendingExpensesSection:
    name = "expenses"
    position = 50

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("expenses.approve"):
            return None
        work: ExpensesUnitOfWork = uow
        scope = actor.scope_filter("expenses")
        now = await work.expenses.expenses.pending_at(scope, period.end, not_of=actor.staff_id)
        then = await work.expenses.expenses.pending_at(scope, previous.end, not_of=actor.staff_id)
        count_before = {currency: n for currency, n, _ in then}
        total_before = {currency: total for currency, _, total in then}
        figures = [DigestFigure("expenses.digest_pending", sum(n for _, n, _ in now), sum(count_before.values()))]
        for currency in sorted({c for c, _, _ in now} | set(total_before)):
            amount = next((total for c, _, total in now if c == currency), Decimal(0))
            figures.append(DigestFigure("expenses.digest_pending_amount", amount,
                                        total_before.get(currency, Decimal(0)), {"currency": currency}))
        return DigestSectionResult(self.name, "expenses.digest_title", figures=tuple(figures))
