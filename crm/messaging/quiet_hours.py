"""Quiet hours for marketing texts, in the recipient's own time zone.

US rules (and good manners everywhere) forbid marketing texts before 08:00 and after 21:00 where the recipient
is. A text that falls inside the window is deferred to the end of the window, never dropped. The window usually
crosses midnight (21:00–08:00); one that does not (12:00–13:00) works too, and a start equal to the end means
"no quiet hours".

The recipient's zone comes from the phone number's country (``phonenumbers``' geographic time-zone data, first
zone listed); numbers without one (mobile ranges that span a country's zones, unknown ranges) fall back to the
company's default zone.

Times are computed as wall-clock times on the recipient's calendar and then converted back to UTC through the
zone, so a window edge on a daylight-saving change day lands on the right instant: an edge inside the spring-
forward gap (02:30 that never happens) resolves to the first moment after the gap, and an edge in the repeated
fall-back hour resolves to its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

__all__ = ["QuietHours", "recipient_zone"]

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*$")
_UNKNOWN_ZONE = "Etc/Unknown"


def _clock(hours: str, minutes: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0, 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"not a time of day: {hours}:{minutes}")
    return time(h, m)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, local to the recipient, in which marketing texts wait. ``start == end``: no window."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"``; ``"off"``, ``"none"`` or an empty string switch quiet hours off."""
        if text.strip().lower() in ("", "off", "none", "0"):
            return cls(time(0), time(0))
        match = _WINDOW.match(text)
        if match is None:
            raise ValueError(f"quiet hours must look like 21:00-08:00, got {text!r}")
        return cls(_clock(match[1], match[2]), _clock(match[3], match[4]))

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}" if self.enabled else "off"

    def contains(self, local: time) -> bool:
        """Whether a wall-clock time is inside the window (start inclusive, end exclusive)."""
        if not self.enabled:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def resume_at(self, now: datetime, zone: str | ZoneInfo) -> datetime | None:
        """When a text due ``now`` may go out: None if it may go now, else the window's end (UTC)."""
        if now.tzinfo is None:
            raise ValueError("resume_at needs an aware datetime")
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        local = now.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        if not self.contains(wall):
            return None
        # The window ends today if the end is still ahead on today's clock, else tomorrow.
        end_day: date = local.date() if wall < self.end else local.date() + timedelta(days=1)
        naive_end = datetime.combine(end_day, self.end)
        # fold=0 is the first occurrence of a repeated (fall-back) wall time, and in a spring-forward gap maps
        # past the gap; fold=1 is the second occurrence, for a text due during the repeated hour itself.
        for fold in (0, 1):
            resume = naive_end.replace(tzinfo=tz, fold=fold).astimezone(UTC)
            if resume > now:
                return resume
        return None


@lru_cache(maxsize=4096)
def _zone_for(e164: str) -> str | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    for name in phone_timezone.time_zones_for_number(number):
        if name == _UNKNOWN_ZONE:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return None


def recipient_zone(e164: str, default: str) -> str:
    """The recipient's IANA zone from the number's country/area; ``default`` when the number does not tell."""
    return _zone_for(e164) or default
