"""Expense reports within the reader's ``expenses`` query scope: totals per currency by category, person,
customer, project and month, summed in SQL (``ExpenseRepository.sums``). Rejected expenses are not counted;
approved and pending ones are, as on /expenses. The chat shows the largest lines; the XLSX file has them all and
is written in the worker.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.expenses.budgets import SheetFile
from crm.expenses.model import ReportRow, Status, totals
from crm.expenses.ports import Cell, ExpensesUnitOfWork, SheetWriter
from crm.organisation.permissions import Actor

GROUPS = ("category", "staff", "customer", "project", "month")
COUNTED = (Status.APPROVED, Status.SUBMITTED)
Translate = Callable[..., str]
_MONTH = re.compile(r"(\d{4})[-/.年](\d{1,2})月?")
_YEAR = re.compile(r"(\d{4})年?")
THIS_MONTH = {"", "month", "this month", "本月", "這個月", "这个月"}
LAST_MONTH = {"last month", "上月", "上個月", "上个月"}
THIS_YEAR = {"year", "this year", "今年"}


@dataclass(frozen=True)
class Period:
    since: date
    before: date
    label: str  # "2026-11", "2026"


def _month(year: int, month: int) -> Period:
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationFailed("expenses.error_period")
    after = date(year + month // 12, month % 12 + 1, 1)
    return Period(date(year, month, 1), after, f"{year:04d}-{month:02d}")


def parse_period(text: str, today: date) -> Period:
    """This month (nothing typed), last month, this year, ``2026`` or ``2026-11`` (also 2026/11, 2026年11月)."""
    words = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    if words in THIS_MONTH:
        return _month(today.year, today.month)
    if words in LAST_MONTH:
        return _month(today.year - (today.month == 1), 12 if today.month == 1 else today.month - 1)
    if words in THIS_YEAR:
        words = str(today.year)
    if found := _MONTH.fullmatch(words):
        return _month(int(found[1]), int(found[2]))
    if (found := _YEAR.fullmatch(words)) and 2000 <= int(found[1]) <= 2100:
        year = int(found[1])
        return Period(date(year, 1, 1), date(year + 1, 1, 1), str(year))
    raise ValidationFailed("expenses.error_period")


@dataclass(frozen=True)
class Report:
    period: Period
    totals: tuple[Money, ...]
    groups: dict[str, tuple[ReportRow, ...]]


class ReportService:
    def __init__(self, uow: UnitOfWorkFactory[ExpensesUnitOfWork], clock: Clock, sheets: SheetWriter, *,
                 worker: Worker[UnitOfWorkFactory[ExpensesUnitOfWork]] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._sheets = sheets
        self._worker = worker or InlineWorker(uow)

    @staticmethod
    def _may_read(actor: Actor) -> None:
        if not (actor.can("expenses.create") or actor.can("expenses.approve") or actor.can("expenses.budget")):
            actor.require("expenses.create")

    def period(self, actor: Actor, text: str) -> Period:
        return parse_period(text, self._clock.now().astimezone(ZoneInfo(actor.timezone)).date())

    async def report(self, actor: Actor, period: Period, locale: str, none_label: str) -> Report:
        self._may_read(actor)
        async with self._uow(write=False) as uow:
            return await self._report(uow, actor, period, locale, none_label)

    async def _report(self, uow: ExpensesUnitOfWork, actor: Actor, period: Period, locale: str,
                      none_label: str) -> Report:
        scope = actor.scope_filter("expenses")
        groups: dict[str, tuple[ReportRow, ...]] = {}
        for group in GROUPS:
            rows = await uow.expenses.expenses.sums(scope, group, since=period.since, before=period.before,
                                                    statuses=COUNTED)
            labels = await self._labels(uow, group, [key for key, *_ in rows if key is not None], locale)
            groups[group] = tuple(ReportRow(labels.get(key, none_label) if key is not None else none_label,
                                            currency, total, count) for key, currency, total, count in rows)
        overall = totals(Money(r.total, r.currency) for r in groups["category"])
        return Report(period, overall, groups)

    @staticmethod
    async def _labels(uow: ExpensesUnitOfWork, group: str, keys: Sequence[object], locale: str) -> dict[object, str]:
        if group == "category":
            return {c.id: c.display_name(locale) for c in await uow.expenses.categories.every()}
        if group == "staff":
            people = [await uow.organisation.staff.get(int(str(k))) for k in set(keys)]
            return {p.id: p.name for p in people if p is not None}
        if group == "customer":
            found = [await uow.customers.customers.get(int(str(k)), include_deleted=True) for k in set(keys)]
            return {c.id: c.name for c in found if c is not None}
        if group == "project":
            return {k: v for k, v in (await uow.expenses.projects.names([int(str(k)) for k in keys])).items()}
        return {k: str(k) for k in keys}

    async def export(self, actor: Actor, period: Period, translate: Translate, locale: str) -> SheetFile:
        """Every line of every grouping as one XLSX sheet each, prepared in the worker."""
        self._may_read(actor)
        none_label = translate("expenses.none")
        return await self._worker.run(lambda factory: self._export(factory, actor, period, translate, locale,
                                                                    none_label))

    async def _export(self, factory: UnitOfWorkFactory[ExpensesUnitOfWork], actor: Actor, period: Period,
                      translate: Translate, locale: str, none_label: str) -> SheetFile:
        async with factory(write=False) as uow:
            report = await self._report(uow, actor, period, locale, none_label)
        headers = [translate("expenses.col_name"), translate("expenses.col_currency"),
                   translate("expenses.col_total"), translate("expenses.col_count")]
        sheets: list[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]] = [
            (translate(f"expenses.report_by_{group}"), headers,
             [[r.label, r.currency, r.total, r.count] for r in report.groups[group]]) for group in GROUPS]
        data = await asyncio.to_thread(self._sheets.write, sheets)
        count = sum(len(rows) for rows in report.groups.values())
        return SheetFile(f"expenses-{period.label}.xlsx", data, count)
