"""Saved segments and the customer queries behind them; bulk owner changes (handover); small settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.customers.model import Customer, EntityKind, FollowUpStatus, LeadStatus
from crm.customers.search_terms import record_terms
from crm.organisation.permissions import ScopeFilter
from crm.segments.model import CustomCondition, MovedItems, OwnedCounts, Segment, SegmentFilter, SegmentQuery
from storage import tables as t
from storage.customers.repositories import _customer
from storage.organisation.repositories import scope_clause
from storage.types import UTCDateTime

OPEN_LEADS = (LeadStatus.NEW.value, LeadStatus.QUALIFIED.value)
_CHUNK = 500  # bound parameters per statement stay far below SQLite's and asyncpg's limits
# A segment count for a partial scope lists a condition's records instead of probing each customer's value when
# they are fewer than this many times the customers (a probe costs about four list entries, SQLite).
LIST_PER_PROBE = 4
LIST_UP_TO = 20_000


def _segment(row: Row[Any]) -> Segment:
    return Segment(id=row.id, name=row.name, owner_id=row.owner_id, filter=SegmentFilter.from_json(row.filters),
                   created_at=row.created_at, deleted_at=row.deleted_at)


def _same_text(column: Any, values: frozenset[str]) -> ColumnElement[bool]:
    """Case-insensitive equality. SQLite's lower() folds ASCII only, so the typed spelling is offered too:
    "Taipei" finds "taipei" everywhere, "Évry" finds "Évry" on SQLite and "évry" on PostgreSQL."""
    return func.lower(column).in_(sorted({v.lower() for v in values} | set(values)))


def last_contact(c: Any) -> ColumnElement[Any]:
    """When the customer was last talked to; never contacted counts from when it was created."""
    return func.coalesce(c.last_contact_at, c.created_at)


def segment_clauses(segment_filter: SegmentFilter, now: datetime, *, probe: bool = True) -> list[ColumnElement[bool]]:
    c = t.customers.c
    where: list[ColumnElement[bool]] = []
    if segment_filter.classifications:
        where.append(c.classification.in_(sorted(v.value for v in segment_filter.classifications)))
    if segment_filter.tiers:
        where.append(c.tier.in_(sorted(v.value for v in segment_filter.tiers)))
    if segment_filter.regions:
        where.append(_same_text(c.region, segment_filter.regions))
    if segment_filter.industries:
        where.append(_same_text(c.industry, segment_filter.industries))
    if segment_filter.tags:
        # Tags are indexed as "#tag" search terms (same folding as the search box): portable and indexed,
        # where a JSON-array test would need json_each on SQLite and jsonb operators on PostgreSQL.
        terms = sorted(record_terms(tags=tuple(segment_filter.tags)))
        st = t.search_terms.c
        where.append(c.id.in_(select(st.entity_id).where(st.entity == EntityKind.CUSTOMER.value,
                                                         st.term.in_(terms))))
    if segment_filter.no_contact_days:
        cutoff = now - timedelta(days=segment_filter.no_contact_days)
        where.append(last_contact(c) < literal(cutoff, UTCDateTime()))
    if segment_filter.owner_ids:
        where.append(c.owner_id.in_(sorted(segment_filter.owner_ids)))
    where.extend(_custom_clause(condition, c.id, probe=probe) for condition in segment_filter.custom)
    return where


def _compared(condition: tuple[int, str, str, str], v: Any) -> tuple[Any, Any]:
    _, _, column, text = condition
    if column == "number":
        return v.value_sort, float(Decimal(text))
    if column == "date":
        return v.value_date, date.fromisoformat(text)
    return v.value_key, text


def _custom_test(condition: tuple[int, str, str, str], v: Any) -> tuple[str, ColumnElement[bool]]:
    """The typed column's kind and its test, for a condition other than "!=" (read from the value index)."""
    compared, wanted = _compared(condition, v)
    test: ColumnElement[bool] = {"=": compared == wanted, ">": compared > wanted, "<": compared < wanted,
                                 ">=": compared >= wanted, "<=": compared <= wanted}[condition[1]]
    return condition[2], test


