"""The competitors module's repositories (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.competitors.model import Competitor, CompetitorProduct, Intel, IntelKind, LossAnswer, PriceSide
from crm.core.money import Money
from crm.organisation.permissions import ScopeFilter
from crm.sales.opportunity_model import Outcome
from storage.competitors import tables as t
from storage.organisation.repositories import scope_clause
from storage.sales import tables as sales

_COMPETITOR = tuple(f.name for f in fields(Competitor))
_PRODUCT = tuple(f.name for f in fields(CompetitorProduct))
_INTEL = tuple(f.name for f in fields(Intel))


def _competitor(row: Row[Any]) -> Competitor:
    return Competitor(**{name: getattr(row, name) for name in _COMPETITOR})


def _intel(row: Row[Any]) -> Intel:
    values = {name: getattr(row, name) for name in _INTEL}
    return Intel(**{**values, "kind": IntelKind(row.kind)})


class SqlCompetitorRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, competitor: Competitor, key: str) -> Competitor:
        values = {name: getattr(competitor, name) for name in _COMPETITOR if name != "id"}
        c = t.competitors
        new_id = (await self._c.execute(insert(c).values(**values, name_key=key).returning(c.c.id))).scalar_one()
        return Competitor(**{**values, "id": int(new_id)})

    async def get(self, competitor_id: int, *, include_deleted: bool = False) -> Competitor | None:
        c = t.competitors
        q = select(c).where(c.c.id == competitor_id)
        if not include_deleted:
            q = q.where(c.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _competitor(row) if row is not None else None

    async def by_key(self, key: str) -> Competitor | None:
        c = t.competitors
        row = (await self._c.execute(select(c).where(c.c.name_key == key, c.c.deleted_at.is_(None)))).first()
        return _competitor(row) if row is not None else None

    async def update(self, competitor_id: int, **values: Any) -> None:
        c = t.competitors
        await self._c.execute(update(c).where(c.c.id == competitor_id).values(**values))

    async def listed(self, *, deleted: bool = False, limit: int, offset: int = 0) -> Sequence[Competitor]:
        c = t.competitors
        alive = c.c.deleted_at.is_not(None) if deleted else c.c.deleted_at.is_(None)
        rows = await self._c.execute(select(c).where(alive).order_by(c.c.name_key, c.c.id).limit(limit)
                                     .offset(offset))
        return [_competitor(row) for row in rows]

    async def names(self) -> Sequence[tuple[int, str]]:
        c = t.competitors
        rows = await self._c.execute(select(c.c.id, c.c.name).where(c.c.deleted_at.is_(None)).order_by(c.c.id))
        return [(int(row.id), str(row.name)) for row in rows]


class SqlCompetitorProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, product: CompetitorProduct) -> CompetitorProduct:
        values = {name: getattr(product, name) for name in _PRODUCT if name != "id"}
        p = t.competitor_products
        new_id = (await self._c.execute(insert(p).values(**values).returning(p.c.id))).scalar_one()
        return CompetitorProduct(**{**values, "id": int(new_id)})

    async def of(self, competitor_id: int) -> Sequence[CompetitorProduct]:
        p = t.competitor_products
        rows = await self._c.execute(select(p).where(p.c.competitor_id == competitor_id, p.c.deleted_at.is_(None))
                                     .order_by(p.c.seen_on.desc(), p.c.id.desc()).limit(50))
        return [CompetitorProduct(**{name: getattr(row, name) for name in _PRODUCT}) for row in rows]

    async def ours(self, category_ids: Sequence[int], *, per_category: int) -> dict[int, Sequence[PriceSide]]:
        p = sales.products
        rows = await self._c.execute(
            select(p.c.category_id, p.c.name, p.c.list_price, p.c.currency)
            .where(p.c.category_id.in_(sorted(category_ids)), p.c.deleted_at.is_(None), p.c.active.is_(True))
            .order_by(p.c.category_id, p.c.list_price, p.c.id))
        found: dict[int, list[PriceSide]] = {}
        for row in rows:
            kept = found.setdefault(int(row.category_id), [])
            if len(kept) < per_category:
                kept.append(PriceSide(str(row.name), Money(row.list_price, str(row.currency))))
        return dict(found)

    async def category_names(self, category_ids: Sequence[int]) -> dict[int, str]:
        c = sales.product_categories
        rows = await self._c.execute(select(c.c.id, c.c.name).where(c.c.id.in_(sorted(category_ids))))
        return {int(row.id): str(row.name) for row in rows}


class SqlIntelRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, intel: Intel) -> Intel:
        values = {name: getattr(intel, name) for name in _INTEL if name != "id"}
        i = t.competitor_intel
        new_id = (await self._c.execute(insert(i).values(**{**values, "kind": intel.kind.value})
                                        .returning(i.c.id))).scalar_one()
        return Intel(**{**values, "id": int(new_id)})

    async def get(self, intel_id: int, *, include_deleted: bool = False) -> Intel | None:
        i = t.competitor_intel
        q = select(i).where(i.c.id == intel_id)
        row = (await self._c.execute(q if include_deleted else q.where(i.c.deleted_at.is_(None)))).first()
        return _intel(row) if row is not None else None

    async def update(self, intel_id: int, **values: Any) -> None:
        i = t.competitor_intel
        await self._c.execute(update(i).where(i.c.id == intel_id).values(**values))

    async def listed(self, scope: ScopeFilter, competitor_id: int, *, limit: int, offset: int) -> Sequence[Intel]:
        i = t.competitor_intel
        rows = await self._c.execute(
            select(i).where(i.c.competitor_id == competitor_id, i.c.deleted_at.is_(None),
                            scope_clause(scope, i.c.staff_id))
            .order_by(i.c.created_at.desc(), i.c.id.desc()).limit(limit).offset(offset))
        return [_intel(row) for row in rows]


class SqlOpportunityLinkRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def linked(self, opportunity_id: int) -> Sequence[int]:
        oc = t.opportunity_competitors
        rows = await self._c.execute(select(oc.c.competitor_id).where(oc.c.opportunity_id == opportunity_id)
                                     .order_by(oc.c.added_at, oc.c.competitor_id))
        return [int(row.competitor_id) for row in rows]

    async def link(self, opportunity_id: int, competitor_id: int, at: datetime) -> None:
        await self._c.execute(insert(t.opportunity_competitors).values(
            opportunity_id=opportunity_id, competitor_id=competitor_id, added_at=at))

    async def unlink(self, opportunity_id: int, competitor_id: int) -> None:
        oc = t.opportunity_competitors
        await self._c.execute(delete(oc).where(oc.c.opportunity_id == opportunity_id,
                                               oc.c.competitor_id == competitor_id))

    async def win_loss(self, scope: ScopeFilter, competitor_id: int, since: datetime, before: datetime
                       ) -> tuple[int, int, int]:
        oc, o, s, lo = t.opportunity_competitors, sales.opportunities, sales.opportunity_stages, t.opportunity_losses
        won = func.coalesce(func.sum(case((s.c.outcome == Outcome.WON.value, 1), else_=0)), 0)
        lost = func.coalesce(func.sum(case((s.c.outcome == Outcome.LOST.value, 1), else_=0)), 0)
        theirs = func.coalesce(func.sum(case(((s.c.outcome == Outcome.LOST.value)
                                              & (lo.c.winner_id == competitor_id), 1), else_=0)), 0)
        row = (await self._c.execute(
            select(won.label("won"), lost.label("lost"), theirs.label("theirs"))
            .select_from(oc.join(o, o.c.id == oc.c.opportunity_id).join(s, s.c.id == o.c.stage_id)
                         .outerjoin(lo, lo.c.opportunity_id == o.c.id))
            .where(oc.c.competitor_id == competitor_id, o.c.deleted_at.is_(None), o.c.closed_at >= since,
                   o.c.closed_at < before, scope_clause(scope, o.c.owner_id)))).one()
        return int(row.won), int(row.lost), int(row.theirs)


class SqlLossRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def open(self, opportunity_id: int, owner_id: int, at: datetime) -> None:
        lo = t.opportunity_losses
        fresh = {"owner_id": owner_id, "lost_at": at, "asked_at": None, "answer": None, "winner_id": None,
                 "why": None, "answered_at": None}
        changed = await self._c.execute(update(lo).where(lo.c.opportunity_id == opportunity_id).values(**fresh))
        if not changed.rowcount:
            await self._c.execute(insert(lo).values(opportunity_id=opportunity_id, **fresh))

    async def get(self, opportunity_id: int) -> tuple[int, datetime | None, LossAnswer | None, int | None,
                                                       str | None] | None:
        lo = t.opportunity_losses
        row = (await self._c.execute(select(lo).where(lo.c.opportunity_id == opportunity_id))).first()
        if row is None:
            return None
        return (int(row.owner_id), row.asked_at, LossAnswer(row.answer) if row.answer else None,
                int(row.winner_id) if row.winner_id is not None else None, row.why)

    async def unasked(self, *, limit: int) -> Sequence[int]:
        lo = t.opportunity_losses
        rows = await self._c.execute(select(lo.c.opportunity_id).where(lo.c.asked_at.is_(None),
                                                                        lo.c.answer.is_(None))
                                     .order_by(lo.c.lost_at, lo.c.opportunity_id).limit(limit))
        return [int(row.opportunity_id) for row in rows]

    async def update(self, opportunity_id: int, **values: Any) -> None:
        lo = t.opportunity_losses
        await self._c.execute(update(lo).where(lo.c.opportunity_id == opportunity_id).values(**values))
