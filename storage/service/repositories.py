"""Repositories for tickets and their entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.organisation.permissions import ScopeFilter
from crm.service.model import OPEN, Entry, EntryKind, ReportLine, Severity, Source, Status, Ticket
from storage.organisation.repositories import scope_clause
from storage.organisation.tables import staff
from storage.service import tables as t

_FIELDS = tuple(f.name for f in fields(Ticket))
_WRITTEN = tuple(name for name in _FIELDS if name != "id")
_OPEN = sorted(s.value for s in OPEN)


def _ticket(row: Row[Any]) -> Ticket:
    values = {name: getattr(row, name) for name in _FIELDS}
    return Ticket(**{**values, "status": Status(row.status), "severity": Severity(row.severity),
                     "source": Source(row.source)})


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Status | Severity | Source | EntryKind) else value


class SqlTicketRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def next_sequence(self, year: int) -> int:
        k = t.tickets.c
        highest = (await self._c.execute(select(func.max(k.sequence)).where(k.year == year))).scalar_one()
        return int(highest or 0) + 1

    async def add(self, ticket: Ticket) -> Ticket:
        values = {name: _stored(getattr(ticket, name)) for name in _WRITTEN}
        new_id = (await self._c.execute(insert(t.tickets).values(**values).returning(t.tickets.c.id))).scalar_one()
        found = await self.get(int(new_id))
        assert found is not None
        return found

    async def get(self, ticket_id: int) -> Ticket | None:
        k = t.tickets.c
        row = (await self._c.execute(select(t.tickets).where(k.id == ticket_id, k.deleted_at.is_(None)))).first()
        return _ticket(row) if row is not None else None

    async def update(self, ticket_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.tickets).where(t.tickets.c.id == ticket_id)
                              .values(**{k: _stored(v) for k, v in fields.items()}))

    async def listed(self, scope: ScopeFilter, *, mine: int | None, open_only: bool, limit: int) -> Sequence[Ticket]:
        k = t.tickets.c
        where = [k.deleted_at.is_(None), or_(scope_clause(scope, k.owner_id), scope_clause(scope, k.assignee_id))]
        if mine is not None:
            where.append(or_(k.owner_id == mine, k.assignee_id == mine, k.opened_by == mine))
        if open_only:
            where.append(k.status.in_(_OPEN))
        rows = await self._c.execute(select(t.tickets).where(*where).order_by(k.due_at, k.id).limit(limit))
        return [_ticket(row) for row in rows]

    async def awaiting_satisfaction(self, phone: str) -> Ticket | None:
        k = t.tickets.c
        row = (await self._c.execute(
            select(t.tickets).where(k.phone == phone, k.status == Status.CLOSED.value, k.deleted_at.is_(None),
                                    k.satisfaction_asked_at.is_not(None), k.satisfaction.is_(None))
            .order_by(k.closed_at.desc(), k.id.desc()).limit(1))).first()
        return _ticket(row) if row is not None else None

    async def report_lines(self, scope: ScopeFilter, since: datetime) -> Sequence[ReportLine]:
        k, s = t.tickets.c, staff.c
        rows = await self._c.execute(
            select(k.category, s.name.label("assignee"), k.status, k.created_at, k.due_at, k.first_response_at,
                   k.resolved_at, k.satisfaction)
            .select_from(t.tickets.outerjoin(staff, s.id == k.assignee_id))
            .where(k.deleted_at.is_(None), k.created_at >= since,
                   or_(scope_clause(scope, k.owner_id), scope_clause(scope, k.assignee_id))))
        return [ReportLine(row.category, row.assignee, Status(row.status), row.created_at, row.due_at,
                           row.first_response_at, row.resolved_at, row.satisfaction) for row in rows]

    async def resolved_in_time(self, staff_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, int]:
        k = t.tickets.c
        who = func.coalesce(k.assignee_id, k.owner_id)
        rows = await self._c.execute(
            select(who.label("who"), func.count().label("n"))
            .where(k.deleted_at.is_(None), k.resolved_at >= start, k.resolved_at < end, k.resolved_at < k.due_at,
                   who.in_(sorted(set(staff_ids))))
            .group_by(who))
        return {int(r.who): int(r.n) for r in rows}

    async def _claim(self, *where: Any, mark: str, now: datetime) -> Sequence[Ticket]:
        k = t.tickets.c
        rows = await self._c.execute(update(t.tickets).where(k.deleted_at.is_(None), k.status.in_(_OPEN), *where)
                                     .values({mark: now}).returning(*t.tickets.c))
        return sorted((_ticket(row) for row in rows), key=lambda ticket: ticket.id)

    async def claim_nudges(self, now: datetime) -> Sequence[Ticket]:
        k = t.tickets.c
        # A ticket already breached is the managers' (claim_breaches), not a nudge any more.
        return await self._claim(k.assignee_id.is_not(None), k.nudge_at <= now, k.due_at > now,
                                 k.nudged_at.is_(None), mark="nudged_at", now=now)

    async def claim_breaches(self, now: datetime) -> Sequence[Ticket]:
        k = t.tickets.c
        return await self._claim(k.due_at <= now, k.breach_told_at.is_(None), mark="breach_told_at", now=now)


class SqlEntryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, entry: Entry) -> Entry:
        e = t.ticket_entries
        new_id = (await self._c.execute(insert(e).values(
            ticket_id=entry.ticket_id, kind=entry.kind.value, text=entry.text, staff_id=entry.staff_id,
            file_id=entry.file_id, file_path=entry.file_path, created_at=entry.created_at).returning(e.c.id))
                  ).scalar_one()
        return replace(entry, id=int(new_id))

    async def of(self, ticket_id: int, *, limit: int) -> Sequence[Entry]:
        e = t.ticket_entries.c
        rows = await self._c.execute(select(t.ticket_entries).where(e.ticket_id == ticket_id)
                                     .order_by(e.id.desc()).limit(limit))
        return [Entry(id=row.id, ticket_id=row.ticket_id, kind=EntryKind(row.kind), text=row.text,
                      staff_id=row.staff_id, created_at=row.created_at, file_id=row.file_id,
                      file_path=row.file_path) for row in rows]
