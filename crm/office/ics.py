"""An iCalendar (RFC 5545) feed written by hand: text escaped (§3.3.11), lines folded at 75 octets (§3.1), times
in the person's zone with a VTIMEZONE built from the zone's own transitions over the feed's span."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from crm.office.model import ScheduleItem

PRODID = "-//crmbot//office calendar//EN"


def escape(text: str) -> str:
    """TEXT values: backslash, semicolon, comma and newlines escaped; other control characters dropped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(ch for ch in text if ch >= " " or ch == "\t")


def fold(line: str) -> str:
    """Lines longer than 75 octets go on in continuation lines starting with a space, never inside a UTF-8
    character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        width = len(ch.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}{seconds % 3600 // 60:02d}"


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta, timedelta,
                                                                              bool]]:
    """(the local time it happens, offset before, offset after, is daylight time) for each change of offset,
    found hour by hour after a change is seen day by day."""
    found = []
    step = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    before = step.astimezone(zone).utcoffset() or timedelta()
    while step < end:
        after_day = step + timedelta(days=1)
        if (after_day.astimezone(zone).utcoffset() or timedelta()) != before:
            hour = step
            while (hour.astimezone(zone).utcoffset() or timedelta()) == before:
                hour += timedelta(hours=1)
            now = hour.astimezone(zone)
            after = now.utcoffset() or timedelta()
            found.append(((hour + before).replace(tzinfo=None), before, after, bool(now.dst())))
            before = after
        step = after_day
    return found


def vtimezone(zone: ZoneInfo, start: datetime, end: datetime) -> list[str]:
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone.key}"]
    first = start.astimezone(zone)
    offset = first.utcoffset() or timedelta()
    kind = "DAYLIGHT" if first.dst() else "STANDARD"
    lines += [f"BEGIN:{kind}", "DTSTART:19700101T000000", f"TZOFFSETFROM:{_offset(offset)}",
              f"TZOFFSETTO:{_offset(offset)}", f"END:{kind}"]
    for at, old, new, daylight in _transitions(zone, start, end):
        kind = "DAYLIGHT" if daylight else "STANDARD"
        lines += [f"BEGIN:{kind}", f"DTSTART:{at.strftime('%Y%m%dT%H%M%S')}", f"TZOFFSETFROM:{_offset(old)}",
                  f"TZOFFSETTO:{_offset(new)}", f"END:{kind}"]
    return [*lines, "END:VTIMEZONE"]


def calendar(name: str, zone: ZoneInfo, items: Iterable[ScheduleItem], *, now: datetime, start: datetime,
             end: datetime, host: str = "crmbot") -> str:
    """The whole feed, CRLF line ends as the RFC wants."""
    lines: list[str] = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
                        "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(name)}", f"X-WR-TIMEZONE:{zone.key}",
                        *vtimezone(zone, start, end)]
    for item in items:
        ends = item.ends_at or item.starts_at + timedelta(minutes=30)
        lines += ["BEGIN:VEVENT", f"UID:{item.uid}@{host}", f"DTSTAMP:{_utc(now)}",
                  f"DTSTART;TZID={zone.key}:{_local(item.starts_at, zone)}",
                  f"DTEND;TZID={zone.key}:{_local(ends, zone)}", f"SUMMARY:{escape(item.title)}",
                  f"CATEGORIES:{escape(item.kind.upper())}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def unfold(text: str) -> Sequence[str]:
    """The logical lines of a feed (for tests and for reading one back)."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
