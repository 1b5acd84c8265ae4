"""KPI targets, actuals and performance reviews (docs/hr.md).

The measures are the KPI sources other modules contribute (``services.organisation.kpi_sources``,
crm/organisation/kpi.py). Actuals are computed for exactly the reviewed period (the reviewer's calendar month,
quarter or year, in their time zone) and for the people the actor may review, in a worker off the event loop:
one grouped aggregate per source for the whole team, however many people it has.

Targets are set per person or per role and per kind of period; a person's own target wins over their role's. A
period without a target of its kind takes the monthly one scaled (×3 a quarter, ×12 a year), or the quarterly
one ×4 for a year, so a team can be given one monthly figure.

A review freezes the figures of the period with the manager's score (1–5) and comment; the person reviewed
acknowledges it with a button. ``/mykpi`` shows anyone their own progress; ``reviews.manage`` shows a manager
the people in their staff scope ranked by attainment, with a chart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.hr.model import (
    KpiLine,
    KpiTarget,
    PeriodKind,
    PersonKpis,
    Review,
    ReviewStatus,
)
from crm.hr.periods import ReviewPeriod
from crm.hr.ports import HrUnitOfWork, TeamChart
from crm.organisation import audit
from crm.organisation.kpi import KpiPeriod, KpiSource
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor

REVIEW = "reviews.manage"
MAX_COMMENT = 1000
MAX_TEAM = 500
CHART_TITLE_KEY = "hr.chart_title"
_SCALE: Mapping[tuple[PeriodKind, PeriodKind], int] = {
    (PeriodKind.QUARTER, PeriodKind.MONTH): 3, (PeriodKind.YEAR, PeriodKind.MONTH): 12,
    (PeriodKind.YEAR, PeriodKind.QUARTER): 4,
}


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (KeyError, ValueError):
        return ZoneInfo(default)


def target_for(targets: Sequence[KpiTarget], staff_id: int, role_id: int, kpi: str, kind: PeriodKind
               ) -> Decimal | None:
    """The person's own target of this kind, else their role's; else a shorter period's, scaled."""
    def find(k: PeriodKind) -> Decimal | None:
        own = [t.target for t in targets if t.kpi == kpi and t.period_kind is k and t.staff_id == staff_id]
        role = [t.target for t in targets if t.kpi == kpi and t.period_kind is k and t.role_id == role_id
                and t.staff_id is None]
        found = own or role
        return found[0] if found else None

    exact = find(kind)
    if exact is not None:
        return exact
    for (longer, shorter), factor in _SCALE.items():
        if longer is kind:
            base = find(shorter)
            if base is not None:
                return base * factor
    return None


def parse_target(raw: str) -> Decimal:
    text = raw.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed("hr.error_target") from exc
    if not value.is_finite() or value < 0 or value > Decimal("1e12"):
        raise ValidationFailed("hr.error_target")
    return value


@dataclass(frozen=True)
class TeamKpis:
    period: ReviewPeriod
    people: tuple[PersonKpis, ...]  # ranked: the highest attainment first
    chart: bytes | None = None


