"""The periods /sales reads, in English, Traditional and Simplified Chinese, each with the period it is compared
with; anything else is a clear error."""

from __future__ import annotations

from datetime import date

import pytest

from crm.core.errors import ValidationFailed
from crm.orders.periods import from_code, parse_period

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(("text", "since", "before", "previous", "label"), [
    ("", date(2026, 11, 1), date(2026, 12, 1), date(2026, 10, 1), "2026-11"),
    ("this month", date(2026, 11, 1), date(2026, 12, 1), date(2026, 10, 1), "2026-11"),
    ("本月", date(2026, 11, 1), date(2026, 12, 1), date(2026, 10, 1), "2026-11"),
    ("Last Month", date(2026, 10, 1), date(2026, 11, 1), date(2026, 9, 1), "2026-10"),
    ("上個月", date(2026, 10, 1), date(2026, 11, 1), date(2026, 9, 1), "2026-10"),
    ("上个月", date(2026, 10, 1), date(2026, 11, 1), date(2026, 9, 1), "2026-10"),
    ("上月", date(2026, 10, 1), date(2026, 11, 1), date(2026, 9, 1), "2026-10"),
    ("this quarter", date(2026, 10, 1), date(2027, 1, 1), date(2026, 7, 1), "2026-Q4"),
    ("本季", date(2026, 10, 1), date(2027, 1, 1), date(2026, 7, 1), "2026-Q4"),
    ("last quarter", date(2026, 7, 1), date(2026, 10, 1), date(2026, 4, 1), "2026-Q3"),
    ("上季度", date(2026, 7, 1), date(2026, 10, 1), date(2026, 4, 1), "2026-Q3"),
    ("Q3 2026", date(2026, 7, 1), date(2026, 10, 1), date(2026, 4, 1), "2026-Q3"),
    ("2026 q1", date(2026, 1, 1), date(2026, 4, 1), date(2025, 10, 1), "2026-Q1"),
    ("2026年第3季", date(2026, 7, 1), date(2026, 10, 1), date(2026, 4, 1), "2026-Q3"),
    ("2026", date(2026, 1, 1), date(2027, 1, 1), date(2025, 1, 1), "2026"),
    ("２０２５年", date(2025, 1, 1), date(2026, 1, 1), date(2024, 1, 1), "2025"),
    ("去年", date(2025, 1, 1), date(2026, 1, 1), date(2024, 1, 1), "2025"),
    ("2026-11", date(2026, 11, 1), date(2026, 12, 1), date(2026, 10, 1), "2026-11"),
    ("2026年1月", date(2026, 1, 1), date(2026, 2, 1), date(2025, 12, 1), "2026-01"),
    ("last 30 days", date(2026, 10, 28), date(2026, 11, 27), date(2026, 9, 28), "2026-10-28..2026-11-26"),
    ("最近30天", date(2026, 10, 28), date(2026, 11, 27), date(2026, 9, 28), "2026-10-28..2026-11-26"),
    ("過去 7 天", date(2026, 11, 20), date(2026, 11, 27), date(2026, 11, 13), "2026-11-20..2026-11-26"),
    ("过去7天", date(2026, 11, 20), date(2026, 11, 27), date(2026, 11, 13), "2026-11-20..2026-11-26"),
])
def test_periods_in_three_languages(text: str, since: date, before: date, previous: date, label: str) -> None:
    period = parse_period(text, TODAY)
    assert (period.since, period.before, period.previous_since, period.label) == (since, before, previous, label)
    assert from_code(period.code) == period  # what a button carries asks for the same period


def test_last_month_in_january_is_december() -> None:
    period = parse_period("last month", date(2027, 1, 15))
    assert (period.since, period.before, period.previous_since) == (date(2026, 12, 1), date(2027, 1, 1),
                                                                     date(2026, 11, 1))


@pytest.mark.parametrize("text", ["yesterday-ish", "2026-13", "Q5 2026", "1999", "last 0 days", "最近99999天",
                                  "明年第五季", "2026年13月"])
def test_a_wrong_period_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_period(text, TODAY)
    assert raised.value.key == "orders.sales_error_period"


@pytest.mark.parametrize("code", ["", "2026", "x" * 24, "202611012026100120261001", "202613012026120120261001",
                                  "202611012026120120261101"])
def test_a_forged_period_code_is_refused(code: str) -> None:
    with pytest.raises(ValidationFailed):
        from_code(code)
