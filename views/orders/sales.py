"""The sales analysis as text (``/sales``): each figure with the previous period's beside it and the change. Names
of customers, products and reps are data: the catalogue escapes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from crm.orders.report_model import GROUPS, BreakdownRow, SalesReport, change

Translate = Callable[..., str]


def amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def change_text(t: Translate, now: Decimal | int, before: Decimal | int) -> str:
    percent = change(now, before)
    if percent is None:
        return t("orders.sales_change_new") if now else "±0"
    return f"+{percent}%" if percent > 0 else (f"−{-percent}%" if percent < 0 else "±0%")


def period_text(report: SalesReport) -> tuple[str, str]:
    """The period's label and the previous period's days."""
    period = report.period
    return period.label, f"{period.previous_since:%Y-%m-%d}..{period.since - timedelta(days=1):%Y-%m-%d}"


def _row(t: Translate, row: BreakdownRow) -> str:
    params = {"label": row.label, "currency": row.currency, "value": amount(row.revenue),
              "previous": amount(row.previous), "change": change_text(t, row.revenue, row.previous)}
    text = t("orders.sales_row", orders=row.orders, **params) if row.orders is not None \
        else t("orders.sales_row_goods", **params)
    if row.cost is not None and row.margin is not None:
        text += "\n" + t("orders.sales_row_cost", cost=amount(row.cost), margin=amount(row.margin))
    return text


def sales_text(t: Translate, report: SalesReport) -> str:
    label, previous = period_text(report)
    lines = [t("orders.sales_title", period=label, previous=previous)]
    if not report.totals:
        lines.append(t("orders.sales_nothing"))
        return "\n".join(lines)
    for c in report.totals:
        lines.append(t("orders.sales_revenue", currency=c.currency, value=amount(c.revenue),
                       previous=amount(c.previous_revenue), change=change_text(t, c.revenue, c.previous_revenue)))
        lines.append(t("orders.sales_orders", currency=c.currency, value=c.orders, previous=c.previous_orders,
                       change=change_text(t, c.orders, c.previous_orders)))
        lines.append(t("orders.sales_average", currency=c.currency, value=amount(c.average),
                       previous=amount(c.previous_average), change=change_text(t, c.average, c.previous_average)))
    for group in GROUPS:
        rows = report.groups.get(group, ())
        if rows:
            lines += ["", t(f"orders.sales_by_{group}")] + [_row(t, r) for r in rows]
    lines += ["", t("orders.sales_definition")]
    return "\n".join(lines)
