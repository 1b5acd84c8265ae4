"""When a contract's renewal reminder goes out: ``remind_days`` before its end, at the start of a working day in
the owner's time zone.

The reminder is an ordinary follow-up row (crm/followups/reminders.py delivers it), so it is durable, claimed
once however many bot processes run, and sent late — not lost — when the bot was down at its time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WORK_START = time(9, 0)
WORK_END = time(18, 0)
SATURDAY = 5


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= SATURDAY:
        day -= timedelta(days=1)
    return day


def _next_working_moment(local: datetime) -> datetime:
    """``local`` itself inside working hours on a weekday, else the next weekday's WORK_START."""
    if local.weekday() < SATURDAY and WORK_START <= local.time() < WORK_END:
        return local
    day = local.date() if local.time() < WORK_START else local.date() + timedelta(days=1)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return datetime.combine(day, WORK_START, local.tzinfo)


def remind_at(ends_on: date, days: int, timezone: str, now: datetime) -> datetime | None:
    """The reminder's moment (aware, in ``timezone``), or None when the contract has already ended.

    ``days`` before the end at WORK_START; a weekend moves it to the Friday before (earlier, never later). When
    that moment has passed (a contract entered late, or its end moved closer), the next working moment from now,
    so the owner still hears of it before the end.
    """
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    if ends_on < local_now.date():
        return None
    planned = datetime.combine(_weekday_on_or_before(ends_on - timedelta(days=days)), WORK_START, zone)
    if planned >= local_now:
        return planned
    return _next_working_moment(local_now)
