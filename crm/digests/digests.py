"""Managers' digests: each holder of ``digests.receive`` gets their scope's figures for the last day, week or
month beside the period before (crm/digests/schedule.py says when), with a trend chart in the weekly and monthly
ones; ``/digest now`` on demand.

The figures come from the sections other modules add to ``services.organisation.digest_sections`` (and the chart's
lines from ``digest_trends``); this service computes them all, and draws the chart, in the worker's separate
process (``crm.core.offloop.Worker.run_apart``: a thread of the bot's process would share its interpreter lock),
each section in a read-only unit of work of that worker, for the manager's own query scope — the sections apply
``actor.scope_filter``. Sections and trend lines therefore have to pickle (module-level classes with plain
attributes), and so do their results.

Sending once: before a scheduled digest is pushed, a row (staff, frequency, period) is inserted under a unique key;
whoever inserts it sends. Two bot processes on one database, or a restart, never send a digest twice. At most once:
a crash between the claim and the push loses that digest rather than repeating it; a push refused for a reason that
may pass (flood control, the network) drops the claim so the next tick tries again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.digests.ports import DigestsUnitOfWork, TrendChart
from crm.digests.schedule import (
    DEFAULT_FREQUENCY,
    Frequency,
    LocalPeriod,
    before,
    covered,
    due_now,
    latest_send_day,
    trend_buckets,
    zone_or,
)
from crm.organisation import audit
from crm.organisation.digest import (
    DigestPeriod,
    DigestSection,
    DigestSectionResult,
    DigestSeries,
    DigestTrend,
)
from crm.organisation.permissions import Actor

log = logging.getLogger(__name__)

OPERATION = "digests.receive"
CHART_TITLE_KEY = "digests.chart_title"
KEEP_CLAIMS = timedelta(days=40)  # looked at when deciding who is due: the longest period, and then some


@dataclass(frozen=True)
class DueDigest:
    """A scheduled digest to send now: its recipient, kind, and the local day of its slot."""

    staff_id: int
    frequency: Frequency
    send_day: date

    @property
    def period(self) -> LocalPeriod:
        return covered(self.frequency, self.send_day)


@dataclass(frozen=True)
class Digest:
    frequency: Frequency
    period: LocalPeriod
    previous: LocalPeriod
    sections: tuple[DigestSectionResult, ...]
    points: tuple[LocalPeriod, ...] = ()
    """The chart's x-axis (weekly and monthly digests)."""
    trend: tuple[DigestSeries, ...] = ()
    chart: bytes | None = None
    """The trend chart as a PNG, when there is a trend with anything in it."""

    @property
    def quiet(self) -> bool:
        """Nothing in this period nor the one before: a scheduled push would be noise (``/digest now`` still
        shows it)."""
        figures = [f for s in self.sections for f in (*s.figures, *(g for r in s.rows for g in r.figures))]
        return all(not f.value and not f.previous for f in figures)


def frequency_of(stored: str | None) -> Frequency:
    try:
        return Frequency(stored) if stored else DEFAULT_FREQUENCY
    except ValueError:
        return DEFAULT_FREQUENCY


