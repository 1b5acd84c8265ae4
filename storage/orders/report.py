"""The sales analysis's sums (crm/orders/report.py): GROUP BY on orders and order lines, in SQL, for a query scope.

Money is summed as integer cents, each row rounded first (``ExactDecimal`` is text on SQLite, whose NUMERIC is a
float: a sum of floats would drift; a sum of rounded integers does not).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core import locales
from crm.orders.report_model import GroupSum, ProductFacts, ProductSum
from crm.organisation.permissions import ScopeFilter
from storage.customers import tables as ct
from storage.orders import sums
from storage.orders import tables as t
from storage.orders.rollup import ALL_CUSTOMERS, DAY, EVERYONE, MONTH, day_of, midnight, month_of, next_month
from storage.organisation import tables as ot
from storage.organisation.repositories import scope_clause
from storage.sales import tables as st

_money = sums.money


class SqlSalesFigures:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _counted(scope: ScopeFilter, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        return [*sums.counted(start, end), scope_clause(scope, t.orders.c.owner_id)]

    async def totals(self, scope: ScopeFilter, start: datetime, end: datetime) -> Sequence[tuple[str, Decimal, int]]:
        """(currency, revenue, orders) of the counted orders taken in ``[start, end)``, largest revenue first."""
        o = t.orders.c
        cents = sums.order_cents()
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
        cents = sums.order_cents()
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
        current = (o.created_at >= start).label("current")
        q = (select(line.product_id, o.currency, current, sums.line_cents().label("cents"),
                    sums.line_quantity().label("qty"))
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
        return await self._buckets(scope, bounds, currency, None)

    async def _buckets(self, scope: ScopeFilter, bounds: Sequence[datetime], currency: str,
                       within: Sequence[tuple[datetime, datetime]] | None) -> list[Decimal]:
        """As ``buckets``, counting only the orders taken within these spans when given."""
        o = t.orders.c
        if len(bounds) < 2:
            return []
        values = [Decimal("0.00")] * (len(bounds) - 1)
        where = [*self._counted(scope, bounds[0], bounds[-1]), o.currency == currency]
        if within is not None:
            if not within:
                return values
            where.append(or_(*(and_(o.created_at >= a, o.created_at < b) for a, b in within)))
        bucket = case(*((o.created_at < bound, i) for i, bound in enumerate(bounds[1:])), else_=len(bounds) - 1)
        rows = await self._c.execute(select(bucket.label("b"), sums.order_cents().label("cents"))
                                     .where(*where).group_by(bucket))
        values = [Decimal("0.00")] * (len(bounds) - 1)
        for row in rows:
            if 0 <= int(row.b) < len(values):
                values[int(row.b)] = _money(row.cents)
        return values


Span = tuple[datetime, datetime]
Piece = tuple[str, date, date]  # (unit, first start, end start): rollup rows starting in [first, end)


def split_days(start: datetime, end: datetime) -> tuple[tuple[date, date] | None, list[Span]]:
    """``[start, end)`` as the whole UTC days inside it (``[first, last)``) and what is left at either end (read
    from the raw rows): a reader's midnight is rarely UTC's."""
    first = day_of(start)
    if midnight(first) < start:
        first += timedelta(days=1)
    last = day_of(end)
    if first >= last:
        return None, [(start, end)] if start < end else []
    edges = [(start, midnight(first)), (midnight(last), end)]
    return (first, last), [(a, b) for a, b in edges if a < b]


def split(start: datetime, end: datetime) -> tuple[list[Piece], list[Span]]:
    """``[start, end)`` as the whole UTC months inside it, the whole days left either side of them, and the
    part-days at the ends (from the raw rows)."""
    days, edges = split_days(start, end)
    if days is None:
        return [], edges
    first, last = days
    first_month = first if first.day == 1 else next_month(first)
    last_month = month_of(last)
    if first_month >= last_month:
        return [(DAY, first, last)], edges
    pieces = [(DAY, first, first_month), (MONTH, first_month, last_month), (DAY, last_month, last)]
    return [p for p in pieces if p[1] < p[2]], edges


def _joined(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class _RawOrder:
    at: datetime
    owner_id: int
    customer_id: int
    currency: str
    cents: int


class RollupSalesFigures(SqlSalesFigures):
    """The same figures, the whole UTC months and days summed from the rollup (``sales_rollup_orders``,
    ``sales_rollup_lines``) and only the part-days at the ends of a period from the raw rows. Each order and line
    was rounded to cents before it went into the rollup, as the raw SQL rounds them, so the sums are the same to
    the cent. A reader who sees everything reads the lines' rows for everyone (``owner_id`` 0); anyone else the
    rows of the owners in their scope, found first so the (unit, owner, start) index serves. The part-days are
    read by time alone (the ``created_at`` index: less than a day of orders) and the scope applied here: with the
    scope in the SQL, SQLite may walk the owners' index through every order they ever took."""

    async def _owners(self, scope: ScopeFilter) -> frozenset[int] | None:
        if scope.everything:
            return None
        owners = {scope.owner_id}
        if scope.department_ids:
            s = ot.staff.c
            owners.update(int(i) for i in (await self._c.execute(
                select(s.id).where(s.department_id.in_(sorted(scope.department_ids))))).scalars())
        return frozenset(owners)

    @staticmethod
    def _where(table: Any, piece: Piece, owners: frozenset[int] | None, *,
               per_owner: bool = False, per_customer: bool = False) -> list[ColumnElement[bool]]:
        """The rows of ``piece`` for the scope's owners: everyone's row when the scope is everything and no
        breakdown by owner is asked; the orders' rows over all customers unless one per customer is asked."""
        c = table.c
        unit, first, end = piece
        where = [c.unit == unit, c.start >= first, c.start < end]
        if owners is not None:
            where.append(c.owner_id.in_(sorted(owners)))
        elif per_owner or per_customer:
            where.append(c.owner_id != EVERYONE)
        else:
            where.append(c.owner_id == EVERYONE)
        if table is t.sales_rollup_orders:
            where.append(c.customer_id != ALL_CUSTOMERS if per_customer else c.customer_id == ALL_CUSTOMERS)
        return where

    async def _raw_orders(self, spans: Sequence[Span], owners: frozenset[int] | None,
                          currency: str | None = None) -> list[_RawOrder]:
        o = t.orders.c
        out: list[_RawOrder] = []
        for a, b in spans:
            where = sums.counted(a, b)
            if currency is not None:
                where.append(o.currency == currency)
            rows = await self._c.execute(select(o.created_at, o.owner_id, o.customer_id, o.currency,
                                                sums.each_order_cents().label("cents")).where(*where))
            out += [_RawOrder(r.created_at, int(r.owner_id), int(r.customer_id), r.currency, int(r.cents or 0))
                    for r in rows if owners is None or int(r.owner_id) in owners]
        return out

    async def totals(self, scope: ScopeFilter, start: datetime, end: datetime) -> Sequence[tuple[str, Decimal, int]]:
        pieces, edges = split(start, end)
        owners = await self._owners(scope)
        found: dict[str, list[int]] = {}
        d = t.sales_rollup_orders.c
        for piece in pieces:
            rows = await self._c.execute(
                select(d.currency, func.sum(d.cents).label("cents"), func.sum(d.orders).label("n"))
                .where(*self._where(t.sales_rollup_orders, piece, owners)).group_by(d.currency))
            for row in rows:
                slot = found.setdefault(row.currency, [0, 0])
                slot[0] += int(row.cents or 0)
                slot[1] += int(row.n)
        for order in await self._raw_orders(edges, owners):
            slot = found.setdefault(order.currency, [0, 0])
            slot[0] += order.cents
            slot[1] += 1
        return [(c, _money(cents), n) for c, (cents, n) in sorted(found.items(), key=lambda x: (-x[1][0], x[0]))]

    async def grouped(self, scope: ScopeFilter, start: datetime, end: datetime, group: str, *,
                      limit: int | None = None, keys: Sequence[int] | None = None) -> Sequence[GroupSum]:
        if keys is not None and not keys:
            return []
        d = t.sales_rollup_orders.c
        if group == "customer":
            key = d.customer_id
        elif group == "rep":
            key = d.owner_id
        else:
            raise ValueError(group)
        pieces, edges = split(start, end)
        owners = await self._owners(scope)
        wanted = frozenset(keys) if keys is not None else None
        found: dict[tuple[int, str], list[int]] = {}
        for piece in pieces:
            where = self._where(t.sales_rollup_orders, piece, owners, per_owner=group == "rep",
                                per_customer=group == "customer")
            if keys is not None:
                where.append(key.in_(list(keys)))
            rows = await self._c.execute(
                select(key.label("key"), d.currency, func.sum(d.cents).label("cents"), func.sum(d.orders).label("n"))
                .where(*where).group_by(key, d.currency))
            for row in rows:
                slot = found.setdefault((int(row.key), row.currency), [0, 0])
                slot[0] += int(row.cents or 0)
                slot[1] += int(row.n)
        for order in await self._raw_orders(edges, owners):
            k = order.customer_id if group == "customer" else order.owner_id
            if wanted is None or k in wanted:
                slot = found.setdefault((k, order.currency), [0, 0])
                slot[0] += order.cents
                slot[1] += 1
        ordered = sorted(found.items(), key=lambda item: (-item[1][0], item[0][0], item[0][1]))
        if limit is not None:
            ordered = ordered[:limit]
        names = await self._names(group, [k for (k, _), _ in ordered])
        return [GroupSum(k, names.get(k, str(k)), currency, _money(cents), n)
                for (k, currency), (cents, n) in ordered]

    async def _names(self, group: str, ids: Sequence[int]) -> dict[int, str]:
        """The labels of the rows shown: the customer's or the staff member's name, as the raw query joins them."""
        if not ids:
            return {}
        table = ct.customers if group == "customer" else ot.staff
        rows = await self._c.execute(select(table.c.id, table.c.name).where(table.c.id.in_(sorted(set(ids)))))
        return {int(row.id): row.name for row in rows}

    async def product_sums(self, scope: ScopeFilter, previous: datetime, start: datetime,
                           end: datetime) -> Sequence[ProductSum]:
        found: dict[tuple[int, str, bool], list[int]] = {}
        owners = await self._owners(scope)
        d, o, line = t.sales_rollup_lines.c, t.orders.c, t.order_lines.c
        for a, b, current in ((previous, start, False), (start, end, True)):
            pieces, edges = split(a, b)
            for piece in pieces:
                rows = await self._c.execute(
                    select(d.product_id, d.currency, func.sum(d.cents).label("cents"),
                           func.sum(d.quantity).label("qty"))
                    .where(*self._where(t.sales_rollup_lines, piece, owners)).group_by(d.product_id, d.currency))
                for row in rows:
                    slot = found.setdefault((int(row.product_id), row.currency, current), [0, 0])
                    slot[0] += int(row.cents or 0)
                    slot[1] += int(row.qty or 0)
            for ea, eb in edges:
                rows = await self._c.execute(
                    select(o.owner_id, line.product_id, o.currency, sums.line_cents().label("cents"),
                           sums.line_quantity().label("qty"))
                    .select_from(t.orders.join(t.order_lines, line.order_id == o.id))
                    .where(*sums.counted(ea, eb)).group_by(o.owner_id, line.product_id, o.currency))
                for row in rows:
                    if owners is None or int(row.owner_id) in owners:
                        slot = found.setdefault((int(row.product_id), row.currency, current), [0, 0])
                        slot[0] += int(row.cents or 0)
                        slot[1] += int(row.qty or 0)
        return [ProductSum(p, currency, current, _money(cents), Decimal(qty) / 10000)
                for (p, currency, current), (cents, qty) in found.items()]

    async def buckets(self, scope: ScopeFilter, bounds: Sequence[datetime],
                      currency: str) -> Sequence[Decimal]:
        """A whole UTC day inside one bucket comes from the rollup's day rows; the rest (the ends, and the days a
        bucket's bound cuts — every day, for daily buckets off UTC) from the orders themselves."""
        if len(bounds) < 2:
            return []
        days, raw = split_days(bounds[0], bounds[-1])
        clean: dict[date, int] = {}
        if days is not None:
            day = days[0]
            while day < days[1]:
                i = bisect_right(bounds, midnight(day)) - 1
                if 0 <= i < len(bounds) - 1 and midnight(day + timedelta(days=1)) <= bounds[i + 1]:
                    clean[day] = i
                else:
                    raw.append((midnight(day), midnight(day + timedelta(days=1))))
                day += timedelta(days=1)
        owners = await self._owners(scope)
        cents = [0] * (len(bounds) - 1)
        o = t.orders.c
        arms = []
        for a, b in _joined(raw):
            # Summed in SQL per bucket (and owner, for the scope) over this span only — a day's orders, through
            # the created_at index — all spans in one statement.
            first = bisect_right(bounds, a) - 1
            inner = [bound for bound in bounds[first + 1:-1] if bound < b]
            bucket = case(*((o.created_at < bound, first + i) for i, bound in enumerate(inner)),
                          else_=first + len(inner)) if inner else literal(first, Integer)
            arms.append(select(bucket.label("b"), o.owner_id, sums.order_cents().label("cents"))
                        .where(*sums.counted(a, b), o.currency == currency).group_by(bucket, o.owner_id))
        if arms:
            for row in await self._c.execute(union_all(*arms) if len(arms) > 1 else arms[0]):
                if owners is None or int(row.owner_id) in owners:
                    cents[int(row.b)] += int(row.cents or 0)
        if clean:
            d = t.sales_rollup_orders.c
            piece = (DAY, min(clean), max(clean) + timedelta(days=1))
            rows = await self._c.execute(
                select(d.start, func.sum(d.cents).label("cents"))
                .where(*self._where(t.sales_rollup_orders, piece, owners), d.currency == currency)
                .group_by(d.start))
            for row in rows:
                slot = clean.get(row.start)
                if slot is not None:
                    cents[slot] += int(row.cents or 0)
        return [_money(c) for c in cents]
