"""The orders module's part of a manager's digest (crm/organisation/digest.py): orders that count as sold and
their revenue in the period against the period before, per currency, within the manager's ``sales`` scope (the
definitions of the sales analysis, crm/orders/report_model.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm.orders.ports import OrdersUnitOfWork
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestSectionResult
from crm.organisation.permissions import Actor


class OrdersDigestSection:
    name = "orders"
    position = 50

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("sales.view"):
            return None
        work: OrdersUnitOfWork = uow
        scope = actor.scope_filter("sales")
        now = {c: (r, n) for c, r, n in await work.orders.figures.totals(scope, period.start, period.end)}
        before = {c: (r, n) for c, r, n in await work.orders.figures.totals(scope, previous.start, previous.end)}
        zero = (Decimal(0), 0)
        figures: list[DigestFigure] = [DigestFigure(
            "orders.digest_orders", sum(n for _, n in now.values()), sum(n for _, n in before.values()))]
        for currency in sorted(set(now) | set(before)):
            figures.append(DigestFigure("orders.digest_revenue", now.get(currency, zero)[0],
                                        before.get(currency, zero)[0], {"currency": currency}))
        return DigestSectionResult(self.name, "orders.digest_title", tuple(figures))
