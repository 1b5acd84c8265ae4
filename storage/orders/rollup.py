"""Keeping the sales analysis's rollup (``sales_rollup_orders``, ``sales_rollup_lines``; docs/orders.md, "The
rollup").

The day rows of one (UTC day, owner) pair are recomputed from the raw orders and lines whenever one of its orders
changes — taken, approved, cancelled, shipped, delivered, edited — in that change's transaction: a delete and two
INSERT … SELECT over a dozen orders. Recomputing rather than adding deltas keeps those rows right whatever changed
(status, owner, lines, a soft delete). The coarser rows — the owner's month, and everyone's day and month of the
lines — then get the difference between the pair's rows before and after, added in place; a coarse row whose last
order or line went is deleted, so the rollup holds exactly the rows a rebuild makes (``rebuild_statements``, the
migration's backfill, and the test that compares the two). The statements are plain Core, so the migration runs
them on its synchronous connection and the repository on the async one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Date, Executable, Integer, String, Table, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.orders import sums
from storage.orders import tables as t

DAY, MONTH = "d", "m"
EVERYONE = 0  # the owner id of the rows for everyone (staff ids start at 1)
ALL_CUSTOMERS = 0  # the customer id of the orders' rows over all customers (an owner's, or everyone's)
Key = tuple[date, int]  # (UTC day, owner id)

_ORDERS_KEY = ("customer_id", "currency")
_ORDERS_SUMS = ("cents", "orders")
_LINES_KEY = ("product_id", "currency")
_LINES_SUMS = ("cents", "quantity", "lines")


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _day_statements(day: date, owner_id: int | None) -> list[Executable]:
    """Recompute ``day``'s day rows of one owner, or of every owner when ``owner_id`` is None."""
    o, line = t.orders.c, t.order_lines.c
    where = sums.counted(midnight(day), midnight(day + timedelta(days=1)))
    statements: list[Executable] = []
    for table in (t.sales_rollup_orders, t.sales_rollup_lines):
        c = table.c
        gone = delete(table).where(c.unit == DAY, c.start == day, *_detail(table))
        statements.append(gone if owner_id is None else gone.where(c.owner_id == owner_id))
    if owner_id is not None:
        where.append(o.owner_id == owner_id)
    unit, start = literal(DAY, String(1)), literal(day, Date)
    statements.append(insert(t.sales_rollup_orders).from_select(
        ["unit", "start", "owner_id", "customer_id", "currency", "cents", "orders"],
        select(unit, start, o.owner_id, o.customer_id, o.currency, sums.order_cents(), func.count())
        .where(*where).group_by(o.owner_id, o.customer_id, o.currency)))
    statements.append(insert(t.sales_rollup_lines).from_select(
        ["unit", "start", "owner_id", "product_id", "currency", "cents", "quantity", "lines"],
        select(unit, start, o.owner_id, line.product_id, o.currency, sums.line_cents(), sums.line_quantity(),
               func.count())
        .select_from(t.orders.join(t.order_lines, line.order_id == o.id))
        .where(*where).group_by(o.owner_id, line.product_id, o.currency)))
    return statements


def _detail(table: Table) -> list[Any]:
    """The rows of one owner (and, for orders, one customer): what the coarser rows are sums of."""
    c = table.c
    where = [c.owner_id != EVERYONE]
    if table is t.sales_rollup_orders:
        where.append(c.customer_id != ALL_CUSTOMERS)
    return where


def _rolled_up(table: Table, unit: str, source_unit: str, since: date, before: date, *, month: date | None = None,
               owner: int | None = None, keys: Sequence[str], fixed: dict[str, int] | None = None) -> Executable:
    """INSERT the sums of the detail rows of ``source_unit`` starting in ``[since, before)`` as rows of ``unit``:
    starting at ``month`` (None: each row's own start), for ``owner`` (None: each row's own), per ``keys``, with
    the ``fixed`` columns set (the customer 0 of the orders' sums over all customers)."""
    c = table.c
    totals = _ORDERS_SUMS if table is t.sales_rollup_orders else _LINES_SUMS
    fixed = fixed or {}
    group = [c[k] for k in keys]
    if month is None:
        group.append(c.start)
    if owner is None:
        group.append(c.owner_id)
    return insert(table).from_select(
        ["unit", "start", "owner_id", *keys, *fixed, *totals],
        select(literal(unit, String(1)), c.start if month is None else literal(month, Date),
               c.owner_id if owner is None else literal(owner, Integer), *(c[k] for k in keys),
               *(literal(v, Integer) for v in fixed.values()), *(func.sum(c[s]) for s in totals))
        .where(c.unit == source_unit, c.start >= since, c.start < before, *_detail(table))
        .group_by(*group))


