"""The sales analysis, ``/sales [period]`` (docs/orders.md, "Sales analysis"; definitions in report_model.py).

Everything within the reader's ``sales`` query scope and summed in SQL (``SalesFigures``); every figure with the
previous period's beside it. The report, its trend chart and its XLSX file are made in the worker
(``crm.core.offloop.Worker``), so a quarter over 100,000 orders does not hold up anyone's lookup. Costs and
margins are read only for a reader with ``prices.view_cost``: without it they are never fetched, so no text, chart
or file can carry them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.orders.periods import SalesPeriod, parse_period
from crm.orders.ports import Cell, OrdersUnitOfWork, SheetWriter, TrendChart
from crm.orders.report_model import (
    COSTED,
    GROUPS,
    BreakdownRow,
    CurrencyTotals,
    GroupSum,
    SalesFile,
    SalesReport,
    Trend,
)
from crm.organisation.permissions import Actor

Translate = Callable[..., str]
TOP = 5  # rows per breakdown in chat; the file has them all
DAYS_BY_DAY = 62  # up to two months: a point a day; up to a year: a week; beyond: a month


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bucket_starts(since: date, before: date) -> tuple[str, list[date]]:
    """The trend's unit and the first day of each bucket, and ``before`` last."""
    days = (before - since).days
    if days <= DAYS_BY_DAY:
        return "day", [since + timedelta(days=i) for i in range(days)] + [before]
    if days <= 366:
        starts = [since + timedelta(days=7 * i) for i in range((days + 6) // 7)]
        return "week", [*starts, before]
    starts, day = [], since
    while day < before:
        starts.append(day)
        day = _add_months(day, 1)  # the first bucket of a range not starting on the 1st is shorter
    return "month", [*starts, before]


def _previous_bounds(period: SalesPeriod, unit: str, count: int) -> list[date]:
    """The previous period cut into as many buckets of the same unit, from its own first day."""
    start = period.previous_since
    if unit == "day":
        days = [start + timedelta(days=i) for i in range(count)]
    elif unit == "week":
        days = [start + timedelta(days=7 * i) for i in range(count)]
    else:
        days = [start] + [_add_months(start, i) for i in range(1, count)]
    return [d for d in days if d < period.since] + [period.since]


class SalesReportService:
    def __init__(self, uow: UnitOfWorkFactory[OrdersUnitOfWork], clock: Clock, sheets: SheetWriter,
                 chart: TrendChart, *, worker: Worker[UnitOfWorkFactory[OrdersUnitOfWork]] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._sheets = sheets
        self._chart = chart
        self._worker = worker or InlineWorker(uow)

    def period(self, actor: Actor, text: str) -> SalesPeriod:
        return parse_period(text, self._clock.now().astimezone(ZoneInfo(actor.timezone)).date())

    async def report(self, actor: Actor, period: SalesPeriod, locale: str, none_label: str, *,
                     top: int | None = TOP) -> SalesReport:
        """The figures of ``period`` against the previous one, the largest ``top`` rows of each breakdown."""
        actor.require("sales.view")

        async def job(factory: UnitOfWorkFactory[OrdersUnitOfWork]) -> SalesReport:
            async with factory(write=False) as uow:
                return await self._report(uow, actor, period, locale, none_label, top)

        return await self._worker.run(job)

    async def _report(self, uow: OrdersUnitOfWork, actor: Actor, period: SalesPeriod, locale: str,
                      none_label: str, top: int | None) -> SalesReport:
        zone = ZoneInfo(actor.timezone)
        scope = actor.scope_filter("sales")
        with_cost = actor.can("prices.view_cost")
        start, end = _midnight(period.since, zone), _midnight(period.before, zone)
        before_start = _midnight(period.previous_since, zone)
        figures = uow.orders.figures
        now = {c: (r, n) for c, r, n in await figures.totals(scope, start, end)}
        then = {c: (r, n) for c, r, n in await figures.totals(scope, before_start, start)}
        zero = (Decimal("0.00"), 0)
        totals = tuple(CurrencyTotals(c, *now.get(c, zero), *then.get(c, zero))
                       for c in [*now, *(c for c in then if c not in now)])
        groups: dict[str, tuple[BreakdownRow, ...]] = {}
        for group in GROUPS:
            costed = with_cost and group in COSTED
            rows = await figures.grouped(scope, start, end, group, limit=top, with_cost=costed)
            earlier = await figures.grouped(scope, before_start, start, group, keys=[r.key for r in rows])
            previous = {(r.key, r.currency): r.revenue for r in earlier}
            groups[group] = tuple(
                BreakdownRow(self._label(r, locale, none_label), r.currency, r.revenue,
                             previous.get((r.key, r.currency), Decimal("0.00")), r.orders,
                             r.cost if costed else None) for r in rows)
        trend = None
        if totals:
            currency = totals[0].currency
            unit, starts = bucket_starts(period.since, period.before)
            current = await figures.buckets(scope, [_midnight(d, zone) for d in starts], currency)
            earlier_days = _previous_bounds(period, unit, len(starts) - 1)
            past = await figures.buckets(scope, [_midnight(d, zone) for d in earlier_days], currency)
            trend = Trend(currency, unit, tuple(d.isoformat() for d in starts[:-1]), tuple(current), tuple(past))
        return SalesReport(period, totals, groups, with_cost, trend)

    @staticmethod
    def _label(row: GroupSum, locale: str, none_label: str) -> str:
        if row.key is None:
            return none_label
        return row.labels.get(locale, row.label)

    async def chart(self, report: SalesReport, title: str, current: str, previous: str) -> bytes | None:
        """The revenue trend as a PNG (drawn off the event loop); None when there is nothing to draw."""
        trend = report.trend
        if trend is None:
            return None
        points = [day[5:] for day in trend.starts]
        lines = [(current, trend.current), (previous, trend.previous)]

        async def job(_: object) -> bytes:
            return await asyncio.to_thread(self._chart.render, title, points, lines)

        return await self._worker.run(job)

    async def export(self, actor: Actor, period: SalesPeriod, translate: Translate, locale: str) -> SalesFile:
        """A workbook: the totals, then one sheet per breakdown with every row, made in the worker."""
        actor.require("sales.view")
        none_label = translate("orders.sales_none")

        async def job(factory: UnitOfWorkFactory[OrdersUnitOfWork]) -> SalesFile:
            async with factory(write=False) as uow:
                report = await self._report(uow, actor, period, locale, none_label, None)
            data = await asyncio.to_thread(self._sheets.write, self._sheets_of(report, translate))
            return SalesFile(f"sales-{period.label.replace('..', '_')}.xlsx", data)

        return await self._worker.run(job)

    @staticmethod
    def _sheets_of(report: SalesReport, t: Translate) -> list[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]]:
        totals_headers = [t("orders.sales_col_currency"), t("orders.sales_col_revenue"),
                          t("orders.sales_col_previous"), t("orders.sales_col_orders"),
                          t("orders.sales_col_previous_orders"), t("orders.sales_col_average"),
                          t("orders.sales_col_previous_average")]
        sheets: list[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]] = [
            (t("orders.sales_sheet_totals"), totals_headers,
             [[c.currency, c.revenue, c.previous_revenue, c.orders, c.previous_orders, c.average,
               c.previous_average] for c in report.totals])]
        for group in GROUPS:
            costed = report.with_cost and group in COSTED
            headers = [t("orders.sales_col_name"), t("orders.sales_col_currency"), t("orders.sales_col_revenue"),
                       t("orders.sales_col_previous"), t("orders.sales_col_orders")]
            if costed:
                headers += [t("orders.sales_col_cost"), t("orders.sales_col_margin")]
            rows: list[list[Cell]] = []
            for r in report.groups[group]:
                row: list[Cell] = [r.label, r.currency, r.revenue, r.previous, r.orders]
                if costed and r.cost is not None and r.margin is not None:
                    row += [r.cost, r.margin]
                rows.append(row)
            sheets.append((t(f"orders.sales_sheet_{group}"), headers, rows))
        return sheets
