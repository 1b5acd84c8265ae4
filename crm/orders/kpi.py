"""The orders module's measures for performance reviews (crm/organisation/kpi.py): revenue and orders a person took
in the period, the orders that count as sold (as the sales analysis counts them), in the organisation's currency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crm.orders.ports import OrdersUnitOfWork
from crm.organisation.kpi import KpiPeriod
from crm.organisation.permissions import ScopeFilter

# The HR service has already limited the people to the reviewer's scope; the keys below pick them.
_EVERYONE = ScopeFilter(everything=True, owner_id=0)


class _OrderFigures:
    def __init__(self, currency: str) -> None:
        self.currency_code = currency

    async def _sums(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> list[tuple[int, Decimal, int]]:
        work: OrdersUnitOfWork = uow
        rows = await work.orders.figures.grouped(_EVERYONE, period.start, period.end, "rep", keys=list(staff_ids))
        return [(row.key, row.revenue, row.orders) for row in rows if row.currency == self.currency_code]


class RevenueKpi(_OrderFigures):
    name = "revenue"
    title_key = "kpi.revenue"
    position = 50

    @property
    def currency(self) -> str | None:
        return self.currency_code

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        return {who: revenue for who, revenue, _ in await self._sums(uow, staff_ids, period)}


class OrdersKpi(_OrderFigures):
    name = "orders"
    title_key = "kpi.orders"
    position = 60
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        return {who: Decimal(n) for who, _, n in await self._sums(uow, staff_ids, period)}
