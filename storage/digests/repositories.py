"""Digest settings and the claims of scheduled digests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.digests.ports import Recipient
from storage.digests import tables as t
from storage.organisation import tables as org


class SqlDigestRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    def _insert(self, table: Any) -> Any:
        return postgresql.insert(table) if self._c.dialect.name == "postgresql" else sqlite.insert(table)

    async def frequency(self, staff_id: int) -> str | None:
        d = t.digest_settings.c
        value = (await self._c.execute(select(d.frequency).where(d.staff_id == staff_id))).scalar()
        return None if value is None else str(value)

    async def set_frequency(self, staff_id: int, frequency: str, at: datetime) -> None:
        stmt = self._insert(t.digest_settings).values(staff_id=staff_id, frequency=frequency, updated_at=at)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=["staff_id"], set_={"frequency": frequency, "updated_at": at}))

    async def recipients(self, role_ids: Sequence[int]) -> Sequence[Recipient]:
        s, d = org.staff.c, t.digest_settings.c
        q = (select(s.id, s.timezone, d.frequency)
             .select_from(org.staff.outerjoin(t.digest_settings, d.staff_id == s.id))
             .where(s.role_id.in_(list(role_ids)), s.active.is_(True), s.deleted_at.is_(None),
                    s.telegram_user_id.is_not(None))
             .order_by(s.id))
        return [Recipient(int(r.id), r.timezone, r.frequency) for r in await self._c.execute(q)]

    async def claimed(self, staff_ids: Sequence[int], since: date) -> set[tuple[int, str, date]]:
        c = t.digest_sends.c
        q = select(c.staff_id, c.frequency, c.period_start).where(c.staff_id.in_(sorted(set(staff_ids))),
                                                                  c.period_start >= since)
        return {(int(r.staff_id), str(r.frequency), r.period_start) for r in await self._c.execute(q)}

    async def claim(self, staff_id: int, frequency: str, first: date, at: datetime) -> bool:
        c = t.digest_sends.c
        stmt = (self._insert(t.digest_sends)
                .values(staff_id=staff_id, frequency=frequency, period_start=first, claimed_at=at)
                .on_conflict_do_nothing(index_elements=["staff_id", "frequency", "period_start"])
                .returning(c.id))
        return (await self._c.execute(stmt)).first() is not None

    def _one(self, staff_id: int, frequency: str, first: date) -> Any:
        c = t.digest_sends.c
        return (c.staff_id == staff_id) & (c.frequency == frequency) & (c.period_start == first)

    async def release(self, staff_id: int, frequency: str, first: date) -> None:
        c = t.digest_sends.c
        await self._c.execute(delete(t.digest_sends).where(self._one(staff_id, frequency, first),
                                                           c.sent_at.is_(None)))

    async def mark_sent(self, staff_id: int, frequency: str, first: date, at: datetime) -> None:
        await self._c.execute(update(t.digest_sends).where(self._one(staff_id, frequency, first)).values(sent_at=at))
