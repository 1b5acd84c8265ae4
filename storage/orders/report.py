"""The sales analysis's sums (crm/orders/report.py): GROUP BY on orders and order lines, in SQL, for a query scope.

Money is summed as integer cents, each row rounded first (``ExactDecimal`` is text on SQLite, whose NUMERIC is a
float: a sum of floats would drift; a sum of rounded integers does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core import locales
from crm.orders.report_model import COUNTED, GroupSum, ProductFacts, ProductSum
from crm.organisation.permissions import ScopeFilter
from storage.customers import tables as ct
from storage.orders import tables as t
from storage.organisation import tables as ot
from storage.organisation.repositories import scope_clause
from storage.sales import tables as st

_COUNTED = [status.value for status in COUNTED]


def _number(column: Any) -> ColumnElement[Any]:
    return cast(column, Numeric(18, 4))


def _cents(amount: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(cast(func.round(amount * 100), BigInteger))


def _money(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(Decimal("0.01"))


class SqlSalesFigures:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _counted(scope: ScopeFilter, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        o = t.orders.c
        return [o.deleted_at.is_(None), o.status.in_(_COUNTED), o.created_at >= start, o.created_at < end,
                scope_clause(scope, o.owner_id)]

    async def totals(self, scope: ScopeFilter, start: datetime, end: datetime) -> Sequence[tuple[str, Decimal, int]]:
        """(currency, revenue, orders) of the counted orders taken in ``[start, end)``, largest revenue first."""
        o = t.orders.c
        cents = _cents(_number(o.total))
        rows = await self._c.execute(select(o.currency, cents.label("cents"), func.count().label("n"))
                                     .where(*self._counted(scope, start, end))
                                     .group_by(o.currency).order_by(cents.desc(), o.currency))
        return [(row.currency, _money(row.cents), int(row.n)) for row in rows]

    async def grouped(self, scope: ScopeFilter, start: datetime, end: datetime, group: str, *,
                      limit: int | None = None, keys: Sequence[int] | None = None) -> Sequence[GroupSum]:
        """Revenue (order totals) and orders per ``customer`` or ``rep``, per currency, largest first. ``keys``
        keeps only those (the previous period of the rows shown)."""
        o, c, s = t.orders.c, ct.customers.c, ot.staff.c
        if group == "customer":
            key, label, source = o.customer_id, c.name, t.orders.join(ct.customers, c.id == o.customer_id)
        elif group == "rep":
            key, label, source = o.owner_id, s.name, t.orders.join(ot.staff, s.id == o.owner_id)
        else:
            raise ValueError(group)
        cents = _cents(_number(o.total))
        where = self._counted(scope, start, end)
        if keys is not None:
            if not keys:
                return []
            where.append(key.in_(list(keys)))
        q = (select(key.label("key"), label.label("name"), o.currency, cents.label("cents"),
                    func.count().label("n"))
             .select_from(source).where(*where).group_by(key, label, o.currency).order_by(cents.desc(), key))
        if limit is not None:
            q = q.limit(limit)
        return [GroupSum(row.key, row.name, row.currency, _money(row.cents), int(row.n))
                for row in await self._c.execute(q)]

    async def product_sums(self, scope: ScopeFilter, previous: datetime, start: datetime,
                           end: datetime) -> Sequence[ProductSum]:
        """Per product, currency and period (the previous one, ``[previous, start)``, or this one): the lines'
        amount after line and order discounts, before tax, and the quantity. One pass over the lines of both
        periods, no join beyond the orders: names, categories and costs are read for the products found."""
        o, line = t.orders.c, t.order_lines.c
        net = (_number(line.quantity) * _number(line.unit_price) * (100 - _number(line.discount))
               * (100 - _number(o.order_discount)) / 10000)
        current = (o.created_at >= start).label("current")
        quantity = func.sum(cast(func.round(_number(line.quantity) * 10000), BigInteger))
        q = (select(line.product_id, o.currency, current, _cents(net).label("cents"), quantity.label("qty"))
             .select_from(t.orders.join(t.order_lines, line.order_id == o.id))
             .where(*self._counted(scope, previous, end)).group_by(line.product_id, o.currency, current))
        return [ProductSum(int(row.product_id), row.currency, bool(row.current), _money(row.cents),
                           Decimal(int(row.qty or 0)) / 10000) for row in await self._c.execute(q)]

    async def products(self, product_ids: Sequence[int]) -> Mapping[int, ProductFacts]:
        """Name (in each language), category and cost of these products, deleted ones too."""
        p, pc = st.products.c, st.product_categories.c
        out: dict[int, ProductFacts] = {}
        ids = sorted(set(product_ids))
        for chunk in range(0, len(ids), 500):
            rows = await self._c.execute(
                select(p.id, p.sku, p.name, p.name_zh_hant, p.name_zh_hans, p.category_id, p.cost,
                       pc.name.label("category"))
                .select_from(st.products.outerjoin(st.product_categories, pc.id == p.category_id))
                .where(p.id.in_(ids[chunk:chunk + 500])))
            for row in rows:
                names = {locales.ZH_HANT: row.name_zh_hant, locales.ZH_HANS: row.name_zh_hans}
                out[int(row.id)] = ProductFacts(
                    f"{row.sku} {row.name}", {k: f"{row.sku} {v}" for k, v in names.items() if v},
                    row.category_id, row.category, row.cost)
        return out

    async def buckets(self, scope: ScopeFilter, bounds: Sequence[datetime],
                      currency: str) -> Sequence[Decimal]:
        """Revenue in ``currency`` between each consecutive pair of ``bounds``: one query, the bucket chosen by a
        CASE on the order's time."""
        o = t.orders.c
        if len(bounds) < 2:
            return []
        bucket = case(*((o.created_at < bound, i) for i, bound in enumerate(bounds[1:])), else_=len(bounds) - 1)
        cents = _cents(_number(o.total))
        rows = await self._c.execute(select(bucket.label("b"), cents.label("cents"))
                                     .where(*self._counted(scope, bounds[0], bounds[-1]), o.currency == currency)
                                     .group_by(bucket))
        values = [Decimal("0.00")] * (len(bounds) - 1)
        for row in rows:
            if 0 <= int(row.b) < len(values):
                values[int(row.b)] = _money(row.cents)
        return values
