"""The customers area's figures for managers' digests: counts over a period, each one SQL aggregate within a query
scope, on indexed time columns (customers/leads ``created_at``, interactions ``occurred_at``, follow-ups
``due_at`` / ``completed_at``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.organisation.permissions import ScopeFilter
from storage.customers import tables as t
from storage.organisation import tables as org
from storage.organisation.repositories import scope_clause


class SqlCustomerDigestRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def _count(self, query: Select[Any]) -> int:
        return int((await self._c.execute(query)).scalar_one())

    async def new_customers(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        c = t.customers.c
        return await self._count(select(func.count()).select_from(t.customers).where(
            c.created_at >= start, c.created_at < end, c.deleted_at.is_(None), scope_clause(scope, c.owner_id)))

    async def new_leads(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        c = t.leads.c
        return await self._count(select(func.count()).select_from(t.leads).where(
            c.created_at >= start, c.created_at < end, c.deleted_at.is_(None), scope_clause(scope, c.owner_id)))

    async def interactions(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        return await self._count(select(func.count()).select_from(t.interactions).where(
            *self._logged(scope, start, end)))

    async def interactions_by_author(self, scope: ScopeFilter, start: datetime, end: datetime,
                                     ) -> Sequence[tuple[int, str, int]]:
        i, s = t.interactions.c, org.staff.c
        counted = (select(i.author_id, func.count().label("n")).where(*self._logged(scope, start, end))
                   .group_by(i.author_id).subquery())
        rows = await self._c.execute(select(counted.c.author_id, s.name, counted.c.n)
                                     .join(org.staff, s.id == counted.c.author_id))
        return [(int(r.author_id), str(r.name), int(r.n)) for r in rows]

    @staticmethod
    def _logged(scope: ScopeFilter, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        i = t.interactions.c
        return [i.occurred_at >= start, i.occurred_at < end, i.deleted_at.is_(None), scope_clause(scope, i.author_id)]

    async def followups_done(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        f = t.followups.c
        return await self._count(select(func.count()).select_from(t.followups).where(
            f.status == "done", f.completed_at >= start, f.completed_at < end, f.deleted_at.is_(None),
            scope_clause(scope, f.owner_id)))

    async def followups_due(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        f = t.followups.c
        return await self._count(select(func.count()).select_from(t.followups).where(
            f.status.in_(("open", "done")), f.due_at >= start, f.due_at < end, f.deleted_at.is_(None),
            scope_clause(scope, f.owner_id)))

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