def rebuild_statements(first: date, last: date) -> list[Executable]:
    """Rebuild the whole rollup for the orders taken from day ``first`` to day ``last``: the migration's backfill,
    and what the rows kept change by change must equal."""
    o, lines = t.sales_rollup_orders, t.sales_rollup_lines
    statements: list[Executable] = [delete(o), delete(lines)]
    day = first
    while day <= last:
        statements += _day_statements(day, None)
        day += timedelta(days=1)
    month = month_of(first)
    while month <= last:
        end = next_month(month)
        statements.append(_rolled_up(o, MONTH, DAY, month, end, month=month, keys=_ORDERS_KEY))
        statements.append(_rolled_up(lines, MONTH, DAY, month, end, month=month, keys=_LINES_KEY))
        month = end
    since, before = month_of(first), last + timedelta(days=1)
    everyone = {"customer_id": ALL_CUSTOMERS}
    for unit in (DAY, MONTH):
        statements.append(_rolled_up(lines, unit, unit, since, before, owner=EVERYONE, keys=_LINES_KEY))
        statements.append(_rolled_up(o, unit, unit, since, before, keys=("currency",), fixed=everyone))
        statements.append(_rolled_up(o, unit, unit, since, before, owner=EVERYONE, keys=("currency",),
                                     fixed=everyone))
    return statements


def _span_of_orders() -> Executable:
    o = t.orders.c
    return select(func.min(o.created_at), func.max(o.created_at))


def backfill(conn: Connection) -> int:
    """Rebuild the rollup from every order (migration 0027); the number of days."""
    first, last = conn.execute(_span_of_orders()).one()
    if first is None or last is None:
        return 0
    for statement in rebuild_statements(day_of(first), day_of(last)):
        conn.execute(statement)
    return (day_of(last) - day_of(first)).days + 1


async def backfill_async(conn: AsyncConnection) -> int:
    """As ``backfill``, on an async connection (tests, and the benchmark, which writes orders in bulk)."""
    first, last = (await conn.execute(_span_of_orders())).one()
    if first is None or last is None:
        return 0
    for statement in rebuild_statements(day_of(first), day_of(last)):
        await conn.execute(statement)
    return (day_of(last) - day_of(first)).days + 1


Sums = dict[tuple[Any, ...], tuple[int, ...]]


async def _day_rows(conn: AsyncConnection, table: Table, key: Key, keys: Sequence[str],
                    totals: Sequence[str]) -> Sums:
    c = table.c
    rows = await conn.execute(select(*(c[k] for k in keys), *(c[s] for s in totals))
                              .where(c.unit == DAY, c.start == key[0], c.owner_id == key[1], *_detail(table)))
    return {tuple(row[:len(keys)]): tuple(int(v) for v in row[len(keys):]) for row in rows}


def _difference(before: Sums, after: Sums) -> Sums:
    out: Sums = {}
    for k in before.keys() | after.keys():
        old, new = before.get(k), after.get(k)
        width = len(old or new or ())
        diff = tuple((new[i] if new else 0) - (old[i] if old else 0) for i in range(width))
        if any(diff):
            out[k] = diff
    return out


async def _add(conn: AsyncConnection, table: Table, unit: str, start: date, owner_id: int, keys: Sequence[str],
               totals: Sequence[str], diff: Sums) -> None:
    """Add ``diff`` to the rows of (``unit``, ``start``, ``owner_id``); drop those left without orders/lines."""
    if not diff:
        return
    c = table.c
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = make(table)
    statement = statement.on_conflict_do_update(
        index_elements=["unit", "start", "owner_id", *keys],
        set_={s: c[s] + statement.excluded[s] for s in totals})
    await conn.execute(statement, [
        {"unit": unit, "start": start, "owner_id": owner_id, **dict(zip(keys, k, strict=True)),
         **dict(zip(totals, v, strict=True))} for k, v in diff.items()])
    await conn.execute(delete(table).where(c.unit == unit, c.start == start, c.owner_id == owner_id,
                                           c[totals[-1]] == 0))


async def refresh(conn: AsyncConnection, keys: Iterable[Key]) -> None:
    """Recompute the day rows of each (day, owner) pair and carry the difference into the coarser rows."""
    for key in sorted(set(keys)):
        day, owner_id = key
        orders_before = await _day_rows(conn, t.sales_rollup_orders, key, _ORDERS_KEY, _ORDERS_SUMS)
        lines_before = await _day_rows(conn, t.sales_rollup_lines, key, _LINES_KEY, _LINES_SUMS)
        for statement in _day_statements(day, owner_id):
            await conn.execute(statement)
        orders_diff = _difference(orders_before, await _day_rows(conn, t.sales_rollup_orders, key, _ORDERS_KEY,
                                                                 _ORDERS_SUMS))
        lines_diff = _difference(lines_before, await _day_rows(conn, t.sales_rollup_lines, key, _LINES_KEY,
                                                               _LINES_SUMS))
        month = month_of(day)
        await _add(conn, t.sales_rollup_orders, MONTH, month, owner_id, _ORDERS_KEY, _ORDERS_SUMS, orders_diff)
        all_customers: Sums = {}
        for (_, currency), diff in orders_diff.items():
            old = all_customers.get((ALL_CUSTOMERS, currency), (0, 0))
            all_customers[(ALL_CUSTOMERS, currency)] = (old[0] + diff[0], old[1] + diff[1])
        for unit, start, owner in ((DAY, day, owner_id), (MONTH, month, owner_id), (DAY, day, EVERYONE),
                                   (MONTH, month, EVERYONE)):
            await _add(conn, t.sales_rollup_orders, unit, start, owner, _ORDERS_KEY, _ORDERS_SUMS, all_customers)
        for unit, start, owner in ((MONTH, month, owner_id), (DAY, day, EVERYONE), (MONTH, month, EVERYONE)):
            await _add(conn, t.sales_rollup_lines, unit, start, owner, _LINES_KEY, _LINES_SUMS, lines_diff)
