"""crm/digests/schedule.py: which day's slot is a digest's, what it covers, the period before, the chart's points,
and the working-day cut-off for a missed digest."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from crm.digests.schedule import (
    Frequency,
    LocalPeriod,
    before,
    covered,
    due_now,
    latest_send_day,
    trend_buckets,
)

TAIPEI = ZoneInfo("Asia/Taipei")


def test_each_kind_covers_what_ended_when_its_day_began() -> None:
    assert covered(Frequency.DAILY, date(2027, 1, 1)) == LocalPeriod(date(2026, 12, 31), date(2027, 1, 1))
    assert covered(Frequency.WEEKLY, date(2026, 11, 30)) == LocalPeriod(date(2026, 11, 23), date(2026, 11, 30))
    march = covered(Frequency.MONTHLY, date(2027, 3, 1))
    assert march == LocalPeriod(date(2027, 2, 1), date(2027, 3, 1)) and march.last == date(2027, 2, 28)
    # The month before is that whole month, however long: February is compared with January's 31 days.
    assert before(Frequency.MONTHLY, march) == LocalPeriod(date(2027, 1, 1), date(2027, 2, 1))
    assert before(Frequency.WEEKLY, covered(Frequency.WEEKLY, date(2026, 11, 30))) == LocalPeriod(
        date(2026, 11, 16), date(2026, 11, 23))


def test_digest_now_shows_the_last_complete_period() -> None:
    thursday = date(2026, 11, 26)
    assert latest_send_day(Frequency.DAILY, thursday) == thursday
    assert latest_send_day(Frequency.WEEKLY, thursday) == date(2026, 11, 23)
    assert latest_send_day(Frequency.MONTHLY, thursday) == date(2026, 11, 1)


def test_the_charts_points_end_with_the_period() -> None:
    week = covered(Frequency.WEEKLY, date(2026, 11, 30))
    days = trend_buckets(Frequency.WEEKLY, week)
    assert len(days) == 14 and days[0].first == date(2026, 11, 16) and days[-1].end == week.end
    assert all(a.end == b.first for a, b in pairwise(days))
    weeks = trend_buckets(Frequency.MONTHLY, covered(Frequency.MONTHLY, date(2026, 12, 1)))
    assert len(weeks) == 9 and weeks[-1] == LocalPeriod(date(2026, 11, 24), date(2026, 12, 1))
    assert trend_buckets(Frequency.DAILY, covered(Frequency.DAILY, date(2026, 12, 1))) == ()


def test_due_from_the_slot_until_the_working_day_ends_on_its_own_days() -> None:
    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=TAIPEI)

    assert not due_now(Frequency.DAILY, at(26, 8, 29))
    assert due_now(Frequency.DAILY, at(26, 8, 30)) and due_now(Frequency.DAILY, at(26, 17, 59))
    assert not due_now(Frequency.DAILY, at(26, 18, 0))
    assert due_now(Frequency.WEEKLY, at(30, 9)) and not due_now(Frequency.WEEKLY, at(26, 9))
    assert not due_now(Frequency.MONTHLY, at(30, 9))
    assert due_now(Frequency.MONTHLY, datetime(2026, 12, 1, 9, tzinfo=TAIPEI))
    assert not due_now(Frequency.OFF, at(30, 9))
