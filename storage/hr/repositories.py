"""The HR module's repositories (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.hr.model import (
    EmploymentStatus,
    EventKind,
    HrEvent,
    KpiLine,
    KpiTarget,
    PeriodKind,
    Review,
    ReviewStatus,
    StaffProfile,
)
from storage.hr import tables as t


def _profile(row: Row[Any]) -> StaffProfile:
    return StaffProfile(row.staff_id, row.employee_no, row.title, row.manager_id, row.hire_date, row.phone,
                        row.email, row.emergency_contact, EmploymentStatus(row.status), row.updated_at)


class SqlProfileRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def get(self, staff_id: int) -> StaffProfile | None:
        p = t.staff_profiles
        row = (await self._c.execute(select(p).where(p.c.staff_id == staff_id))).first()
        return _profile(row) if row is not None else None

    async def save(self, profile: StaffProfile) -> None:
        p = t.staff_profiles
        values = {**asdict(profile), "status": profile.status.value}
        done = await self._c.execute(update(p).where(p.c.staff_id == profile.staff_id).values(**values))
        if done.rowcount == 0:
            await self._c.execute(insert(p).values(**values))


def _event(row: Row[Any]) -> HrEvent:
    return HrEvent(row.id, row.staff_id, EventKind(row.kind), row.occurred_on, row.note, row.created_by,
                   row.created_at, row.from_department_id, row.to_department_id, row.file_id, row.file_name,
                   row.file_path, row.deleted_at)


class SqlEventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, event: HrEvent) -> HrEvent:
        e = t.hr_events
        values = {**asdict(event), "kind": event.kind.value}
        del values["id"]
        new_id = (await self._c.execute(insert(e).values(**values).returning(e.c.id))).scalar_one()
        return HrEvent(**{**asdict(event), "id": int(new_id)})

    async def get(self, event_id: int) -> HrEvent | None:
        e = t.hr_events
        row = (await self._c.execute(select(e).where(e.c.id == event_id))).first()
        return _event(row) if row is not None else None

    async def update(self, event_id: int, **fields: Any) -> None:
        e = t.hr_events
        await self._c.execute(update(e).where(e.c.id == event_id).values(**fields))

    async def timeline(self, staff_id: int, *, limit: int, offset: int = 0) -> Sequence[HrEvent]:
        e = t.hr_events
        rows = await self._c.execute(select(e).where(e.c.staff_id == staff_id, e.c.deleted_at.is_(None))
                                     .order_by(e.c.occurred_on.desc(), e.c.id.desc()).offset(offset).limit(limit))
        return [_event(r) for r in rows]


class SqlTargetRepository:
    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._c = conn
        self._now = now

    async def for_people(self, staff_ids: Sequence[int], role_ids: Sequence[int]) -> Sequence[KpiTarget]:
        k = t.kpi_targets
        rows = await self._c.execute(select(k).where(or_(
            k.c.staff_id.in_(sorted(set(staff_ids))),
            k.c.staff_id.is_(None) & k.c.role_id.in_(sorted(set(role_ids))))))
        return [KpiTarget(r.kpi, PeriodKind(r.period_kind), Decimal(r.target), r.staff_id, r.role_id) for r in rows]

    async def set(self, target: KpiTarget, by: int) -> Decimal | None:
        k = t.kpi_targets
        who = (k.c.staff_id == target.staff_id if target.staff_id is not None
               else k.c.staff_id.is_(None) & (k.c.role_id == target.role_id))
        where = (who, k.c.kpi == target.kpi, k.c.period_kind == target.period_kind.value)
        before = (await self._c.execute(select(k.c.target).where(*where))).scalar()
        await self._c.execute(delete(k).where(*where))
        if target.target > 0:
            await self._c.execute(insert(k).values(
                staff_id=target.staff_id, role_id=target.role_id, kpi=target.kpi,
                period_kind=target.period_kind.value, target=target.target, updated_by=by, updated_at=self._now()))
        return Decimal(before) if before is not None else None


def _lines_out(lines: Sequence[KpiLine]) -> list[dict[str, Any]]:
    return [{"kpi": x.kpi, "title_key": x.title_key, "actual": str(x.actual),
             "target": None if x.target is None else str(x.target), "currency": x.currency} for x in lines]


def _lines_in(raw: Any) -> tuple[KpiLine, ...]:
    return tuple(KpiLine(x["kpi"], x["title_key"], Decimal(x["actual"]),
                         None if x.get("target") is None else Decimal(x["target"]), x.get("currency"))
                 for x in raw or ())


def _review(row: Row[Any]) -> Review:
    return Review(row.id, row.staff_id, PeriodKind(row.period_kind), row.period_start, row.reviewer_id,
                  _lines_in(row.lines), row.score, row.comment, ReviewStatus(row.status), row.created_at,
                  row.acknowledged_at, row.deleted_at)


class SqlReviewRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, review: Review) -> Review:
        r = t.reviews
        new_id = (await self._c.execute(insert(r).values(
            staff_id=review.staff_id, period_kind=review.period_kind.value, period_start=review.period_start,
            reviewer_id=review.reviewer_id, lines=_lines_out(review.lines), score=review.score,
            comment=review.comment, status=review.status.value, created_at=review.created_at,
        ).returning(r.c.id))).scalar_one()
        return Review(int(new_id), review.staff_id, review.period_kind, review.period_start, review.reviewer_id,
                      review.lines, review.score, review.comment, review.status, review.created_at)

    async def get(self, review_id: int) -> Review | None:
        r = t.reviews
        row = (await self._c.execute(select(r).where(r.c.id == review_id))).first()
        return _review(row) if row is not None else None

    async def find(self, staff_id: int, kind: PeriodKind, first: date) -> Review | None:
        r = t.reviews
        row = (await self._c.execute(select(r).where(
            r.c.staff_id == staff_id, r.c.period_kind == kind.value, r.c.period_start == first,
            r.c.deleted_at.is_(None)))).first()
        return _review(row) if row is not None else None

    async def update(self, review_id: int, **fields: Any) -> None:
        if "lines" in fields:
            fields["lines"] = _lines_out(fields["lines"])
        r = t.reviews
        await self._c.execute(update(r).where(r.c.id == review_id).values(**fields))

    async def of_person(self, staff_id: int, *, limit: int) -> Sequence[Review]:
        r = t.reviews
        rows = await self._c.execute(select(r).where(r.c.staff_id == staff_id, r.c.deleted_at.is_(None))
                                     .order_by(r.c.period_start.desc(), r.c.id.desc()).limit(limit))
        return [_review(x) for x in rows]
