"""The follow-ups module's part of a manager's digest (crm/organisation/digest.py): interactions logged, per rep;
follow-ups done, due and overdue, and who has overdue ones; the interactions line of the trend chart.

All within the manager's ``followups`` query scope (interactions by their author, follow-ups by their owner)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestRow, DigestSectionResult, DigestSeries
from crm.organisation.permissions import Actor

MAX_ROWS = 15  # reps listed under a section; the section's totals count everyone


def sees_followups(actor: Actor) -> bool:
    return actor.can("followups.create") or actor.can("followups.edit")


def rows(current: Sequence[tuple[int, str, int]], before: Sequence[tuple[int, str, int]], key: str,
         ) -> tuple[DigestRow, ...]:
    """One row per person counted in either period, the largest current count first (then by name)."""
    then = {staff_id: n for staff_id, _, n in before}
    names = {staff_id: name for staff_id, name, _ in (*before, *current)}
    now = {staff_id: n for staff_id, _, n in current}
    people = sorted(names, key=lambda s: (-now.get(s, 0), -then.get(s, 0), names[s], s))
    return tuple(DigestRow(names[s], (DigestFigure(key, now.get(s, 0), then.get(s, 0)),))
                 for s in people[:MAX_ROWS])


class InteractionsSection:
    name = "interactions"
    position = 20

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not sees_followups(actor):
            return None
        work: CustomersUnitOfWork = uow
        counts, scope = work.customers.digest, actor.scope_filter("followups")
        current = await counts.interactions_by_author(scope, period.start, period.end)
        before = await counts.interactions_by_author(scope, previous.start, previous.end)
        total = DigestFigure("followups.digest_interactions", sum(n for *_, n in current),
                             sum(n for *_, n in before))
        return DigestSectionResult(self.name, "followups.digest_interactions_title", figures=(total,),
                                   rows=rows(current, before, "followups.digest_interactions"))


class FollowUpsSection:
    name = "followups"
    position = 30

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not sees_followups(actor):
            return None
        work: CustomersUnitOfWork = uow
        counts, scope = work.customers.digest, actor.scope_filter("followups")
        overdue = await counts.overdue_by_owner(scope, period.end)
        overdue_before = await counts.overdue_by_owner(scope, previous.end)
        figures = (
            DigestFigure("followups.digest_done", await counts.followups_done(scope, period.start, period.end),
                         await counts.followups_done(scope, previous.start, previous.end)),
            DigestFigure("followups.digest_due", await counts.followups_due(scope, period.start, period.end),
                         await counts.followups_due(scope, previous.start, previous.end)),
            DigestFigure("followups.digest_overdue", sum(n for *_, n in overdue),
                         sum(n for *_, n in overdue_before)),
        )
        # Only people overdue now are listed: the row says who needs a word today.
        named = rows(overdue, [o for o in overdue_before if o[0] in {s for s, *_ in overdue}],
                     "followups.digest_overdue")
        return DigestSectionResult(self.name, "followups.digest_followups_title", figures=figures, rows=named)


class InteractionsTrend:
    name = "interactions"
    position = 20
    key = "followups.digest_interactions"

    async def series(self, uow: Any, actor: Actor, buckets: Sequence[DigestPeriod]) -> DigestSeries | None:
        if not sees_followups(actor):
            return None
        work: CustomersUnitOfWork = uow
        scope = actor.scope_filter("followups")
        return DigestSeries(self.key, tuple(
            [await work.customers.digest.interactions(scope, b.start, b.end) for b in buckets]))
