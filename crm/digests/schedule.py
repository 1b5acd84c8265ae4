"""When a manager's digest goes out and what it covers.

A digest belongs to a slot, 08:30 in the manager's own time zone: every day (daily, the default), on Mondays
(weekly) or on the 1st (monthly). It covers the period that ended at the start of that day — yesterday, last week
(Monday to Sunday), last month — and compares it with the period before. A digest whose slot passed while the bot
was down goes out at the first tick after the start while the manager's working day lasts (until 18:00 local);
after that it is skipped, and the next digest goes out at its own slot: a digest at night is noise, and the next
one covers the same ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.organisation.digest import DigestPeriod

SLOT = time(8, 30)
WORKDAY_END = time(18, 0)
DAILY_TREND_DAYS = 14  # the weekly digest's chart: one point a day
MONTHLY_TREND_WEEKS = 9  # the monthly digest's chart: one point a week, about the two months it compares


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    OFF = "off"


DEFAULT_FREQUENCY = Frequency.DAILY


def zone_or(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def is_slot_day(frequency: Frequency, day: date) -> bool:
    if frequency is Frequency.DAILY:
        return True
    if frequency is Frequency.WEEKLY:
        return day.weekday() == 0
    if frequency is Frequency.MONTHLY:
        return day.day == 1
    return False


def _month_before(day: date) -> date:
    """The 1st of the month before the one ``day`` is in."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class LocalPeriod:
    """Local dates ``[first, end)``: what a digest covers, as the manager's calendar says."""

    first: date
    end: date

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def in_utc(self, zone: ZoneInfo) -> DigestPeriod:
        return DigestPeriod(datetime.combine(self.first, time(0), zone), datetime.combine(self.end, time(0), zone))


def covered(frequency: Frequency, send_day: date) -> LocalPeriod:
    """The period a digest sent on ``send_day`` covers: the day, week or month that ended when it began."""
    if frequency is Frequency.WEEKLY:
        return LocalPeriod(send_day - timedelta(days=7), send_day)
    if frequency is Frequency.MONTHLY:
        return LocalPeriod(_month_before(send_day), send_day.replace(day=1))
    return LocalPeriod(send_day - timedelta(days=1), send_day)


def before(frequency: Frequency, period: LocalPeriod) -> LocalPeriod:
    """The period before ``period``, of the same kind (the month before is that month, however long)."""
    if frequency is Frequency.MONTHLY:
        return LocalPeriod(_month_before(period.first), period.first)
    length = period.end - period.first
    return LocalPeriod(period.first - length, period.first)


def latest_send_day(frequency: Frequency, today: date) -> date:
    """The latest slot day on or before ``today``: ``/digest now`` shows the digest that day's slot brought (the
    last complete period), whatever the time."""
    if frequency is Frequency.WEEKLY:
        return today - timedelta(days=today.weekday())
    if frequency is Frequency.MONTHLY:
        return today.replace(day=1)
    return today


def trend_buckets(frequency: Frequency, period: LocalPeriod) -> tuple[LocalPeriod, ...]:
    """The chart's points, oldest first, ending with the period: days for a weekly digest, weeks for a monthly
    one, none for a daily one."""
    if frequency is Frequency.WEEKLY:
        step, count = timedelta(days=1), DAILY_TREND_DAYS
    elif frequency is Frequency.MONTHLY:
        step, count = timedelta(days=7), MONTHLY_TREND_WEEKS
    else:
        return ()
    return tuple(LocalPeriod(period.end - step * (n + 1), period.end - step * n) for n in reversed(range(count)))


def due_now(frequency: Frequency, local: datetime) -> bool:
    """Whether the digest of ``local``'s day is due at ``local``: a slot day, the slot has come, and the working
    day has not ended (a missed digest past that is skipped)."""
    return (is_slot_day(frequency, local.date())
            and datetime.combine(local.date(), SLOT, local.tzinfo) <= local
            and local.time() < WORKDAY_END)
