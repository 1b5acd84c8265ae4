"""The sales analysis's sums (crm/orders/report.py): GROUP BY on orders and order lines, in SQL, for a query scope.

Money is summed as integer cents, each row rounded first (``ExactDecimal`` is text on SQLite, whose NUMERIC is a
float: a sum of floats would drift; a sum of rounded integers does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core import locales
from crm.orders.report_model import COUNTED, GroupSum
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
                      limit: int | None = None, keys: Sequence[int | None] | None = None,
                      with_cost: bool = False) -> Sequence[GroupSum]:
        """Revenue per ``customer`` or ``rep`` (order totals), or per ``product`` or ``category`` (line amounts
        after discounts, before tax; with their cost when asked), per currency, largest first. ``keys`` keeps
        only those groups (the previous period of the rows shown)."""
        o, line = t.orders.c, t.order_lines.c
        q: Any
        cost: ColumnElement[Any] | None = None
        if group in ("customer", "rep"):
            c, s = ct.customers.c, ot.staff.c
            key, label = (o.customer_id, c.name) if group == "customer" else (o.owner_id, s.name)
            cents = _cents(_number(o.total))
            counted = func.count()
            source = (t.orders.join(ct.customers, c.id == o.customer_id) if group == "customer"
                      else t.orders.join(ot.staff, s.id == o.owner_id))
            names: list[Any] = [label]
        elif group in ("product", "category"):
            p, pc = st.products.c, st.product_categories.c
            net = (_number(line.quantity) * _number(line.unit_price) * (100 - _number(line.discount))
                   * (100 - _number(o.order_discount)) / 10000)
            cents = _cents(net)
            counted = func.count(func.distinct(o.id))
            source = t.orders.join(t.order_lines, line.order_id == o.id).join(st.products, p.id == line.product_id)
            if group == "product":
                key = p.id
                names = [p.sku, p.name, p.name_zh_hant, p.name_zh_hans]
            else:
                source = source.outerjoin(st.product_categories, pc.id == p.category_id)
                key = p.category_id
                names = [pc.name]
            if with_cost:
                cost = _cents(case((p.cost.is_(None), 0), else_=_number(line.quantity) * _number(p.cost)))
        else:
            raise ValueError(group)
        columns = [key.label("key"), *names, o.currency, cents.label("cents"), counted.label("n")]
        if cost is not None:
            columns.append(cost.label("cost"))
        where = self._counted(scope, start, end)
        if keys is not None:
            known = [k for k in keys if k is not None]
            clause: ColumnElement[bool] | None = key.in_(known) if known else None
            if None in keys:
                clause = key.is_(None) if clause is None else clause | key.is_(None)
            if clause is None:
                return []
            where.append(clause)
        q = (select(*columns).select_from(source).where(*where).group_by(key, *names, o.currency)
             .order_by(cents.desc(), key))
        if limit is not None:
            q = q.limit(limit)
        out: list[GroupSum] = []
        for row in await self._c.execute(q):
            if group == "product":
                label_text = f"{row.sku} {row.name}"
                localised = {locales.ZH_HANT: row.name_zh_hant, locales.ZH_HANS: row.name_zh_hans}
            else:
                label_text = getattr(row, "name", None) or ""
                localised = {}
            out.append(GroupSum(row.key, label_text, row.currency, _money(row.cents), int(row.n),
                                _money(row.cost) if cost is not None else None,
                                {k: f"{row.sku} {v}" for k, v in localised.items() if v}))
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
