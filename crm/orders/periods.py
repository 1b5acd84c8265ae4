"""The periods ``/sales`` reads (docs/orders.md, "Sales analysis"), in English, Traditional and Simplified Chinese.

A period is a half-open range of days ``[since, before)`` in the reader's time zone, with the period it is compared
with: the one of the same kind just before it (the month, quarter or year before; the same number of days before).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from crm.core.errors import ValidationFailed

ERROR = "orders.sales_error_period"
MAX_DAYS = 3660
_THIS_MONTH = {"", "month", "this month", "本月", "這個月", "这个月", "本月份"}
_LAST_MONTH = {"last month", "上月", "上個月", "上个月"}
_THIS_QUARTER = {"quarter", "this quarter", "本季", "本季度", "這季", "这季"}
_LAST_QUARTER = {"last quarter", "上季", "上季度", "上一季"}
_THIS_YEAR = {"year", "this year", "今年", "本年"}
_LAST_YEAR = {"last year", "去年", "上年"}
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_YEAR = re.compile(r"(\d{4})\s*年?")
_QUARTER = re.compile(r"(?:q([1-4])\s*(\d{4}))|(?:(\d{4})\s*年?\s*(?:q|第)\s*([1-4])\s*(?:季度?)?)")
_DAYS = re.compile(r"(?:(?:last|past)\s*(\d{1,4})\s*days?)|(?:(?:最近|過去|过去|近)\s*(\d{1,4})\s*(?:天|日))")


@dataclass(frozen=True)
class SalesPeriod:
    since: date
    before: date
    previous_since: date
    label: str  # "2026-11", "2026-Q3", "2026", "2026-11-07..2026-12-06"

    @property
    def days(self) -> int:
        return (self.before - self.since).days

    @property
    def code(self) -> str:
        """What a button carries to ask for this period again: only digits and the kind."""
        return f"{self.since:%Y%m%d}{self.before:%Y%m%d}{self.previous_since:%Y%m%d}"


def from_code(code: str) -> SalesPeriod:
    """The period a button carried (``code``); a garbled one is a clear error, never a crash."""
    if not re.fullmatch(r"\d{24}", code):
        raise ValidationFailed(ERROR)
    try:
        since, before, previous = (date(int(code[i:i + 4]), int(code[i + 4:i + 6]), int(code[i + 6:i + 8]))
                                   for i in (0, 8, 16))
    except ValueError:
        raise ValidationFailed(ERROR) from None
    if not previous < since < before or (before - since).days > MAX_DAYS:
        raise ValidationFailed(ERROR)
    return SalesPeriod(since, before, previous, _label(since, before))


def _label(since: date, before: date) -> str:
    last = before - timedelta(days=1)
    if since.day == 1 and before.day == 1:
        months = (before.year - since.year) * 12 + before.month - since.month
        if months == 1:
            return f"{since:%Y-%m}"
        if months == 3 and since.month % 3 == 1:
            return f"{since.year}-Q{since.month // 3 + 1}"
        if months == 12 and since.month == 1:
            return str(since.year)
    return f"{since:%Y-%m-%d}..{last:%Y-%m-%d}"


def _months(year: int, month: int, count: int) -> SalesPeriod:
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        raise ValidationFailed(ERROR)

    def shift(y: int, m: int, by: int) -> date:
        index = y * 12 + m - 1 + by
        return date(index // 12, index % 12 + 1, 1)

    since = date(year, month, 1)
    before = shift(year, month, count)
    return SalesPeriod(since, before, shift(year, month, -count), _label(since, before))


def parse_period(text: str, today: date) -> SalesPeriod:
    """This month (nothing typed), last month, this/last quarter, this/last year, ``Q3 2026``, ``2026``, ``2026-11``,
    ``last 30 days`` — and the same in Chinese (上個月, 本季, 2026年第3季, 2026年11月, 最近30天)."""
    words = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    quarter_start = (today.month - 1) // 3 * 3 + 1
    if words in _THIS_MONTH:
        return _months(today.year, today.month, 1)
    if words in _LAST_MONTH:
        return _months(today.year - (today.month == 1), 12 if today.month == 1 else today.month - 1, 1)
    if words in _THIS_QUARTER:
        return _months(today.year, quarter_start, 3)
    if words in _LAST_QUARTER:
        return _months(today.year - (quarter_start == 1), 10 if quarter_start == 1 else quarter_start - 3, 3)
    if words in _THIS_YEAR:
        return _months(today.year, 1, 12)
    if words in _LAST_YEAR:
        return _months(today.year - 1, 1, 12)
    if found := _QUARTER.fullmatch(words):
        quarter, year = (found[1], found[2]) if found[1] else (found[4], found[3])
        return _months(int(year), (int(quarter) - 1) * 3 + 1, 3)
    if found := _MONTH.fullmatch(words):
        return _months(int(found[1]), int(found[2]), 1)
    if found := _YEAR.fullmatch(words):
        return _months(int(found[1]), 1, 12)
    if found := _DAYS.fullmatch(words):
        days = int(found[1] or found[2])
        if not 1 <= days <= MAX_DAYS:
            raise ValidationFailed(ERROR)
        before = today + timedelta(days=1)
        since = before - timedelta(days=days)
        return SalesPeriod(since, before, since - timedelta(days=days), _label(since, before))
    raise ValidationFailed(ERROR)
