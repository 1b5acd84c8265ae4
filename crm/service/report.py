"""/ticketreport: tickets opened in a period, open vs closed, medians of time to first response and to resolve
(elapsed hours), SLA breaches, the average rating — in total, by category and by assignee."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from statistics import median

from crm.service.model import OPEN, ReportLine, ReportRow, Status

PERIODS: dict[str, int] = {"week": 7, "month": 30, "quarter": 91, "year": 365, "週": 7, "周": 7, "月": 30, "季": 91,
                           "年": 365}
DEFAULT_DAYS = 30
MAX_DAYS = 3660


def period_days(word: str | None) -> int | None:
    """``week`` / ``month`` / ``quarter`` / ``year`` (or 週 月 季 年), a number of days; None when not one."""
    text = (word or "").strip().casefold()
    if not text:
        return DEFAULT_DAYS
    if text in PERIODS:
        return PERIODS[text]
    if text.isdigit() and 1 <= int(text) <= MAX_DAYS:
        return int(text)
    return None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def summarise(label: str, lines: Sequence[ReportLine], now: datetime) -> ReportRow:
    responses = [_hours(x.first_response_at - x.created_at) for x in lines if x.first_response_at is not None]
    resolves = [_hours(x.resolved_at - x.created_at) for x in lines if x.resolved_at is not None]
    ratings = [x.satisfaction for x in lines if x.satisfaction is not None]
    breaches = sum(1 for x in lines if (x.resolved_at or now) >= x.due_at)  # as Ticket.breached counts
    return ReportRow(label=label, opened=len(lines), open_now=sum(1 for x in lines if x.status in OPEN),
                     closed=sum(1 for x in lines if x.status is Status.CLOSED), breaches=breaches,
                     first_response_hours=median(responses) if responses else None,
                     resolve_hours=median(resolves) if resolves else None,
                     satisfaction=sum(ratings) / len(ratings) if ratings else None, rated=len(ratings))


def grouped(lines: Iterable[ReportLine], key: Callable[[ReportLine], str | None], none: str,
            now: datetime) -> tuple[ReportRow, ...]:
    groups: dict[str, list[ReportLine]] = {}
    for line in lines:
        groups.setdefault(key(line) or none, []).append(line)
    rows = [summarise(label, members, now) for label, members in groups.items()]
    return tuple(sorted(rows, key=lambda r: (-r.opened, r.label)))
