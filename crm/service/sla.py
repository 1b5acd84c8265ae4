"""SLA due times counted in working hours of the company's time zone.

A ticket opened on Friday at 17:00 with an 8-hour SLA, in a company working 09:00–18:00 Monday to Friday, is due
on Monday at 16:00: only the hours the company works count. The hours per severity and the working window are
settings (``service_sla_hours``, ``service_hours``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.service.model import Severity

DEFAULT_SLA = "urgent=4,high=8,normal=24,low=72"
DEFAULT_HOURS = "mon-fri 09:00-18:00"
NUDGE_SHARE = 0.8  # the assignee is nudged once this share of the SLA is used
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_sla(text: str) -> dict[Severity, int]:
    """``urgent=4,high=8,normal=24,low=72``: working hours per severity, every severity named once."""
    hours: dict[Severity, int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            severity = Severity(name.strip().lower())
            amount = int(value.strip())
        except ValueError:
            raise ValueError(f"bad SLA part {part.strip()!r} (use e.g. urgent=4,high=8,normal=24,low=72)") from None
        if not 1 <= amount <= 24 * 90:
            raise ValueError(f"SLA hours for {severity} must be 1-2160")
        hours[severity] = amount
    if set(hours) != set(Severity):
        raise ValueError("name every severity: urgent, high, normal, low")
    return hours


def _clock(text: str) -> time:
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


@dataclass(frozen=True)
class WorkingHours:
    days: frozenset[int]  # Monday is 0
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: str) -> WorkingHours:
        """``mon-fri 09:00-18:00`` (or ``mon-sat 08:30-17:30``, ``mon,wed,fri 9-17``)."""
        try:
            days_text, hours_text = text.strip().lower().split()
            first, _, last = hours_text.partition("-")
            start, end = _clock(first), _clock(last)
            days: set[int] = set()
            for chunk in days_text.split(","):
                a, _, b = chunk.partition("-")
                lo, hi = _DAYS.index(a), _DAYS.index(b or a)
                days.update(range(lo, hi + 1))
        except ValueError:
            raise ValueError(f"bad working hours {text!r} (use e.g. mon-fri 09:00-18:00)") from None
        if start >= end or not days:
            raise ValueError(f"bad working hours {text!r}: the day must start before it ends")
        return cls(frozenset(days), start, end, ZoneInfo(zone))

    def _window(self, day: datetime) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        return (datetime.combine(day.date(), self.start, self.zone), datetime.combine(day.date(), self.end, self.zone))

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``."""
        left = timedelta(hours=hours)
        local = start.astimezone(self.zone)
        for _ in range(3700):  # ten years of days: a bound, never reached with sane settings
            window = self._window(local)
            if window is not None:
                begin, end = max(window[0], local), window[1]
                if begin < end:
                    if end - begin >= left:
                        return (begin + left).astimezone(UTC)
                    left -= end - begin
            local = datetime.combine(local.date() + timedelta(days=1), time(0), self.zone)
        raise ValueError("working hours never come")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        total = timedelta()
        local, stop = start.astimezone(self.zone), end.astimezone(self.zone)
        while local < stop:
            window = self._window(local)
            if window is not None:
                begin, finish = max(window[0], local), min(window[1], stop)
                if begin < finish:
                    total += finish - begin
            local = datetime.combine(local.date() + timedelta(days=1), time(0), self.zone)
        return total


@dataclass(frozen=True)
class SlaPolicy:
    hours: dict[Severity, int]
    working: WorkingHours

    @classmethod
    def parse(cls, sla: str, working: str, zone: str) -> SlaPolicy:
        return cls(parse_sla(sla), WorkingHours.parse(working, zone))

    def due(self, opened_at: datetime, severity: Severity) -> datetime:
        return self.working.add(opened_at, self.hours[severity])

    def nudge_at(self, opened_at: datetime, severity: Severity) -> datetime:
        return self.working.add(opened_at, self.hours[severity] * NUDGE_SHARE)
