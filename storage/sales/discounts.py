"""Repositories for discount approval: the limit per role and the approval requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.organisation.permissions import ScopeFilter
from crm.sales.discount_model import ApprovalStatus, DiscountApproval
from storage.organisation.repositories import scope_clause
from storage.sales import tables as t


class SqlDiscountLimitRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def all(self) -> Mapping[int, Decimal | None]:
        rows = await self._c.execute(select(t.role_discount_limits))
        return {int(r.role_id): r.percent for r in rows}

    async def put(self, role_id: int, percent: Decimal | None, at: datetime) -> None:
        d = t.role_discount_limits
        changed = await self._c.execute(update(d).where(d.c.role_id == role_id).values(percent=percent,
                                                                                         updated_at=at))
        if changed.rowcount == 0:
            await self._c.execute(insert(d).values(role_id=role_id, percent=percent, updated_at=at))


def _approval(row: Row[Any]) -> DiscountApproval:
    return DiscountApproval(id=row.id, kind=row.kind, subject_id=row.subject_id, owner_id=row.owner_id,
                            requested_by=row.requested_by, percent=row.percent, limit=row.limit,
                            status=ApprovalStatus(row.status), created_at=row.created_at, reason=row.reason,
                            decided_by=row.decided_by, decided_at=row.decided_at)


class SqlDiscountApprovalRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, approval: DiscountApproval) -> DiscountApproval:
        a = t.discount_approvals
        new_id = (await self._c.execute(insert(a).values(
            kind=approval.kind, subject_id=approval.subject_id, owner_id=approval.owner_id,
            requested_by=approval.requested_by, percent=approval.percent, limit=approval.limit,
            status=approval.status.value, created_at=approval.created_at,
        ).returning(a.c.id))).scalar_one()
        added = await self.get(int(new_id))
        assert added is not None
        return added

    async def get(self, approval_id: int) -> DiscountApproval | None:
        a = t.discount_approvals
        row = (await self._c.execute(select(a).where(a.c.id == approval_id))).first()
        return _approval(row) if row is not None else None

    async def update(self, approval_id: int, **fields: Any) -> None:
        a = t.discount_approvals
        await self._c.execute(update(a).where(a.c.id == approval_id).values(**fields))

    async def latest(self, kind: str, subject_id: int) -> DiscountApproval | None:
        a = t.discount_approvals
        row = (await self._c.execute(select(a).where(a.c.kind == kind, a.c.subject_id == subject_id)
                                     .order_by(a.c.id.desc()).limit(1))).first()
        return _approval(row) if row is not None else None

    async def pending(self, scope: ScopeFilter, *, limit: int) -> Sequence[DiscountApproval]:
        a = t.discount_approvals
        rows = await self._c.execute(select(a).where(a.c.status == ApprovalStatus.PENDING.value,
                                                     scope_clause(scope, a.c.owner_id))
                                     .order_by(a.c.id).limit(limit))
        return [_approval(r) for r in rows]