class DigestService:
    def __init__(self, uow: UnitOfWorkFactory[DigestsUnitOfWork], clock: Clock, *,
                 sections: Iterable[DigestSection] = (), trends: Iterable[DigestTrend] = (),
                 worker: Worker[UnitOfWorkFactory[Any]] | None = None, chart: TrendChart | None = None,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._sections = sections  # an extension point: read when a digest is made, after every module added to it
        self._trends = trends
        self._worker: Worker[UnitOfWorkFactory[Any]] = worker or InlineWorker(uow)
        self._chart = chart
        self.default_timezone = default_timezone

    # ---- settings --------------------------------------------------------------------------------------------

    async def frequency(self, actor: Actor) -> Frequency:
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            return frequency_of(await uow.digests.digests.frequency(actor.staff_id))

    async def set_frequency(self, actor: Actor, frequency: Frequency) -> Frequency:
        actor.require(OPERATION)
        async with self._uow() as uow:
            stored = await uow.digests.digests.frequency(actor.staff_id)
            before_value = frequency_of(stored).value
            if before_value != frequency.value or stored is None:
                await uow.digests.digests.set_frequency(actor.staff_id, frequency.value, self._clock.now())
                await audit.record(uow, actor.staff_id, "update", "staff", actor.staff_id,
                                   {"digest": before_value}, {"digest": frequency.value})
            await uow.commit()
        return frequency

    # ---- making one ------------------------------------------------------------------------------------------

    async def now(self, actor: Actor, label: Callable[[str], str] | None = None) -> Digest:
        """``/digest now``: the manager's kind of digest (daily when they turned it off) for the last complete
        period, computed now."""
        chosen = await self.frequency(actor)
        frequency = Frequency.DAILY if chosen is Frequency.OFF else chosen
        today = self._clock.now().astimezone(zone_or(actor.timezone, self.default_timezone)).date()
        return await self.compose(actor, frequency, latest_send_day(frequency, today), label)

    async def compose(self, actor: Actor, frequency: Frequency, send_day: date,
                      label: Callable[[str], str] | None = None) -> Digest:
        """The digest of ``frequency`` sent on ``send_day`` (local), for ``actor``'s scope. ``label`` translates
        the chart's texts (keys) into the actor's language; it is called here, before the job."""
        actor.require(OPERATION)
        if frequency is Frequency.OFF:
            raise ValidationFailed("digests.bad_frequency")
        zone = zone_or(actor.timezone, self.default_timezone)
        period = covered(frequency, send_day)
        previous = before(frequency, period)
        points = trend_buckets(frequency, period)
        sections = sorted(self._sections, key=lambda s: s.position)
        trends = sorted(self._trends, key=lambda s: s.position)
        name = label or str
        # The job runs in another process: the translator stays here, its words for the chart go instead.
        labels = {key: name(key) for key in (CHART_TITLE_KEY, *(trend.key for trend in trends))} if points else {}
        results, lines, png = await self._worker.run_apart(
            compose_job, sections, trends, actor, period.in_utc(zone), previous.in_utc(zone),
            [p.in_utc(zone) for p in points], [f"{p.first:%m-%d}" for p in points], self._chart, labels)
        return Digest(frequency, period, previous, tuple(results), points, tuple(lines), png)

    # ---- the schedule (for the scheduler: no actor) ----------------------------------------------------------

    async def due(self) -> list[DueDigest]:
        """Digests whose slot has come (crm/digests/schedule.py) and that nobody has claimed yet."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            roles = [r.id for r in await uow.organisation.roles.list_all() if OPERATION in r.permissions]
            people = await uow.digests.digests.recipients(roles) if roles else []
            candidates: list[DueDigest] = []
            for person in people:
                frequency = frequency_of(person.frequency)
                local = now.astimezone(zone_or(person.timezone, self.default_timezone))
                if frequency is not Frequency.OFF and due_now(frequency, local):
                    candidates.append(DueDigest(person.staff_id, frequency, local.date()))
            if not candidates:
                return []
            taken = await uow.digests.digests.claimed([d.staff_id for d in candidates],
                                                       (now - KEEP_CLAIMS).date())
        return [d for d in candidates if (d.staff_id, d.frequency.value, d.period.first) not in taken]

    async def claim(self, due: DueDigest) -> bool:
        """True for exactly one caller per digest, whatever the number of processes."""
        async with self._uow() as uow:
            claimed = await uow.digests.digests.claim(due.staff_id, due.frequency.value, due.period.first,
                                                      self._clock.now())
            await uow.commit()
        return claimed

    async def release(self, due: DueDigest) -> None:
        async with self._uow() as uow:
            await uow.digests.digests.release(due.staff_id, due.frequency.value, due.period.first)
            await uow.commit()

    async def mark_sent(self, due: DueDigest) -> None:
        async with self._uow() as uow:
            await uow.digests.digests.mark_sent(due.staff_id, due.frequency.value, due.period.first,
                                                self._clock.now())
            await uow.commit()


async def compose_job(factory: UnitOfWorkFactory[Any], sections: Sequence[DigestSection],
                      trends: Sequence[DigestTrend], actor: Actor, period: DigestPeriod, previous: DigestPeriod,
                      buckets: Sequence[DigestPeriod], points: Sequence[str], chart: TrendChart | None,
                      labels: Mapping[str, str]) -> tuple[list[DigestSectionResult], list[DigestSeries], bytes | None]:
    """A digest's sections, trend lines and chart, in the worker's separate process (arguments and result cross by
    pickling): counting fifty managers' digests and drawing ten charts at 08:30 is Python enough to slow every
    lookup of the bot's process if done in a thread of it (bench/digest.py). ``labels`` are the chart's words,
    translated beforehand: the chart's title (``CHART_TITLE_KEY``) and each trend's ``key``."""
    results: list[DigestSectionResult] = []
    for section in sections:
        async with _isolated(factory, section.name) as uow:
            result = await section.compute(uow, actor, period, previous)
            if result is not None:
                results.append(result)
    lines: list[DigestSeries] = []
    for trend in trends if buckets else []:
        async with _isolated(factory, trend.name) as uow:
            line = await trend.series(uow, actor, buckets)
            if line is not None:
                lines.append(line)
    png = None
    if chart is not None and any(any(line.values) for line in lines):
        png = chart.render(labels.get(CHART_TITLE_KEY, CHART_TITLE_KEY), points,
                           [(labels.get(line.key, line.key), line.values) for line in lines])
    return results, lines, png


@asynccontextmanager
async def _isolated(factory: UnitOfWorkFactory[Any], name: str) -> AsyncIterator[Any]:
    """One contribution in a read-only unit of work of its own: a section that fails is left out (and logged)
    instead of taking the digest with it — on PostgreSQL a failed statement would spoil a shared transaction."""
    try:
        async with factory(write=False) as uow:
            yield uow
    except Exception:
        log.exception("digest part %s failed; the digest goes out without it", name)


__all__ = ["CHART_TITLE_KEY", "OPERATION", "Digest", "DigestService", "DueDigest", "compose_job", "frequency_of"]
