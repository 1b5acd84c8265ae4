"""The customers area's figures for managers' digests: counts over a period, each one SQL aggregate within a query
scope.

Counts over a period read ``activity_counts`` (per-hour counts per person, kept by triggers — migration 0028) for
the whole UTC hours inside the period, and the counted table itself only for the part of an hour at either edge
(a zone 30 or 45 minutes off UTC): a month costs about what a day does, whatever the number of interactions. The
edges and the point-in-time counts (overdue at a moment) read the indexed time columns (customers/leads
``created_at``, interactions ``occurred_at``, follow-ups ``due_at`` / ``completed_at``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.organisation.permissions import ScopeFilter
from storage.customers import tables as t
from storage.organisation import tables as org
from storage.organisation.repositories import scope_clause

HOUR = timedelta(hours=1)


def _hour_after(moment: datetime) -> datetime:
    """The first whole hour at or after ``moment``."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


class SqlCustomerDigestRepository:
    def __init__(self, conn: AsyncConnection, *, counters: bool = True) -> None:
        self._c = conn
        self._counters = counters  # False: scan the tables (what the counters are checked against in tests)

    async def _count(self, query: Select[Any]) -> int:
        return int((await self._c.execute(query)).scalar_one())

    def _whole_hours(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        first, last = _hour_after(start), end.replace(minute=0, second=0, microsecond=0)
        return (first, last) if self._counters and first < last else None

    async def _counted(self, metric: str, scope: ScopeFilter, start: datetime, end: datetime,
                       scan: Callable[[datetime, datetime], Awaitable[int]]) -> int:
        """``scan``'s count over [start, end): the counters for the whole hours, ``scan`` for the edges."""
        hours = self._whole_hours(start, end)
        if hours is None:
            return await scan(start, end)
        first, last = hours
        a = t.activity_counts.c
        total = await self._count(select(func.coalesce(func.sum(a.n), 0)).where(
            a.metric == metric, a.hour >= first, a.hour < last, scope_clause(scope, a.staff_id)))
        if start < first:
            total += await scan(start, first)
        if last < end:
            total += await scan(last, end)
        return total

    async def new_customers(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        c = t.customers.c

        async def scan(since: datetime, until: datetime) -> int:
            return await self._count(select(func.count()).select_from(t.customers).where(
                c.created_at >= since, c.created_at < until, c.deleted_at.is_(None),
                scope_clause(scope, c.owner_id)))
        return await self._counted("customer_new", scope, start, end, scan)

    async def new_leads(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        c = t.leads.c

        async def scan(since: datetime, until: datetime) -> int:
            return await self._count(select(func.count()).select_from(t.leads).where(
                c.created_at >= since, c.created_at < until, c.deleted_at.is_(None),
                scope_clause(scope, c.owner_id)))
        return await self._counted("lead_new", scope, start, end, scan)

    async def interactions(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        async def scan(since: datetime, until: datetime) -> int:
            return await self._count(select(func.count()).select_from(t.interactions).where(
                *self._logged(scope, since, until)))
        return await self._counted("interaction", scope, start, end, scan)

    async def interactions_by_author(self, scope: ScopeFilter, start: datetime, end: datetime,
                                     ) -> Sequence[tuple[int, str, int]]:
        i, a = t.interactions.c, t.activity_counts.c
        counts: Counter[int] = Counter()

        async def scan(since: datetime, until: datetime) -> None:
            rows = await self._c.execute(select(i.author_id, func.count().label("n"))
                                         .where(*self._logged(scope, since, until)).group_by(i.author_id))
            counts.update({int(r.author_id): int(r.n) for r in rows if r.author_id is not None})

        hours = self._whole_hours(start, end)
        if hours is None:
            await scan(start, end)
        else:
            first, last = hours
            rows = await self._c.execute(
                select(a.staff_id, func.sum(a.n).label("n"))
                .where(a.metric == "interaction", a.hour >= first, a.hour < last, scope_clause(scope, a.staff_id))
                .group_by(a.staff_id))
            counts.update({int(r.staff_id): int(r.n) for r in rows})
            if start < first:
                await scan(start, first)
            if last < end:
                await scan(last, end)
        counted = {staff_id: n for staff_id, n in counts.items() if n > 0}
        if not counted:
            return []
        s = org.staff.c
        found = await self._c.execute(select(s.id, s.name).where(s.id.in_(sorted(counted))))
        names = {int(r.id): str(r.name) for r in found}
        return [(staff_id, str(names[staff_id]), n) for staff_id, n in counted.items() if staff_id in names]

    @staticmethod
    def _logged(scope: ScopeFilter, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        i = t.interactions.c
        return [i.occurred_at >= start, i.occurred_at < end, i.deleted_at.is_(None), scope_clause(scope, i.author_id)]

    async def followups_done(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        f = t.followups.c

        async def scan(since: datetime, until: datetime) -> int:
            return await self._count(select(func.count()).select_from(t.followups).where(
                f.status == "done", f.completed_at >= since, f.completed_at < until, f.deleted_at.is_(None),
                scope_clause(scope, f.owner_id)))
        return await self._counted("followup_done", scope, start, end, scan)

    async def followups_due(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        f = t.followups.c

        async def scan(since: datetime, until: datetime) -> int:
            return await self._count(select(func.count()).select_from(t.followups).where(
                f.status.in_(("open", "done")), f.due_at >= since, f.due_at < until, f.deleted_at.is_(None),
                scope_clause(scope, f.owner_id)))
        return await self._counted("followup_due", scope, start, end, scan)

    async def overdue_by_owner(self, scope: ScopeFilter, at: datetime) -> Sequence[tuple[int, str, int]]:
        """Follow-ups that were overdue at ``at`` (due before it and not done by then), per owner."""
        f, s = t.followups.c, org.staff.c
        # Two index-friendly halves rather than one OR: still open (status, due_at), and done only after ``at``
        # (completed_at) — a scan of every follow-up ever due before ``at`` is what this avoids.
        mine = (f.due_at < at, f.deleted_at.is_(None), scope_clause(scope, f.owner_id))
        still_open = select(f.owner_id).where(f.status == "open", *mine)
        # status through an expression: SQLite then reads completed_at's index (the few done since ``at``), not
        # status's (every follow-up ever done).
        done_since = select(f.owner_id).where(func.lower(f.status) == "done", f.completed_at >= at, *mine)
        late = union_all(still_open, done_since).subquery()
        counted = select(late.c.owner_id, func.count().label("n")).group_by(late.c.owner_id).subquery()
        rows = await self._c.execute(select(counted.c.owner_id, s.name, counted.c.n)
                                     .join(org.staff, s.id == counted.c.owner_id))
        return [(int(r.owner_id), str(r.name), int(r.n)) for r in rows]

    # ---- per person, for performance reviews (crm/followups/kpi.py, crm/customers/kpi.py) -------------------

    async def _per_person(self, query: Select[Any]) -> dict[int, int]:
        return {int(who): int(n) for who, n in await self._c.execute(query)}

    async def interactions_per_author(self, staff_ids: Sequence[int], start: datetime, end: datetime, *,
                                      kinds: Sequence[str] | None = None) -> dict[int, int]:
        i = t.interactions.c
        where = [i.author_id.in_(sorted(set(staff_ids))), i.occurred_at >= start, i.occurred_at < end,
                 i.deleted_at.is_(None)]
        if kinds is not None:
            where.append(i.kind.in_(list(kinds)))
        return await self._per_person(select(i.author_id, func.count()).where(*where).group_by(i.author_id))

    async def new_customers_per_owner(self, staff_ids: Sequence[int], start: datetime, end: datetime,
                                      ) -> dict[int, int]:
        c = t.customers.c
        return await self._per_person(select(c.owner_id, func.count()).where(
            c.owner_id.in_(sorted(set(staff_ids))), c.created_at >= start, c.created_at < end,
            c.deleted_at.is_(None)).group_by(c.owner_id))

    async def followups_on_time_per_owner(self, staff_ids: Sequence[int], start: datetime, end: datetime,
                                          ) -> dict[int, int]:
        f = t.followups.c
        return await self._per_person(select(f.owner_id, func.count()).where(
            f.owner_id.in_(sorted(set(staff_ids))), f.completed_at >= start, f.completed_at < end,
            f.status == "done", f.completed_at <= f.due_at, f.deleted_at.is_(None)).group_by(f.owner_id))
