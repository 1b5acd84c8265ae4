"""Repositories for the pipeline: stages and opportunities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric, Row, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.organisation.permissions import ScopeFilter
from crm.sales.opportunity_model import Opportunity, Outcome, Stage
from storage.customers import tables as ct
from storage.organisation.repositories import scope_clause
from storage.sales import tables as t

_FIELDS = tuple(f.name for f in fields(Opportunity))
_WRITTEN = tuple(name for name in _FIELDS if name not in ("id", "deleted_at"))


def _stage(row: Row[Any]) -> Stage:
    return Stage(row.id, row.key, row.name, row.sequence, row.probability, Outcome(row.outcome),
                 row.name_zh_hant, row.name_zh_hans)


def _opportunity(row: Row[Any]) -> Opportunity:
    return Opportunity(**{name: getattr(row, name) for name in _FIELDS})


class SqlStageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def all(self) -> Sequence[Stage]:
        s = t.opportunity_stages
        rows = await self._c.execute(select(s).where(s.c.deleted_at.is_(None)).order_by(s.c.sequence, s.c.id))
        return [_stage(row) for row in rows]

    async def add(self, stage: Stage) -> Stage:
        new_id = (await self._c.execute(insert(t.opportunity_stages).values(
            key=stage.key, name=stage.name, name_zh_hant=stage.name_zh_hant, name_zh_hans=stage.name_zh_hans,
            sequence=stage.sequence, probability=stage.probability, outcome=stage.outcome.value,
        ).returning(t.opportunity_stages.c.id))).scalar_one()
        return Stage(int(new_id), stage.key, stage.name, stage.sequence, stage.probability, stage.outcome,
                     stage.name_zh_hant, stage.name_zh_hans)

    async def get(self, stage_id: int, *, include_deleted: bool = False) -> Stage | None:
        s = t.opportunity_stages
        query = select(s).where(s.c.id == stage_id)
        if not include_deleted:
            query = query.where(s.c.deleted_at.is_(None))
        row = (await self._c.execute(query)).first()
        return _stage(row) if row is not None else None

    async def update(self, stage_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.opportunity_stages).where(t.opportunity_stages.c.id == stage_id)
                              .values(**fields))

    async def deleted(self) -> Sequence[Stage]:
        s = t.opportunity_stages
        rows = await self._c.execute(select(s).where(s.c.deleted_at.is_not(None)).order_by(s.c.sequence, s.c.id))
        return [_stage(row) for row in rows]

    async def count_opportunities(self, stage_id: int) -> int:
        o = t.opportunities
        return int((await self._c.execute(select(func.count()).select_from(o).where(
            o.c.stage_id == stage_id, o.c.deleted_at.is_(None)))).scalar_one())


class SqlOpportunityRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, opportunity: Opportunity) -> Opportunity:
        values = {name: getattr(opportunity, name) for name in _WRITTEN}
        o = t.opportunities
        new_id = (await self._c.execute(insert(o).values(**values).returning(o.c.id))).scalar_one()
        return Opportunity(**{**values, "id": int(new_id)})

    async def get(self, opportunity_id: int) -> Opportunity | None:
        o = t.opportunities
        row = (await self._c.execute(select(o).where(o.c.id == opportunity_id, o.c.deleted_at.is_(None)))).first()
        return _opportunity(row) if row is not None else None

    async def update(self, opportunity_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.opportunities).where(t.opportunities.c.id == opportunity_id).values(**fields))

    @staticmethod
    def _where(scope: ScopeFilter, owner_id: int | None, stage_ids: Sequence[int]) -> list[ColumnElement[bool]]:
        o = t.opportunities.c
        where = [o.deleted_at.is_(None), o.stage_id.in_(list(stage_ids)), scope_clause(scope, o.owner_id)]
        if owner_id is not None:
            where.append(o.owner_id == owner_id)
        return where

    async def stage_sums(self, scope: ScopeFilter,
                         stage_ids: Sequence[int]) -> Sequence[tuple[int, str, int, Decimal]]:
        # Integer cents, each amount rounded first: a SUM over SQLite's text decimals would be a float sum.
        o = t.opportunities.c
        cents = func.sum(cast(func.round(cast(o.amount, Numeric(18, 4)) * 100), BigInteger))
        rows = await self._c.execute(select(o.stage_id, o.currency, func.count().label("n"), cents.label("cents"))
                                     .where(*self._where(scope, None, stage_ids))
                                     .group_by(o.stage_id, o.currency))
        return [(int(row.stage_id), row.currency, int(row.n), Decimal(int(row.cents or 0)) / 100) for row in rows]

    async def open_values(self, scope: ScopeFilter, owner_id: int | None,
                          stage_ids: Sequence[int]) -> Sequence[tuple[int, Decimal, str]]:
        # Summed in Python: amounts are exact decimals stored as text on SQLite, where SUM would turn them into
        # floats; a chat pipeline is hundreds of rows, not millions.
        o = t.opportunities.c
        rows = await self._c.execute(select(o.stage_id, o.amount, o.currency)
                                     .where(*self._where(scope, owner_id, stage_ids)))
        return [(int(row.stage_id), row.amount, row.currency) for row in rows]

    async def in_stage(self, scope: ScopeFilter, owner_id: int | None, stage_id: int, *, offset: int,
                       limit: int) -> Sequence[tuple[Opportunity, str]]:
        o, c = t.opportunities, ct.customers
        q = (select(o, c.c.name.label("customer_name")).join(c, c.c.id == o.c.customer_id)
             .where(*self._where(scope, owner_id, [stage_id]))
             .order_by(o.c.close_date.is_(None), o.c.close_date, o.c.id).offset(offset).limit(limit))
        return [(_opportunity(row), row.customer_name) for row in await self._c.execute(q)]

    async def count_owned(self, owner_id: int, stage_ids: Sequence[int]) -> int:
        o = t.opportunities.c
        q = select(func.count()).where(o.owner_id == owner_id, o.deleted_at.is_(None), o.stage_id.in_(list(stage_ids)))
        return int((await self._c.execute(q)).scalar_one())

    async def owners_of_stale(self, stage_ids: Sequence[int], before: datetime) -> Sequence[int]:
        o = t.opportunities.c
        q = (select(o.owner_id).distinct()
             .where(o.deleted_at.is_(None), o.stage_id.in_(list(stage_ids)), o.updated_at < before)
             .order_by(o.owner_id))
        return [int(owner) for owner in (await self._c.execute(q)).scalars()]

    async def stale_of(self, owner_id: int, stage_ids: Sequence[int], before: datetime, *,
                       limit: int) -> tuple[Sequence[tuple[Opportunity, str]], int]:
        o, c = t.opportunities, ct.customers
        where = (o.c.owner_id == owner_id, o.c.deleted_at.is_(None), o.c.stage_id.in_(list(stage_ids)),
                 o.c.updated_at < before)
        q = (select(o, c.c.name.label("customer_name")).join(c, c.c.id == o.c.customer_id).where(*where)
             .order_by(o.c.updated_at, o.c.id).limit(limit))
        rows = [(_opportunity(row), row.customer_name) for row in await self._c.execute(q)]
        total = int((await self._c.execute(select(func.count()).select_from(o).where(*where))).scalar_one())
        return rows, total

    async def owned_on(self, owner_id: int, stage_ids: Sequence[int],
                       customer_ids: Sequence[int] | None) -> Sequence[Opportunity]:
        o = t.opportunities.c
        where = [o.owner_id == owner_id, o.deleted_at.is_(None), o.stage_id.in_(list(stage_ids))]
        if customer_ids is not None:
            where.append(o.customer_id.in_(list(customer_ids)))
        rows = await self._c.execute(select(t.opportunities).where(*where).order_by(o.id))
        return [_opportunity(row) for row in rows]
