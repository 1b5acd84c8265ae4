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
from crm.orders.ports import Cell, OrdersUnitOfWork, SalesFigures, SheetWriter, TrendChart
from crm.orders.report_model import (
    COSTED,
    GROUPS,
    BreakdownRow,
    CurrencyTotals,
    SalesFile,
    SalesReport,
    Trend,
)
from crm.organisation.permissions import Actor, ScopeFilter

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
        """The figures of ``period`` against the previous one, the largest ``top`` rows of each breakdown. Made in
        a separate process: the sums read a quarter of a million lines, and this process serves lookups."""
        actor.require("sales.view")
        return await self._worker.run_apart(report_job, actor, period, locale, none_label, top)

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
            report = await report_job(factory, actor, period, locale, none_label, None)
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
            counted = group not in COSTED  # products and categories are sums of lines: no order count
            headers = [t("orders.sales_col_name"), t("orders.sales_col_currency"), t("orders.sales_col_revenue"),
                       t("orders.sales_col_previous")]
            if counted:
                headers.append(t("orders.sales_col_orders"))
            if costed:
                headers += [t("orders.sales_col_cost"), t("orders.sales_col_margin")]
            rows: list[list[Cell]] = []
            for r in report.groups[group]:
                row: list[Cell] = [r.label, r.currency, r.revenue, r.previous]
                if counted:
                    row.append(r.orders or 0)
                if costed and r.cost is not None and r.margin is not None:
                    row += [r.cost, r.margin]
                rows.append(row)
            sheets.append((t(f"orders.sales_sheet_{group}"), headers, rows))
        return sheets


async def report_job(factory: UnitOfWorkFactory[OrdersUnitOfWork], actor: Actor, period: SalesPeriod, locale: str,
                     none_label: str, top: int | None) -> SalesReport:
    """The report on a unit of work of its own (in the worker's process)."""
    async with factory(write=False) as uow:
        return await compute(uow, actor, period, locale, none_label, top)


def _top(rows: list[BreakdownRow], top: int | None) -> tuple[BreakdownRow, ...]:
    rows.sort(key=lambda r: (-r.revenue, r.label, r.currency))
    return tuple(rows if top is None else rows[:top])


async def compute(uow: OrdersUnitOfWork, actor: Actor, period: SalesPeriod, locale: str, none_label: str,
                  top: int | None, *, figures: SalesFigures | None = None) -> SalesReport:
    """The report; ``figures`` other sums than the unit of work's (the benchmark's raw-rows baseline)."""
    zone = ZoneInfo(actor.timezone)
    scope = actor.scope_filter("sales")
    with_cost = actor.can("prices.view_cost")
    start, end = _midnight(period.since, zone), _midnight(period.before, zone)
    before_start = _midnight(period.previous_since, zone)
    figures = figures or uow.orders.figures
    now = {c: (r, n) for c, r, n in await figures.totals(scope, start, end)}
    then = {c: (r, n) for c, r, n in await figures.totals(scope, before_start, start)}
    zero = (Decimal("0.00"), 0)
    totals = tuple(CurrencyTotals(c, *now.get(c, zero), *then.get(c, zero))
                   for c in [*now, *(c for c in then if c not in now)])
    groups: dict[str, tuple[BreakdownRow, ...]] = {}
    for group in ("customer", "rep"):
        rows = await figures.grouped(scope, start, end, group, limit=top)
        earlier = await figures.grouped(scope, before_start, start, group, keys=[r.key for r in rows])
        previous = {(r.key, r.currency): r.revenue for r in earlier}
        groups[group] = tuple(BreakdownRow(r.label, r.currency, r.revenue,
                                           previous.get((r.key, r.currency), Decimal("0.00")), r.orders)
                              for r in rows)
    groups.update(await _goods(figures, scope, (before_start, start, end), locale, none_label, top, with_cost))
    trend = None
    if totals:
        currency = totals[0].currency
        unit, starts = bucket_starts(period.since, period.before)
        earlier_days = _previous_bounds(period, unit, len(starts) - 1)
        # One pass over both periods: the previous period's buckets, then this one's.
        bounds = [_midnight(d, zone) for d in earlier_days] + [_midnight(d, zone) for d in starts[1:]]
        values = await figures.buckets(scope, bounds, currency)
        split = len(earlier_days) - 1
        trend = Trend(currency, unit, tuple(d.isoformat() for d in starts[:-1]), tuple(values[split:]),
                      tuple(values[:split]))
    return SalesReport(period, totals, groups, with_cost, trend)


async def _goods(figures: SalesFigures, scope: ScopeFilter, span: tuple[datetime, datetime, datetime], locale: str,
                 none_label: str, top: int | None, with_cost: bool) -> dict[str, tuple[BreakdownRow, ...]]:
    """Products and categories from one pass over the lines of both periods (``product_sums``): a category's
    figures are the sums of its products' (a few hundred rows added up here, not the lines)."""
    sums = await figures.product_sums(scope, *span)
    facts = await figures.products([s.product_id for s in sums])
    revenue: dict[tuple[str, int | None, str], list[Decimal]] = {}
    costs: dict[tuple[str, int | None, str], Decimal] = {}
    labels: dict[tuple[str, int | None, str], str] = {}
    for item in sums:
        fact = facts.get(item.product_id)
        product_label = fact.labels.get(locale, fact.label) if fact else str(item.product_id)
        category_label = fact.category if fact and fact.category else none_label
        keyed: tuple[tuple[str, int | None, str], ...] = (
            ("product", item.product_id, product_label),
            ("category", fact.category_id if fact else None, category_label))
        for group, key, label in keyed:
            slot = (group, key, item.currency)
            pair = revenue.setdefault(slot, [Decimal("0.00"), Decimal("0.00")])
            pair[0 if item.current else 1] += item.revenue
            labels[slot] = label
            if with_cost and item.current and fact is not None and fact.cost is not None:
                costs[slot] = costs.get(slot, Decimal(0)) + (item.quantity * fact.cost).quantize(Decimal("0.01"))
    out: dict[str, list[BreakdownRow]] = {"product": [], "category": []}
    for (group, key, currency), (current, previous) in revenue.items():
        if current:
            cost = costs.get((group, key, currency), Decimal("0.00")) if with_cost else None
            out[group].append(BreakdownRow(labels[(group, key, currency)], currency, current, previous, None, cost))
    return {group: _top(rows, top) for group, rows in out.items()}
