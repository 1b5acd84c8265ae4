"""Repositories for quotations: quotes with their lines, and the numbering counter per year."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.organisation.permissions import ScopeFilter
from crm.sales.quote_model import ExpiredQuote, Quote, QuoteLine, QuoteStatus
from storage.customers import tables as ct
from storage.organisation.repositories import scope_clause
from storage.prepared import Probe
from storage.sales import tables as t

_CUSTOMER_HAS_QUOTES = Probe(t.quotes.c.customer_id)  # the customer card's open quotes (storage/prepared.py)
_LINE_FIELDS = ("product_id", "sku", "name", "quantity", "unit_price", "discount", "tax_rate", "position",
                "name_zh_hant", "name_zh_hans")


def _line(row: Row[Any]) -> QuoteLine:
    return QuoteLine(**{name: getattr(row, name) for name in _LINE_FIELDS})


def _quote(row: Row[Any], lines: Sequence[QuoteLine]) -> Quote:
    return Quote(id=row.id, number=row.number, customer_id=row.customer_id, owner_id=row.owner_id,
                 currency=row.currency, status=QuoteStatus(row.status), order_discount=row.order_discount,
                 valid_until=row.valid_until, created_at=row.created_at, updated_at=row.updated_at,
                 sent_at=row.sent_at, deleted_at=row.deleted_at, lines=tuple(lines))


class SqlQuoteRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def next_number(self, year: int) -> int:
        """Bump the year's counter and return the new value. The UPDATE takes the row's lock (PostgreSQL) or
        runs under the write transaction's lock (SQLite, BEGIN IMMEDIATE), so a concurrent creator waits and
        then reads the bumped value; the first quote of a year inserts the row, a racing insert being ignored."""
        q = t.quote_counters
        first = (pg_insert(q) if self._c.dialect.name == "postgresql" else sqlite_insert(q))
        await self._c.execute(first.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
        bumped = await self._c.execute(update(q).where(q.c.year == year).values(last=q.c.last + 1)
                                       .returning(q.c.last))
        return int(bumped.scalar_one())

    async def add(self, quote: Quote) -> Quote:
        q = t.quotes
        new_id = (await self._c.execute(insert(q).values(
            number=quote.number, customer_id=quote.customer_id, owner_id=quote.owner_id, currency=quote.currency,
            status=quote.status.value, order_discount=quote.order_discount, valid_until=quote.valid_until,
            created_at=quote.created_at, updated_at=quote.updated_at, sent_at=quote.sent_at,
        ).returning(q.c.id))).scalar_one()
        await self.replace_lines(int(new_id), quote.lines)
        result = await self.get(int(new_id))
        assert result is not None
        return result

    async def replace_lines(self, quote_id: int, lines: Sequence[QuoteLine]) -> None:
        await self._c.execute(delete(t.quote_lines).where(t.quote_lines.c.quote_id == quote_id))
        if lines:
            await self._c.execute(insert(t.quote_lines), [
                {**{name: getattr(line, name) for name in _LINE_FIELDS}, "quote_id": quote_id, "position": i}
                for i, line in enumerate(lines)])

    async def get(self, quote_id: int) -> Quote | None:
        q, ql = t.quotes, t.quote_lines
        row = (await self._c.execute(select(q).where(q.c.id == quote_id, q.c.deleted_at.is_(None)))).first()
        if row is None:
            return None
        lines = await self._c.execute(select(ql).where(ql.c.quote_id == quote_id).order_by(ql.c.position))
        return _quote(row, [_line(line) for line in lines])

    async def update(self, quote_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.quotes).where(t.quotes.c.id == quote_id).values(**fields))

    async def listed(self, scope: ScopeFilter, owner_id: int | None, *, offset: int,
                     limit: int) -> Sequence[tuple[int, str, str, str]]:
        """(id, number, status, customer name) of live quotes in scope, newest first."""
        q, c = t.quotes, ct.customers
        where = [q.c.deleted_at.is_(None), scope_clause(scope, q.c.owner_id)]
        if owner_id is not None:
            where.append(q.c.owner_id == owner_id)
        rows = await self._c.execute(
            select(q.c.id, q.c.number, q.c.status, c.c.name).join(c, c.c.id == q.c.customer_id).where(*where)
            .order_by(q.c.id.desc()).offset(offset).limit(limit))
        return [(int(r.id), r.number, r.status, r.name) for r in rows]

    async def open_for(self, scope: ScopeFilter, customer_id: int, *, limit: int
                       ) -> Sequence[tuple[int, str, str, str]]:
        if not await _CUSTOMER_HAS_QUOTES.any(self._c, customer_id):
            return []
        q = t.quotes
        rows = await self._c.execute(
            select(q.c.id, q.c.number, q.c.status, q.c.valid_until)
            .where(q.c.customer_id == customer_id, q.c.deleted_at.is_(None),
                   q.c.status.in_((QuoteStatus.DRAFT.value, QuoteStatus.SENT.value)),
                   scope_clause(scope, q.c.owner_id))
            .order_by(q.c.id.desc()).limit(limit))
        return [(int(r.id), r.number, r.status, r.valid_until.isoformat()) for r in rows]

    async def of_customer(self, scope: ScopeFilter, customer_id: int, *, limit: int) -> Sequence[Quote]:
        if not await _CUSTOMER_HAS_QUOTES.any(self._c, customer_id):
            return []
        q, ql = t.quotes, t.quote_lines
        rows = (await self._c.execute(
            select(q).where(q.c.customer_id == customer_id, q.c.deleted_at.is_(None),
                            scope_clause(scope, q.c.owner_id))
            .order_by(q.c.id.desc()).limit(limit))).all()
        if not rows:
            return []
        lines: dict[int, list[QuoteLine]] = {}
        for line in await self._c.execute(select(ql).where(ql.c.quote_id.in_([r.id for r in rows]))
                                          .order_by(ql.c.quote_id, ql.c.position)):
            lines.setdefault(int(line.quote_id), []).append(_line(line))
        return [_quote(row, lines.get(int(row.id), [])) for row in rows]

    async def sent_before(self, day: date) -> Sequence[tuple[int, int, date]]:
        q = t.quotes.c
        rows = await self._c.execute(select(q.id, q.owner_id, q.valid_until).where(
            q.status == QuoteStatus.SENT.value, q.deleted_at.is_(None), q.valid_until < day).order_by(q.id))
        return [(int(r.id), int(r.owner_id), r.valid_until) for r in rows]

    async def expire(self, quote_id: int, at: datetime) -> bool:
        q = t.quotes
        done = await self._c.execute(update(q).where(q.c.id == quote_id, q.c.status == QuoteStatus.SENT.value)
                                     .values(status=QuoteStatus.EXPIRED.value, updated_at=at).returning(q.c.id))
        return done.first() is not None

    async def expired_since(self, since: datetime) -> Sequence[ExpiredQuote]:
        q, c = t.quotes, ct.customers
        rows = await self._c.execute(
            select(q.c.id, q.c.number, q.c.owner_id, c.c.name, q.c.valid_until).join(c, c.c.id == q.c.customer_id)
            .where(q.c.status == QuoteStatus.EXPIRED.value, q.c.deleted_at.is_(None), q.c.updated_at >= since)
            .order_by(q.c.id))
        return [ExpiredQuote(int(r.id), r.number, int(r.owner_id), r.name, r.valid_until) for r in rows]
