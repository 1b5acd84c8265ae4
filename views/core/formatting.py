"""Times are stored in UTC and shown in the reader's time zone."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(moment: datetime, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone(timezone)).strftime(fmt)
