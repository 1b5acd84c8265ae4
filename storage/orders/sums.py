"""The sales analysis's per-row expressions, shared by the report's SQL over the raw rows (report.py) and the
rollup that keeps their sums per day (rollup.py): both round each order or line the same way, so a sum of the
rollup's integers is the sum the raw rows give."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, cast, func

from crm.orders.report_model import COUNTED
from storage.orders import tables as t

COUNTED_VALUES = [status.value for status in COUNTED]


def number(column: Any) -> ColumnElement[Any]:
    return cast(column, Numeric(18, 4))


def rounded_cents(amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """One row's ``amount`` in integer cents."""
    return cast(func.round(amount * 100), BigInteger)


def cents(amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """The sum of ``amount`` in integer cents, each row rounded first."""
    return func.sum(rounded_cents(amount))


def money(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def order_cents() -> ColumnElement[Any]:
    return cents(number(t.orders.c.total))


def each_order_cents() -> ColumnElement[Any]:
    """One order's total in cents, as ``order_cents`` rounds it before summing."""
    return rounded_cents(number(t.orders.c.total))


def line_cents() -> ColumnElement[Any]:
    """The lines' amount after line and order discounts, before tax."""
    o, line = t.orders.c, t.order_lines.c
    return cents(number(line.quantity) * number(line.unit_price) * (100 - number(line.discount))
                 * (100 - number(o.order_discount)) / 10000)


def line_quantity() -> ColumnElement[Any]:
    """The lines' quantity in ten-thousandths."""
    return func.sum(cast(func.round(number(t.order_lines.c.quantity) * 10000), BigInteger))


def counted(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """The orders that count as sold, taken in ``[start, end)`` (no scope)."""
    o = t.orders.c
    return [o.deleted_at.is_(None), o.status.in_(COUNTED_VALUES), o.created_at >= start, o.created_at < end]
