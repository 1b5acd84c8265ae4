"""The contracts repository: contracts in the ``sales`` scope, their yearly numbering, reminder lookups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date
from typing import Any

from sqlalchemy import Row, case, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.contracts.model import Contract, Status
from crm.organisation.permissions import ScopeFilter
from storage.contracts import tables as t
from storage.organisation.repositories import scope_clause
from storage.prepared import Probe

_FIELDS = tuple(f.name for f in fields(Contract))
_WRITTEN = tuple(name for name in _FIELDS if name != "id")
_CUSTOMER_HAS_CONTRACTS = Probe(t.contracts.c.customer_id)  # the customer card's contracts (storage/prepared.py)


def _contract(row: Row[Any]) -> Contract:
    values = {name: getattr(row, name) for name in _FIELDS}
    return Contract(**{**values, "status": Status(row.status)})


class SqlContractRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def next_number(self, year: int) -> int:
        """The UPDATE takes the row's lock (PostgreSQL) or runs under the write transaction's lock (SQLite, BEGIN
        IMMEDIATE), so a concurrent creator waits and then reads the bumped value; the year's first contract
        inserts the row, a racing insert being ignored."""
        q = t.contract_counters
        first = (pg_insert(q) if self._c.dialect.name == "postgresql" else sqlite_insert(q))
        await self._c.execute(first.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
        bumped = await self._c.execute(update(q).where(q.c.year == year).values(last=q.c.last + 1)
                                       .returning(q.c.last))
        return int(bumped.scalar_one())

    async def add(self, contract: Contract) -> Contract:
        values = {name: getattr(contract, name) for name in _WRITTEN}
        c = t.contracts
        new_id = (await self._c.execute(insert(c).values(**{**values, "status": contract.status.value})
                                        .returning(c.c.id))).scalar_one()
        return Contract(**{**values, "id": int(new_id)})

    async def get(self, contract_id: int, *, include_deleted: bool = False) -> Contract | None:
        c = t.contracts
        query = select(c).where(c.c.id == contract_id)
        if not include_deleted:
            query = query.where(c.c.deleted_at.is_(None))
        row = (await self._c.execute(query)).first()
        return _contract(row) if row is not None else None

    async def update(self, contract_id: int, **fields: Any) -> None:
        if isinstance(fields.get("status"), Status):
            fields["status"] = fields["status"].value
        await self._c.execute(update(t.contracts).where(t.contracts.c.id == contract_id).values(**fields))

    async def listed(self, scope: ScopeFilter, *, customer_id: int | None = None, deleted: bool = False,
                     offset: int = 0, limit: int) -> Sequence[Contract]:
        c = t.contracts.c
        where = [c.deleted_at.is_not(None) if deleted else c.deleted_at.is_(None), scope_clause(scope, c.owner_id)]
        if customer_id is not None:
            if not await _CUSTOMER_HAS_CONTRACTS.any(self._c, customer_id):
                return []
            where.append(c.customer_id == customer_id)
        if deleted:
            order: tuple[Any, ...] = (c.deleted_at.desc(), c.id.desc())
        else:
            active = case((c.status == Status.ACTIVE.value, 0), else_=1)
            # Active ones ending soonest first; the others latest first (a date's day number turned negative).
            order = (active, case((c.status == Status.ACTIVE.value, c.ends_on), else_=None),
                     c.ends_on.desc(), c.id.desc())
        rows = await self._c.execute(select(t.contracts).where(*where).order_by(*order).offset(offset).limit(limit))
        return [_contract(row) for row in rows]

    async def by_reminders(self, followup_ids: Sequence[int]) -> Sequence[Contract]:
        if not followup_ids:
            return []
        c = t.contracts.c
        rows = await self._c.execute(select(t.contracts).where(
            c.reminder_id.in_(list(followup_ids)), c.deleted_at.is_(None), c.status == Status.ACTIVE.value))
        return [_contract(row) for row in rows]

    async def active_owned(self, staff_id: int, customer_ids: Sequence[int] | None, since: date | None
                           ) -> Sequence[Contract]:
        c = t.contracts.c
        where = [c.owner_id == staff_id, c.deleted_at.is_(None), c.status == Status.ACTIVE.value]
        if customer_ids is not None:
            where.append(c.customer_id.in_(list(customer_ids)))
        if since is not None:
            where.append(c.ends_on >= since)
        rows = await self._c.execute(select(t.contracts).where(*where).order_by(c.id))
        return [_contract(row) for row in rows]