def _customer_field(field_id: int) -> Any:
    """The field's id while it is a live customer field, else NULL (its condition then matches nothing). Testing
    the field rather than each value's ``entity`` keeps a value range readable from its index alone."""
    f = t.custom_fields.c
    return select(f.id).where(f.id == field_id, f.deleted_at.is_(None),
                              f.entity == EntityKind.CUSTOMER.value).scalar_subquery()


def _custom_clause(condition: tuple[int, str, str, str], customer_id: Any, *, probe: bool,
                   field_of: Any = None) -> ColumnElement[bool]:
    """A condition on a custom field (docs/fields.md). ``probe`` (a viewer who sees part of the customers): each
    customer the other clauses choose (the scope first) is probed through the (record, field) unique index of
    ``custom_values``; otherwise the matching records are read from the (field, value, record) index.
    ``field_of`` (given a field id, the id while it may be matched) replaces the values' ``entity`` test."""
    field_id, op, _, _ = condition
    v, f = t.custom_values.c, t.custom_fields.c
    compared, wanted = _compared(condition, v)
    live = select(f.id).where(f.id == field_id, f.deleted_at.is_(None)).scalar_subquery()
    if probe:
        compared = func.coalesce(compared, compared)  # probe by record, never walk a value index per customer
    mine = [v.entity_id == customer_id, func.coalesce(v.field_id, v.field_id) == live]
    of_field = [v.field_id == field_of(field_id)] if field_of is not None else \
        [v.field_id == live, v.entity == EntityKind.CUSTOMER.value]
    clause: ColumnElement[bool]
    if op == "!=":
        if probe:
            clause = and_(exists(select(v.id).where(*mine)), ~exists(select(v.id).where(*mine, compared == wanted)))
        else:
            clause = and_(customer_id.in_(select(v.entity_id).where(*of_field)),
                          customer_id.not_in(select(v.entity_id).where(*of_field, compared == wanted)))
        return clause
    test = {"=": compared == wanted, ">": compared > wanted, "<": compared < wanted, ">=": compared >= wanted,
            "<=": compared <= wanted}[op]
    if probe:
        clause = exists(select(v.id).where(*mine, test))
    else:
        clause = customer_id.in_(select(v.entity_id).where(*of_field, test))
    return clause


def query_clauses(query: SegmentQuery, owner_id: int | None = None) -> list[ColumnElement[bool]]:
    """The segment's customers that the viewer may see (live ones), optionally of one owner only."""
    c = t.customers.c
    where = [c.deleted_at.is_(None), scope_clause(query.scope, c.owner_id),
             *segment_clauses(query.filter, query.now, probe=not query.scope.everything)]
    if owner_id is not None:
        where.append(c.owner_id == owner_id)
    return where


class SqlSegmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, name: str, owner_id: int, filters: Mapping[str, Any], created_at: datetime) -> Segment:
        new_id = (await self._c.execute(insert(t.segments).values(
            name=name, owner_id=owner_id, filters=dict(filters), created_at=created_at,
        ).returning(t.segments.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, segment_id: int, *, include_deleted: bool = False) -> Segment | None:
        q = select(t.segments).where(t.segments.c.id == segment_id)
        if not include_deleted:
            q = q.where(t.segments.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _segment(row) if row else None

    async def update(self, segment_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.segments).where(t.segments.c.id == segment_id).values(**fields))

    async def list_visible(self, owner_id: int, others: ScopeFilter | None, *, deleted: bool = False,
                           limit: int = 100) -> Sequence[Segment]:
        s = t.segments.c
        whose: ColumnElement[bool] = s.owner_id == owner_id
        if others is not None:
            whose = whose | scope_clause(others, s.owner_id)
        q = (select(t.segments)
             .where(whose, s.deleted_at.is_not(None) if deleted else s.deleted_at.is_(None))
             .order_by((s.owner_id != owner_id), s.name, s.id).limit(limit))
        return [_segment(r) for r in await self._c.execute(q)]

    async def name_taken(self, owner_id: int, name: str) -> bool:
        s = t.segments.c
        q = select(s.id).where(s.owner_id == owner_id, s.deleted_at.is_(None),
                               func.lower(s.name) == name.lower()).limit(1)
        return (await self._c.execute(q)).first() is not None

    async def count_customers(self, query: SegmentQuery, *, owner_id: int | None = None) -> int:
        if owner_id is None:
            counted = await self._count_from_values(query)
            if counted is not None:
                return counted
        q = select(func.count()).select_from(t.customers).where(*query_clauses(query, owner_id))
        return int((await self._c.execute(q)).scalar_one())

    async def _count_from_values(self, query: SegmentQuery) -> int | None:
        """A segment of custom conditions only, counted without reading each match's customer row to see whether
        it is live (120–140 ms for 50,000 matches on SQLite, docs/fields.md): the matches in the viewer's scope,
        deleted or not, less the deleted customers among them (read from a partial index of the deleted; few).
        For a viewer who sees everything the matches come from the values' (field, value, record) indexes alone:
        one condition's range, kept if the record is in the others' ranges; for a partial scope, the scope's
        customers from the owner index alone, each one's values probed. None when the count has to read the
        customers anyway (another clause) or a condition is "!=" (a NOT IN over every other value)."""
        segment_filter = query.filter
        conditions = list(segment_filter.custom)
        if self._c.dialect.name != "sqlite":
            # PostgreSQL plans by its statistics; before a fresh table's first ANALYZE it answered the scope's
            # count without the deleted-at test with a sequential scan of every value per customer (seconds).
            return None
        if not conditions or not replace(segment_filter, custom=()).is_empty \
                or any(cond[1] == "!=" for cond in conditions):
            return None
        c = t.customers.c
        probes = segment_clauses(segment_filter, query.now, probe=True)
        if query.scope.everything:
            # A number or a date has one row per record; text may be a multi-choice value, one row per choice.
            driver = min(conditions, key=lambda cond: cond[2] == "text")
            driven = t.custom_values.alias("driven")  # its own name: the others' subqueries read custom_values
            v = driven.c
            column, test = _custom_test(driver, v)
            others = [_custom_clause(cond, v.entity_id, probe=False, field_of=_customer_field)
                      for cond in conditions if cond is not driver]
            counted = func.count(func.distinct(v.entity_id)) if column == "text" else func.count()
            matching = select(counted).select_from(driven).where(
                v.field_id == _customer_field(driver[0]), test, *others)
        else:
            matching = select(func.count()).select_from(t.customers).where(
                scope_clause(query.scope, c.owner_id), *await self._listed_or_probed(query.scope, conditions))
        total = int((await self._c.execute(matching)).scalar_one())
        # The owner wrapped (and no scope test for everything): the deleted are read from their partial index,
        # never from an index of every customer (SQLite, without statistics, took one).
        mine = [] if query.scope.everything else [scope_clause(query.scope, func.coalesce(c.owner_id, c.owner_id))]
        deleted = select(func.count()).select_from(t.customers).where(c.deleted_at.is_not(None), *mine, *probes)
        return total - int((await self._c.execute(deleted)).scalar_one())

    async def _listed_or_probed(self, scope: ScopeFilter, conditions: list[CustomCondition]
                                ) -> list[ColumnElement[bool]]:
        """The conditions tested on each customer of a partial scope. Each is probed per customer (about 2 µs
        each on SQLite), unless the narrowest condition's records are fewer than LIST_PER_PROBE times the scope's
        customers: then its records are listed once from the value index (about 0.5 µs each) and each customer
        looked up in that list. Both sizes are index-only counts, capped."""
        v, c = t.custom_values.c, t.customers.c
        sizes = []
        for cond in conditions:
            _, test = _custom_test(cond, v)
            ranged = select(v.id).where(v.field_id == _customer_field(cond[0]), test).limit(LIST_UP_TO)
            sizes.append(int((await self._c.execute(select(func.count()).select_from(ranged.subquery())))
                             .scalar_one()))
        narrowest = min(range(len(conditions)), key=sizes.__getitem__)
        mine = select(c.id).where(scope_clause(scope, c.owner_id)).limit(LIST_UP_TO // max(LIST_PER_PROBE, 1))
        scoped = int((await self._c.execute(select(func.count()).select_from(mine.subquery()))).scalar_one())
        listed = sizes[narrowest] < scoped * LIST_PER_PROBE
        clauses: list[ColumnElement[bool]] = []
        for i, cond in enumerate(conditions):
            if listed and i == narrowest:
                _, test = _custom_test(cond, v)
                # "+ 0": the list is looked up per customer of the scope, never walked to find customers by id.
                clauses.append((c.id + 0).in_(select(v.entity_id).where(v.field_id == _customer_field(cond[0]),
                                                                        test)))
            else:
                clauses.append(_custom_clause(cond, c.id, probe=True))
        return clauses

    async def customers(self, query: SegmentQuery, *, offset: int = 0, limit: int = 20) -> Sequence[Customer]:
        c = t.customers.c
        q = (select(t.customers).where(*query_clauses(query)).order_by(c.name, c.id).offset(offset).limit(limit))
        return [_customer(r) for r in await self._c.execute(q)]

    async def customer_ids(self, query: SegmentQuery) -> Sequence[int]:
        c = t.customers.c
        q = select(c.id).where(*query_clauses(query)).order_by(c.id)
        return [int(i) for i in (await self._c.execute(q)).scalars()]

    async def no_contact(self, owner_id: int, cutoffs: Mapping[str, datetime], *, limit: int
                         ) -> tuple[Sequence[Customer], int]:
        c = t.customers.c
        if not cutoffs:
            return [], 0
        stale = or_(*(and_(c.classification == classification, last_contact(c) < literal(cutoff, UTCDateTime()))
                      for classification, cutoff in sorted(cutoffs.items())))
        where = [c.owner_id == owner_id, c.deleted_at.is_(None), stale]
        total = int((await self._c.execute(select(func.count()).select_from(t.customers).where(*where)))
                    .scalar_one())
        if total == 0:
            return [], 0
        q = select(t.customers).where(*where).order_by(last_contact(c), c.id).limit(limit)
        return [_customer(r) for r in await self._c.execute(q)], total


class SqlOwnershipRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _segment_customer_ids(owner_id: int, segment: SegmentQuery) -> Any:
        return select(t.customers.c.id).where(*query_clauses(segment, owner_id))

    @staticmethod
    def _open_followups(owner_id: int) -> list[ColumnElement[bool]]:
        f = t.followups.c
        return [f.owner_id == owner_id, f.status == FollowUpStatus.OPEN.value, f.deleted_at.is_(None)]

    async def _count(self, table: Any, *where: ColumnElement[bool]) -> int:
        return int((await self._c.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

    async def owned(self, owner_id: int, segment: SegmentQuery | None) -> OwnedCounts:
        c, le, f = t.customers.c, t.leads.c, t.followups.c
        if segment is not None:
            ids = self._segment_customer_ids(owner_id, segment)
            return OwnedCounts(
                customers=await self._count(t.customers, *query_clauses(segment, owner_id)),
                followups=await self._count(t.followups, *self._open_followups(owner_id), f.customer_id.in_(ids)),
            )
        return OwnedCounts(
            customers=await self._count(t.customers, c.owner_id == owner_id, c.deleted_at.is_(None)),
            leads=await self._count(t.leads, le.owner_id == owner_id, le.status.in_(OPEN_LEADS),
                                    le.deleted_at.is_(None)),
            followups=await self._count(t.followups, *self._open_followups(owner_id)),
            trashed=await self._count(t.customers, c.owner_id == owner_id, c.deleted_at.is_not(None)),
        )

    async def owned_by(self, owner_ids: Sequence[int]) -> Mapping[int, OwnedCounts]:
        if not owner_ids:
            return {}
        ids = sorted(set(owner_ids))
        c, le, f = t.customers.c, t.leads.c, t.followups.c

        async def grouped(owner: Any, table: Any, *where: ColumnElement[bool]) -> dict[int, int]:
            q = select(owner, func.count()).select_from(table).where(owner.in_(ids), *where).group_by(owner)
            return {int(k): int(n) for k, n in await self._c.execute(q)}

        customers = await grouped(c.owner_id, t.customers, c.deleted_at.is_(None))
        trashed = await grouped(c.owner_id, t.customers, c.deleted_at.is_not(None))
        leads = await grouped(le.owner_id, t.leads, le.status.in_(OPEN_LEADS), le.deleted_at.is_(None))
        followups = await grouped(f.owner_id, t.followups, f.status == FollowUpStatus.OPEN.value,
                                  f.deleted_at.is_(None))
        return {i: OwnedCounts(customers.get(i, 0), leads.get(i, 0), followups.get(i, 0), trashed.get(i, 0))
                for i in ids}

    async def _move(self, table: Any, values: Mapping[str, Any], *where: ColumnElement[bool]) -> tuple[int, ...]:
        rows = await self._c.execute(update(table).where(*where).values(**values).returning(table.c.id))
        return tuple(sorted(int(r[0]) for r in rows))

    async def reassign(self, from_id: int, to_id: int, segment: SegmentQuery | None, at: datetime) -> MovedItems:
        c, le, f = t.customers.c, t.leads.c, t.followups.c
        if segment is not None:
            # Follow-ups first: the subquery finds the customers by their current (old) owner.
            followups = await self._move(t.followups, {"owner_id": to_id}, *self._open_followups(from_id),
                                         f.customer_id.in_(self._segment_customer_ids(from_id, segment)))
            customers = await self._move(t.customers, {"owner_id": to_id, "updated_at": at},
                                         *query_clauses(segment, from_id))
            return MovedItems(customer_ids=customers, followup_ids=followups)
        followups = await self._move(t.followups, {"owner_id": to_id}, *self._open_followups(from_id))
        leads = await self._move(t.leads, {"owner_id": to_id, "updated_at": at}, le.owner_id == from_id,
                                 le.status.in_(OPEN_LEADS), le.deleted_at.is_(None))
        customers = await self._move(t.customers, {"owner_id": to_id, "updated_at": at}, c.owner_id == from_id,
                                     c.deleted_at.is_(None))
        trashed = await self._move(t.customers, {"owner_id": to_id}, c.owner_id == from_id,
                                   c.deleted_at.is_not(None))
        return MovedItems(customers, leads, followups, trashed)

    async def record_moves(self, actor_id: int, moved: MovedItems, from_id: int, to_id: int,
                           at: datetime) -> None:
        rows = [
            {"at": at, "actor_id": actor_id, "action": "handover", "entity": entity, "entity_id": record_id,
             "before": {"owner_id": from_id}, "after": {"owner_id": to_id}}
            for entity, ids in (("customer", moved.customer_ids + moved.trashed_customer_ids),
                                ("lead", moved.lead_ids), ("followup", moved.followup_ids))
            for record_id in ids
        ]
        for start in range(0, len(rows), _CHUNK):
            await self._c.execute(insert(t.audit_log), rows[start:start + _CHUNK])


class SqlSettingsStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    def _insert(self) -> Any:
        return (postgresql.insert(t.app_kv) if self._c.dialect.name == "postgresql" else sqlite.insert(t.app_kv))

    async def get(self, key: str) -> str | None:
        value = (await self._c.execute(select(t.app_kv.c.value).where(t.app_kv.c.key == key))).scalar()
        return None if value is None else str(value)

    async def put(self, key: str, value: str) -> None:
        stmt = self._insert().values(key=key, value=value)
        await self._c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    async def claim(self, key: str, value: str) -> bool:
        stmt = self._insert().values(key=key, value=value).on_conflict_do_nothing(index_elements=["key"])
        return (await self._c.execute(stmt.returning(t.app_kv.c.key))).first() is not None

    async def existing(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = sorted(set(keys))
        for start in range(0, len(unique), _CHUNK):
            q = select(t.app_kv.c.key).where(t.app_kv.c.key.in_(unique[start:start + _CHUNK]))
            found.update(str(k) for k in (await self._c.execute(q)).scalars())
        return found

    async def forget(self, prefix: str, value_before: str) -> int:
        kv = t.app_kv.c
        rows = await self._c.execute(delete(t.app_kv).where(kv.key.startswith(prefix, autoescape=True),
                                                            kv.value < value_before).returning(kv.key))
        return len(rows.all())


__all__ = ["SqlOwnershipRepository", "SqlSegmentRepository", "SqlSettingsStore", "segment_clauses"]
