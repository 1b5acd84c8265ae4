"""Review periods: a month, a quarter or a year of the reviewer's own calendar, written as a short code that fits
a button (``m202610``, ``q20264``, ``y2026``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.core.errors import ValidationFailed
from crm.hr.model import PeriodKind
from crm.organisation.kpi import KpiPeriod

_CODE = re.compile(r"^(m)(\d{4})(0[1-9]|1[0-2])$|^(q)(\d{4})([1-4])$|^(y)(\d{4})$")


@dataclass(frozen=True)
class ReviewPeriod:
    kind: PeriodKind
    first: date  # the first day; the period ends the day before ``after``

    @property
    def after(self) -> date:
        months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[self.kind]
        index = self.first.month - 1 + months
        return date(self.first.year + index // 12, index % 12 + 1, 1)

    @property
    def last(self) -> date:
        return self.after - timedelta(days=1)

    @property
    def code(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"m{self.first.year}{self.first.month:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"q{self.first.year}{(self.first.month - 1) // 3 + 1}"
        return f"y{self.first.year}"

    @property
    def label(self) -> str:
        """Language-neutral: 2026-10, 2026 Q4, 2026."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.first.year}-{self.first.month:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.first.year} Q{(self.first.month - 1) // 3 + 1}"
        return str(self.first.year)

    def in_utc(self, zone: ZoneInfo) -> KpiPeriod:
        start = datetime.combine(self.first, time(0), zone)
        end = datetime.combine(self.after, time(0), zone)
        return KpiPeriod(start, end, self.first, self.last)

    def previous(self) -> ReviewPeriod:
        return containing(self.kind, self.first - timedelta(days=1))


def containing(kind: PeriodKind, day: date) -> ReviewPeriod:
    if kind is PeriodKind.MONTH:
        return ReviewPeriod(kind, day.replace(day=1))
    if kind is PeriodKind.QUARTER:
        return ReviewPeriod(kind, date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    return ReviewPeriod(kind, date(day.year, 1, 1))


def parse_code(code: str) -> ReviewPeriod:
    match = _CODE.match(code)
    if match is None:
        raise ValidationFailed("hr.error_period")
    if match.group(1):
        return ReviewPeriod(PeriodKind.MONTH, date(int(match.group(2)), int(match.group(3)), 1))
    if match.group(4):
        return ReviewPeriod(PeriodKind.QUARTER, date(int(match.group(5)), (int(match.group(6)) - 1) * 3 + 1, 1))
    return ReviewPeriod(PeriodKind.YEAR, date(int(match.group(8)), 1, 1))


def choices(today: date) -> list[ReviewPeriod]:
    """The periods offered on a button row: this and last month, quarter and year."""
    out: list[ReviewPeriod] = []
    for kind in PeriodKind:
        current = containing(kind, today)
        out += [current, current.previous()]
    return out
