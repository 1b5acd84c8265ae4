"""Budgets, projects and reports as text, and the budget alert push shared by the approval and the alert job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from typing import Any

from telegram import Bot

from crm.core.money import Money
from crm.expenses.budgets import BudgetService, UsageView
from crm.expenses.model import BudgetAlert, BudgetLine, ProjectCard, ProjectStatus
from crm.expenses.reports import GROUPS, Report
from outbound.telegram_send import Button, Outcome, deliver
from views.expenses.expenses import amounts_text, money_text

log = logging.getLogger(__name__)
Translate = Callable[..., str]
REPORT_LINES = 8  # per grouping in chat; the XLSX file has every line


def _line_label(locale: str, line: BudgetLine) -> str:
    label = f"{line.department_name} · {line.category.display_name(locale)}"  # a parameter: escaped by t()
    return label + (f" · #{line.project_name}" if line.project_name else "")


def budget_line_text(t: Translate, locale: str, line: BudgetLine) -> str:
    text = t("expenses.budget_line", label=_line_label(locale, line),
             used=money_text(Money(line.used, line.budget.currency)),
             budget=money_text(line.budget.money), percent=line.percent)
    if line.pending:
        text += " " + t("expenses.budget_pending", amount=money_text(Money(line.pending, line.budget.currency)))
    return text


def usage_text(t: Translate, locale: str, view: UsageView) -> str:
    lines = [t("expenses.budget_title", year=view.year)]
    lines += [budget_line_text(t, locale, line) for line in view.lines] or [t("expenses.budget_none")]
    return "\n".join(lines)


def alert_text(t: Translate, locale: str, alert: BudgetAlert) -> str:
    key = "expenses.alert_full" if alert.threshold >= 100 else "expenses.alert_near"
    return t(key, threshold=alert.threshold, year=alert.line.budget.year) + "\n" + \
        budget_line_text(t, locale, alert.line)


async def tell_alert(budgets: BudgetService, bot: Bot, translator: Callable[[str], Translate], default_locale: str,
                     alert_id: int) -> bool:
    """Push one budget alert to the department's managers; marked told once every manager's push arrived (or
    there is nobody to tell), else the alert job tries again."""
    alert = await budgets.alert(alert_id)
    if alert is None:
        return False
    arrived = True
    for manager in alert.managers:
        if manager.telegram_user_id is None:
            continue
        locale = manager.locale or default_locale
        delivery = await deliver(bot, manager.telegram_user_id, alert_text(translator(locale), locale, alert))
        if delivery.outcome in (Outcome.RETRY,):
            arrived = False
            log.warning("budget alert %s to staff %s not sent yet: %s", alert_id, manager.id, delivery.error)
    await budgets.told(alert_id, sent=arrived)
    return arrived


STATUS_ICON = {ProjectStatus.ACTIVE: "🟢", ProjectStatus.ON_HOLD: "⏸", ProjectStatus.CLOSED: "⚫"}


def project_status_text(t: Translate, status: ProjectStatus) -> str:
    return f"{STATUS_ICON[status]} " + t(f"expenses.project_{status.value}")


def project_text(t: Translate, card: ProjectCard) -> str:
    p = card.project
    lines = [t("expenses.project_title", name=p.name),
             t("expenses.project_owner", name=card.owner_name),
             t("expenses.project_status", status=project_status_text(t, p.status))]
    if card.customer_name:
        lines.append(t("expenses.card_customer", name=card.customer_name))
    lines.append(t("expenses.project_spent", count=card.count, total=amounts_text(t, card.totals)))
    return "\n".join(lines)


def project_rows(t: Translate, card: ProjectCard, may_manage: bool) -> list[list[Button]]:
    if not may_manage:
        return []
    return [[(project_status_text(t, status), f"pj:st:{card.project.id}:{i}")
             for i, status in enumerate(ProjectStatus) if status is not card.project.status],
            [(t("expenses.btn_rename"), f"pj:ren:{card.project.id}")]]


def report_text(t: Translate, report: Report) -> str:
    lines = [t("expenses.report_title", period=report.period.label),
             t("expenses.report_total", total=amounts_text(t, report.totals))]
    for group in GROUPS:
        rows = report.groups[group]
        if not rows:
            continue
        lines.append("")
        lines.append(f"<b>{t(f'expenses.report_by_{group}')}</b>")
        for row in rows[:REPORT_LINES]:
            lines.append(f"• {escape(row.label)}: {money_text(Money(row.total, row.currency))} ({row.count})")
        if len(rows) > REPORT_LINES:
            lines.append(t("expenses.report_more", count=len(rows) - REPORT_LINES))
    return "\n".join(lines)


def translator_of(catalogs: Any) -> Callable[[str], Translate]:
    def for_locale(locale: str) -> Translate:
        def t(key: str, /, **params: Any) -> str:
            return str(catalogs.t(locale, key, **params))
        return t
    return for_locale