class ReviewService:
    def __init__(self, uow: UnitOfWorkFactory[HrUnitOfWork], clock: Clock, *, sources: Iterable[KpiSource] = (),
                 worker: Worker[UnitOfWorkFactory[Any]] | None = None, chart: TeamChart | None = None,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._sources = sources  # an extension point: read when figures are made, after every module added to it
        self._worker: Worker[UnitOfWorkFactory[Any]] = worker or InlineWorker(uow)
        self._chart = chart
        self.default_timezone = default_timezone

    def measures(self) -> list[KpiSource]:
        return sorted(self._sources, key=lambda s: s.position)

    def _source(self, kpi: str) -> KpiSource:
        for source in self._sources:
            if source.name == kpi:
                return source
        raise ValidationFailed("hr.error_kpi")

    def today(self, actor: Actor) -> date:
        return self._clock.now().astimezone(_zone(actor.timezone, self.default_timezone)).date()

    # ---- figures ----------------------------------------------------------------------------------------------

    async def _figures(self, people: Sequence[Staff], period: ReviewPeriod, zone: ZoneInfo, *,
                       chart_title: str | None = None) -> tuple[list[PersonKpis], bytes | None]:
        """One person's figures in the worker thread; a team's, with its chart, in the worker's separate process:
        drawing the chart and reading a hundred people's rows is Python enough to slow every lookup in this one
        while it runs (bench/kpi.py)."""
        if not people:
            return [], None
        sources, window = self.measures(), period.in_utc(zone)
        if chart_title is None:
            async def job(factory: UnitOfWorkFactory[Any]) -> tuple[list[PersonKpis], bytes | None]:
                return await compute(factory, sources, people, period.kind, window), None

            return await self._worker.run(job)
        return await self._worker.run_apart(team_job, sources, list(people), period.kind, window, self._chart,
                                            chart_title)

    async def mine(self, actor: Actor, period: ReviewPeriod) -> PersonKpis:
        """Anyone's own progress, any time."""
        async with self._uow(write=False) as uow:
            me = await uow.organisation.staff.get(actor.staff_id)
        if me is None:
            raise NotFound()
        found, _ = await self._figures([me], period, _zone(actor.timezone, self.default_timezone))
        return found[0]

    async def _reviewable(self, uow: HrUnitOfWork, actor: Actor, staff_id: int) -> Staff:
        actor.require(REVIEW)
        person = await uow.organisation.staff.get(staff_id)
        if (person is None or person.deleted_at is not None or person.id == actor.staff_id
                or not actor.scope_filter("staff").allows(person.id, person.department_id)):
            raise NotFound()
        return person

    async def person(self, actor: Actor, staff_id: int, period: ReviewPeriod) -> tuple[PersonKpis, Review | None]:
        """A colleague's figures for a review, with the review already written for that period, if any."""
        async with self._uow(write=False) as uow:
            person = await self._reviewable(uow, actor, staff_id)
            review = await uow.hr.reviews.find(staff_id, period.kind, period.first)
        found, _ = await self._figures([person], period, _zone(actor.timezone, self.default_timezone))
        return found[0], review

    async def team(self, actor: Actor, period: ReviewPeriod, label: Callable[[str], str] | None = None
                   ) -> TeamKpis:
        """The active people in the actor's staff scope (not the actor), ranked by attainment, with a chart."""
        actor.require(REVIEW)
        async with self._uow(write=False) as uow:
            people = [p for p in await uow.organisation.staff.list(actor.scope_filter("staff"), limit=MAX_TEAM)
                      if p.id != actor.staff_id and p.active]
        title = (label or str)(CHART_TITLE_KEY) + f" · {period.label}"
        found, png = await self._figures(people, period, _zone(actor.timezone, self.default_timezone),
                                         chart_title=title)
        ranked = sorted(found, key=_rank)
        return TeamKpis(period, tuple(ranked), png)

    # ---- targets ----------------------------------------------------------------------------------------------

    async def set_target(self, actor: Actor, staff_id: int, kpi: str, kind: PeriodKind, raw: str, *,
                         for_role: bool = False) -> Decimal:
        """Set a target for the person (or, ``for_role``, for everyone with their role); 0 removes it."""
        self._source(kpi)
        value = parse_target(raw)
        async with self._uow() as uow:
            person = await self._reviewable(uow, actor, staff_id)
            target = KpiTarget(kpi, kind, value, staff_id=None if for_role else person.id,
                               role_id=person.role_id if for_role else None)
            before = await uow.hr.targets.set(target, actor.staff_id)
            await audit.record(uow, actor.staff_id, "set_target", "role" if for_role else "staff",
                               person.role_id if for_role else person.id,
                               {"kpi": kpi, "period": kind.value, "target": before},
                               {"kpi": kpi, "period": kind.value, "target": value})
            await uow.commit()
        return value

    # ---- reviews ----------------------------------------------------------------------------------------------

    async def submit(self, actor: Actor, staff_id: int, period: ReviewPeriod, score: int, comment: str) -> Review:
        """Write (or rewrite, until acknowledged) the review of a period: the figures as they are now, frozen."""
        if not 1 <= score <= 5:
            raise ValidationFailed("hr.error_score")
        comment = comment.strip()
        if len(comment) > MAX_COMMENT:
            raise ValidationFailed("hr.error_too_long", limit=MAX_COMMENT)
        figures, _ = await self.person(actor, staff_id, period)
        async with self._uow() as uow:
            await self._reviewable(uow, actor, staff_id)
            existing = await uow.hr.reviews.find(staff_id, period.kind, period.first)
            now = self._clock.now()
            if existing is not None:
                if existing.status is ReviewStatus.ACKNOWLEDGED:
                    raise Conflict("hr.error_acknowledged")
                await uow.hr.reviews.update(existing.id, lines=figures.lines, score=score, comment=comment,
                                            reviewer_id=actor.staff_id, created_at=now)
                review = Review(existing.id, staff_id, period.kind, period.first, actor.staff_id, figures.lines,
                                score, comment, ReviewStatus.SUBMITTED, now)
            else:
                review = await uow.hr.reviews.add(Review(0, staff_id, period.kind, period.first, actor.staff_id,
                                                         figures.lines, score, comment, ReviewStatus.SUBMITTED,
                                                         now))
            await audit.record(uow, actor.staff_id, "review", "staff", staff_id, {},
                               {"review": review.id, "period": period.code, "score": score,
                                "attainment": review.attainment})
            await uow.commit()
        return review

    async def get(self, actor: Actor, review_id: int) -> Review:
        """The person reviewed, or someone who may review them."""
        async with self._uow(write=False) as uow:
            review = await uow.hr.reviews.get(review_id)
            if review is None or review.deleted_at is not None:
                raise NotFound()
            if review.staff_id != actor.staff_id:
                await self._reviewable(uow, actor, review.staff_id)
        return review

    async def acknowledge(self, actor: Actor, review_id: int) -> Review:
        async with self._uow() as uow:
            review = await uow.hr.reviews.get(review_id)
            if review is None or review.deleted_at is not None or review.staff_id != actor.staff_id:
                raise NotFound()
            if review.status is ReviewStatus.ACKNOWLEDGED:
                return review
            now = self._clock.now()
            await uow.hr.reviews.update(review_id, status=ReviewStatus.ACKNOWLEDGED.value, acknowledged_at=now)
            await audit.record(uow, actor.staff_id, "acknowledge", "review", review_id,
                               {"status": review.status.value}, {"status": ReviewStatus.ACKNOWLEDGED.value})
            await uow.commit()
        return Review(review.id, review.staff_id, review.period_kind, review.period_start, review.reviewer_id,
                      review.lines, review.score, review.comment, ReviewStatus.ACKNOWLEDGED, review.created_at,
                      now)

    async def person_of(self, actor: Actor, review: Review) -> tuple[Staff, Staff | None]:
        """The person reviewed and their reviewer (for the push and the card)."""
        async with self._uow(write=False) as uow:
            person = await uow.organisation.staff.get(review.staff_id)
            reviewer = await uow.organisation.staff.get(review.reviewer_id)
        if person is None:
            raise NotFound()
        return person, reviewer

    async def reviews_of(self, actor: Actor, staff_id: int) -> Sequence[Review]:
        async with self._uow(write=False) as uow:
            if staff_id != actor.staff_id:
                await self._reviewable(uow, actor, staff_id)
            return await uow.hr.reviews.of_person(staff_id, limit=12)


async def compute(factory: UnitOfWorkFactory[Any], sources: Sequence[KpiSource], people: Sequence[Staff],
                  kind: PeriodKind, window: KpiPeriod) -> list[PersonKpis]:
    """Every source's actuals for these people in one read-only unit of work, with their targets."""
    ids = [p.id for p in people]
    async with factory(write=False) as uow:
        work: HrUnitOfWork = uow
        actuals = {s.name: await s.actuals(uow, ids, window) for s in sources}
        targets = await work.hr.targets.for_people(ids, sorted({p.role_id for p in people}))
    return [PersonKpis(p.id, p.name, tuple(
        KpiLine(s.name, s.title_key, Decimal(actuals[s.name].get(p.id, Decimal(0))),
                target_for(targets, p.id, p.role_id, s.name, kind), s.currency)
        for s in sources)) for p in people]


async def team_job(factory: UnitOfWorkFactory[Any], sources: Sequence[KpiSource], people: Sequence[Staff],
                   kind: PeriodKind, window: KpiPeriod, chart: TeamChart | None, title: str,
                   ) -> tuple[list[PersonKpis], bytes | None]:
    """A team's figures and its chart, in the worker's process (arguments and result cross by pickling)."""
    found = await compute(factory, sources, people, kind, window)
    png = None
    if chart is not None and found:
        ranked = sorted(found, key=_rank)
        png = chart.render(title, [(p.name, float(p.attainment or 0)) for p in ranked])
    return found, png


def _rank(person: PersonKpis) -> tuple[Decimal, str, int]:
    """The highest attainment first (no target at all: last), then by name."""
    return (-(person.attainment if person.attainment is not None else Decimal(-1)), person.name, person.staff_id)
