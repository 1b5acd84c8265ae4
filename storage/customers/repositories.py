"""Repositories for customers, contacts, leads, interactions, follow-ups and the search index."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, FromClause, Select
from sqlalchemy.sql.elements import BindParameter

from crm.customers.model import (
    Classification,
    Contact,
    Customer,
    CustomerKind,
    EntityKind,
    FollowUp,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Lead,
    LeadStatus,
    SearchHit,
    Tier,
)
from crm.organisation.permissions import ScopeFilter
from storage import tables as t
from storage.organisation.repositories import scope_clause
from storage.prepared import Prepared

_HIGH = "\U0010ffff"  # sorts after every character: term >= p AND term < p + _HIGH is "starts with p"


R = TypeVar("R")


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value or ())


def _tier(value: Any) -> Tier | None:
    return Tier(value) if value else None


class _Kind(Generic[R]):
    """One kind of record and its table: the row → record mapping (a column per dataclass field, some
    converted), the values an insert writes, and the statements that read one by id, built once."""

    def __init__(self, record: type[R], table: Table, **convert: Callable[[Any], Any]) -> None:
        self.record, self.table, self._convert = record, table, convert
        self.fields = tuple(f.name for f in fields(record))  # type: ignore[arg-type]  # R is a dataclass (Record)
        self.written = tuple(name for name in self.fields if name not in ("id", "deleted_at"))
        self.any_by_id = select(table).where(table.c.id == bindparam("id"))
        self.live_by_id = self.any_by_id.where(table.c.deleted_at.is_(None))

    def __call__(self, row: Row[Any]) -> R:
        values = {name: getattr(row, name) for name in self.fields}
        for name, convert in self._convert.items():
            values[name] = convert(values[name])
        return self.record(**values)

    def values(self, record: R) -> dict[str, Any]:
        values = _values(record, *self.written)
        if "updated_at" in self.table.c and "updated_at" not in values:
            values["updated_at"] = values["created_at"]  # a new record is as old as its last change
        return values


_customer = _Kind(Customer, t.customers, kind=CustomerKind, phones=_tuple, classification=Classification, tier=_tier,
                  tags=_tuple)
_contact = _Kind(Contact, t.contacts, phones=_tuple)
_lead = _Kind(Lead, t.leads, phones=_tuple, status=LeadStatus)
_interaction = _Kind(Interaction, t.interactions, kind=InteractionKind)
_followup = _Kind(FollowUp, t.followups, status=FollowUpStatus)


def _values(obj: Any, *names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "value") and not isinstance(value, int | float | str):
            value = value.value
        out[name] = value
    return out


# The customer card's reads run on every card shown: prepared (storage/prepared.py).
_CARD_HEAD = Prepared(
    select(t.customers, t.staff.c.name.label("owner_name"), t.staff.c.department_id.label("owner_department"))
    .join(t.staff, t.staff.c.id == t.customers.c.owner_id)
    .where(t.customers.c.id == bindparam("id"), t.customers.c.deleted_at.is_(None))
)
_OWNER_DEPARTMENT = select(t.staff.c.department_id).where(t.staff.c.id == bindparam("id"))
_CONTACTS_OF = Prepared(select(t.contacts).where(t.contacts.c.customer_id == bindparam("customer_id"),
                                         t.contacts.c.deleted_at.is_(None)).order_by(t.contacts.c.id))
_OPEN_FOLLOWUPS_OF = Prepared(
    select(t.followups)
    .where(t.followups.c.status == FollowUpStatus.OPEN.value, t.followups.c.deleted_at.is_(None),
           t.followups.c.customer_id == bindparam("customer_id"))
    .order_by(t.followups.c.due_at, t.followups.c.id)
)
_RECENT_INTERACTIONS_OF = Prepared(
    select(t.interactions)
    .where(t.interactions.c.deleted_at.is_(None), t.interactions.c.customer_id == bindparam("customer_id"))
    .order_by(t.interactions.c.occurred_at.desc(), t.interactions.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


class _Records(Generic[R]):
    """A repository of one kind of record: add, read by id (live, or deleted too), change fields. Each kind
    adds its own queries."""

    def __init__(self, conn: AsyncConnection, kind: _Kind[R]) -> None:
        self._c = conn
        self._kind = kind

    async def add(self, record: R) -> R:
        table = self._kind.table
        new_id = (await self._c.execute(insert(table).values(**self._kind.values(record))
                                        .returning(table.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, record_id: int, *, include_deleted: bool = False) -> R | None:
        statement = self._kind.any_by_id if include_deleted else self._kind.live_by_id
        row = (await self._c.execute(statement, {"id": record_id})).first()
        return self._kind(row) if row else None

    async def update(self, record_id: int, **fields: Any) -> None:
        table = self._kind.table
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
        await self._c.execute(update(table).where(table.c.id == record_id).values(**fields))


class SqlCustomerRepository(_Records[Customer]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, _customer)

    async def card_head(self, customer_id: int) -> tuple[Customer, str, int] | None:
        row = await _CARD_HEAD.first(self._c, {"id": customer_id})
        return (_customer(row), row.owner_name, row.owner_department) if row else None

    async def owner_department(self, owner_id: int) -> int | None:
        return (await self._c.execute(_OWNER_DEPARTMENT, {"id": owner_id})).scalar()

    def _where(self, scope: ScopeFilter, deleted: bool, owner_id: int | None) -> list[ColumnElement[bool]]:
        c = t.customers.c
        where = [c.deleted_at.is_not(None) if deleted else c.deleted_at.is_(None), scope_clause(scope, c.owner_id)]
        if owner_id is not None:
            where.append(c.owner_id == owner_id)
        return where

    async def list(self, scope: ScopeFilter, *, deleted: bool = False, owner_id: int | None = None,
                   offset: int = 0, limit: int = 20) -> Sequence[Customer]:
        order = t.customers.c.deleted_at.desc() if deleted else t.customers.c.name
        q = (select(t.customers).where(*self._where(scope, deleted, owner_id))
             .order_by(order, t.customers.c.id).offset(offset).limit(limit))
        return [_customer(r) for r in await self._c.execute(q)]

    async def count(self, scope: ScopeFilter, *, deleted: bool = False, owner_id: int | None = None) -> int:
        q = select(func.count()).select_from(t.customers).where(*self._where(scope, deleted, owner_id))
        return int((await self._c.execute(q)).scalar_one())

    async def by_phone(self, e164: str) -> Sequence[Customer]:
        term = "p:" + "".join(ch for ch in e164 if ch.isdigit())[::-1]
        ids = select(t.search_terms.c.entity_id).where(t.search_terms.c.term == term,
                                                       t.search_terms.c.entity == EntityKind.CUSTOMER.value)
        q = select(t.customers).where(t.customers.c.id.in_(ids), t.customers.c.deleted_at.is_(None))
        return [_customer(r) for r in await self._c.execute(q)]

    async def by_email(self, email: str) -> Sequence[Customer]:
        q = select(t.customers).where(func.lower(t.customers.c.email) == email.lower(),
                                      t.customers.c.deleted_at.is_(None))
        return [_customer(r) for r in await self._c.execute(q)]


class SqlContactRepository(_Records[Contact]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, _contact)

    async def for_customer(self, customer_id: int) -> Sequence[Contact]:
        return [_contact(r) for r in await _CONTACTS_OF.rows(self._c, {"customer_id": customer_id})]


class SqlLeadRepository(_Records[Lead]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, _lead)

    async def list(self, scope: ScopeFilter, *, open_only: bool = True, offset: int = 0,
                   limit: int = 20) -> Sequence[Lead]:
        c = t.leads.c
        q = select(t.leads).where(c.deleted_at.is_(None), scope_clause(scope, c.owner_id))
        if open_only:
            q = q.where(c.status.in_([LeadStatus.NEW.value, LeadStatus.QUALIFIED.value]))
        q = q.order_by(c.created_at.desc(), c.id.desc()).offset(offset).limit(limit)
        return [_lead(r) for r in await self._c.execute(q)]


class SqlInteractionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, interaction: Interaction) -> Interaction:
        values = _values(interaction, "customer_id", "lead_id", "contact_id", "author_id", "kind", "text",
                         "latitude", "longitude", "occurred_at", "created_at")
        new_id = (await self._c.execute(
            insert(t.interactions).values(**values).returning(t.interactions.c.id))).scalar_one()
        return Interaction(**{**interaction.__dict__, "id": new_id})

    async def recent(self, *, customer_id: int | None = None, lead_id: int | None = None,
                     limit: int = 5) -> Sequence[Interaction]:
        if customer_id is not None:
            rows = await _RECENT_INTERACTIONS_OF.rows(self._c, {"customer_id": customer_id, "limit": limit})
            return [_interaction(r) for r in rows]
        c = t.interactions.c
        q = select(t.interactions).where(c.deleted_at.is_(None), c.lead_id == lead_id)
        q = q.order_by(c.occurred_at.desc(), c.id.desc()).limit(limit)
        return [_interaction(r) for r in await self._c.execute(q)]

    async def get(self, interaction_id: int, *, include_deleted: bool = False) -> Interaction | None:
        statement = _interaction.any_by_id if include_deleted else _interaction.live_by_id
        row = (await self._c.execute(statement, {"id": interaction_id})).first()
        return _interaction(row) if row else None

    async def by_author_since(self, author_id: int, kind: InteractionKind, since: datetime, *,
                              customer_id: int | None, lead_id: int | None,
                              contact_id: int | None) -> Sequence[Interaction]:
        c = t.interactions.c
        party = [column.is_(None) if value is None else column == value
                 for column, value in ((c.customer_id, customer_id), (c.lead_id, lead_id), (c.contact_id, contact_id))]
        q = (select(t.interactions)
             .where(c.deleted_at.is_(None), c.author_id == author_id, c.kind == kind.value, c.created_at >= since,
                    *party)
             .order_by(c.created_at.desc(), c.id.desc()))
        return [_interaction(r) for r in await self._c.execute(q)]

    async def soft_delete(self, interaction_id: int, at: datetime) -> None:
        await self._c.execute(update(t.interactions).where(t.interactions.c.id == interaction_id)
                              .values(deleted_at=at))

    async def move_lead_to_customer(self, lead_id: int, customer_id: int) -> None:
        await self._c.execute(update(t.interactions).where(t.interactions.c.lead_id == lead_id)
                              .values(customer_id=customer_id))


class SqlFollowUpRepository(_Records[FollowUp]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, _followup)

    async def open_for(self, *, customer_id: int | None = None, lead_id: int | None = None) -> Sequence[FollowUp]:
        if customer_id is not None:
            return [_followup(r) for r in await _OPEN_FOLLOWUPS_OF.rows(self._c, {"customer_id": customer_id})]
        c = t.followups.c
        q = select(t.followups).where(c.status == FollowUpStatus.OPEN.value, c.deleted_at.is_(None),
                                      c.lead_id == lead_id)
        return [_followup(r) for r in await self._c.execute(q.order_by(c.due_at, c.id))]

    async def open_from_interaction(self, interaction_id: int) -> Sequence[FollowUp]:
        c = t.followups.c
        q = select(t.followups).where(c.interaction_id == interaction_id, c.status == FollowUpStatus.OPEN.value,
                                      c.deleted_at.is_(None))
        return [_followup(r) for r in await self._c.execute(q.order_by(c.id))]

    async def for_owner_between(self, owner_id: int, start: datetime | None, end: datetime) -> Sequence[FollowUp]:
        c = t.followups.c
        q = select(t.followups).where(c.owner_id == owner_id, c.status == FollowUpStatus.OPEN.value,
                                      c.deleted_at.is_(None), c.due_at < end)
        if start is not None:
            q = q.where(c.due_at >= start)
        return [_followup(r) for r in await self._c.execute(q.order_by(c.due_at, c.id))]

    async def move_lead_to_customer(self, lead_id: int, customer_id: int) -> None:
        await self._c.execute(update(t.followups).where(t.followups.c.lead_id == lead_id)
                              .values(customer_id=customer_id))

    async def claim_due(self, now: datetime, worker: str, lease_until: datetime, limit: int) -> Sequence[FollowUp]:
        c = t.followups.c
        due: Select[Any] = (
            select(c.id)
            .where(c.status == FollowUpStatus.OPEN.value, c.deleted_at.is_(None), c.due_at <= now,
                   or_(c.remind_state == "pending", and_(c.remind_state == "claimed", c.claimed_until < now)))
            .order_by(c.due_at, c.id)
            .limit(limit)
        )
        if self._c.dialect.name == "postgresql":
            # Two bot processes on one PostgreSQL: each takes different rows instead of waiting on each other.
            due = due.with_for_update(skip_locked=True)
        rows = await self._c.execute(
            update(t.followups).where(c.id.in_(due.scalar_subquery()))
            .values(remind_state="claimed", claimed_by=worker, claimed_until=lease_until)
            .returning(*t.followups.c)
        )
        return sorted((_followup(r) for r in rows), key=lambda f: (f.due_at, f.id))

    async def mark_reminded(self, followup_id: int, worker: str, at: datetime, late: bool) -> bool:
        c = t.followups.c
        result = await self._c.execute(
            update(t.followups).where(c.id == followup_id, c.claimed_by == worker, c.remind_state == "claimed")
            .values(remind_state="sent", reminded_at=at, reminded_late=late, claimed_until=None)
        )
        return bool(result.rowcount == 1)


class SqlSearchIndex:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def replace(self, entity: EntityKind, entity_id: int, terms: Iterable[str]) -> None:
        await self.remove(entity, entity_id)
        rows = [{"term": term, "entity": entity.value, "entity_id": entity_id} for term in sorted(set(terms))]
        if rows:
            await self._c.execute(insert(t.search_terms), rows)

    async def remove(self, entity: EntityKind, entity_id: int) -> None:
        await self._c.execute(delete(t.search_terms).where(t.search_terms.c.entity == entity.value,
                                                           t.search_terms.c.entity_id == entity_id))

    async def search(self, scope: ScopeFilter, exact: Sequence[str], prefixes: Sequence[str],
                     phone_suffix: str | None, *, limit: int) -> Sequence[SearchHit]:
        prepared = prepared_search(scope, exact, prefixes, phone_suffix, limit=limit)
        if prepared is None:
            return []
        statement, params = prepared
        # Even a cached statement costs SQLAlchemy a walk of its whole tree per execution (the cache key);
        # for this large one that is most of the search's CPU, so run its compiled SQL directly.
        dialect = self._c.dialect
        compiled = _COMPILED_SEARCH.get((dialect.name, id(statement)))
        if compiled is None or compiled[0] is not statement:
            built = statement.compile(dialect=dialect)
            compiled = (statement, built.string, tuple(built.positiontup or ()), dict(built.params))
            _COMPILED_SEARCH[(dialect.name, id(statement))] = compiled
        _, sql, order, constants = compiled
        values = {**constants, **params}
        args = tuple(values[name] for name in order)
        if dialect.name == "sqlite":  # only strings and integers: nothing to convert (storage/prepared.py)
            rows: Any = self._c.sync_connection.connection.driver_connection._conn.execute(  # type: ignore[union-attr]
                sql, args).fetchall()
        else:
            rows = await self._c.exec_driver_sql(sql, args)
        return [SearchHit(EntityKind(entity), id_, title, subtitle, owner_id, _customer_kind(kind))
                for entity, id_, title, subtitle, owner_id, kind in rows]

    async def named(self, scope: ScopeFilter, keys: Sequence[str], *, limit: int, starting: bool = False
                    ) -> Sequence[tuple[str, SearchHit]]:
        if not keys:
            return []
        unique = sorted(set(keys))
        departments = 0 if scope.everything else len(scope.department_ids or ())
        shape = (scope.everything, departments, limit, len(unique), starting)
        statement = _NAMED_STATEMENTS.get(shape)
        if statement is None:
            if len(_NAMED_STATEMENTS) > 256:  # shapes are few; this only bounds a pathological caller
                _NAMED_STATEMENTS.clear()
            statement = _NAMED_STATEMENTS[shape] = Prepared(_build_named(*shape))
        params = _search_params(scope, ())
        for n, key in enumerate(unique):
            params[f"k{n}"] = key
            if starting:
                params[f"k{n}_end"] = key + _HIGH
        rows = await statement.rows(self._c, params)
        return [(key, SearchHit(EntityKind(entity), id_, title, subtitle, owner_id, _customer_kind(kind)))
                for entity, id_, title, subtitle, owner_id, kind, key in rows]


def _customer_kind(value: str | None) -> CustomerKind | None:
    return CustomerKind(value) if value else None


SearchShape = tuple[tuple[bool, ...], bool, int, int]
# Prepared (storage/prepared.py): a one-message /order or /log looks its customer up by name on every update.
_NAMED_STATEMENTS: dict[tuple[bool, int, int, int, bool], Prepared] = {}
MAX_SEARCH_TERMS = 5
_SEARCH_STATEMENTS: dict[SearchShape, CompoundSelect[Any]] = {}
_COMPILED_SEARCH: dict[tuple[str, int], tuple[CompoundSelect[Any], str, tuple[str, ...], dict[str, Any]]] = {}


def _search_parts(exact: Sequence[str], prefixes: Sequence[str], phone_suffix: str | None) -> list[tuple[bool, str]]:
    parts: list[tuple[bool, str]] = [(False, term) for term in exact] + [(True, p) for p in prefixes]
    if phone_suffix:
        parts.append((True, "p:" + phone_suffix))
    # Exact terms before prefixes, longer before shorter: a bigram is rarer than a character, "acme" than "a".
    parts.sort(key=lambda part: (part[0], -len(part[1])))
    # A long Chinese name has a dozen bigrams. The most selective few find the records; more only make the
    # statement (and its cached compiled form, one per shape) larger. CustomerService.search checks the whole
    # typed text against what it finds.
    return parts[:MAX_SEARCH_TERMS]


def _search_params(scope: ScopeFilter, parts: Sequence[tuple[bool, str]]) -> dict[str, Any]:
    params: dict[str, Any] = {"scope_owner": scope.owner_id}
    for n, department in enumerate(sorted(scope.department_ids or ())):
        params[f"d{n}"] = department
    for n, (is_prefix, term) in enumerate(parts):
        params[f"t{n}"] = term
        if is_prefix:
            params[f"t{n}_end"] = term + _HIGH
    return params


def _build_search(shape: SearchShape) -> CompoundSelect[Any]:
    """One query for customers, contacts and leads having every term, in scope, ``limit`` of each.

    Measured on 100,000 customers (bench/search.py): the most selective term drives, read from the primary
    key; every other term is an EXISTS probe on (entity, entity_id), ~17 terms per record, so a search stops
    as soon as it has ``limit`` hits instead of intersecting tens of thousands of rows for 有限 ∩ 公司. A
    prefix range on ``term`` must not be mistaken by SQLite for a job for the (entity, entity_id) index
    (equality beats a range in its estimate, and it then reads every customer's terms): the driving row's
    entity is compared as ``entity || ''``, which no index serves. The owner likewise, as ``owner_id + 0``:
    started from a rep's 5,000 customers instead, each probing a prefix range, "imp" took 2 s. One UNION ALL
    is one round trip.

    Terms, owner and departments are bound parameters, so the statement is built and compiled once per
    shape (which terms are prefixes, the kind of scope, the limit): building this tree costs milliseconds,
    far more than running it.
    """
    prefix_flags, everything, departments, limit = shape
    st = t.search_terms

    def term_is(alias: FromClause, n: int) -> ColumnElement[bool]:
        if prefix_flags[n]:
            return and_(alias.c.term >= bindparam(f"t{n}"), alias.c.term < bindparam(f"t{n}_end"))
        return alias.c.term == bindparam(f"t{n}")

    def matching(entity: EntityKind, drive: Any) -> list[ColumnElement[bool]]:
        entity_check = drive.c.entity.concat("") == entity.value if prefix_flags[0] else drive.c.entity == entity.value
        where = [term_is(drive, 0), entity_check]
        for n in range(1, len(prefix_flags)):
            probe = st.alias(f"p_{entity.value}_{n}")
            where.append(exists().where(probe.c.entity == entity.value, probe.c.entity_id == drive.c.entity_id,
                                        term_is(probe, n)))
        return where

    branches = _entity_branches(matching, everything, departments, limit)
    # One record can hold several words with the same prefix ("Acme Accessories" for "ac").
    branches = [q.distinct() if prefix_flags[0] else q for q in branches]
    # SQLite allows LIMIT in a UNION ALL member only inside a subquery.
    return union_all(*(select(*q.subquery().c) for q in branches))


def _build_named(everything: bool, departments: int, limit: int, keys: int, starting: bool
                 ) -> CompoundSelect[Any]:
    """Records having one of the whole-name keys ``k0``… — or, ``starting``, a whole name starting with one of
    them: primary-key lookups or ranges, then the record."""

    st = t.search_terms

    def matching(entity: EntityKind, drive: Any) -> list[ColumnElement[bool]]:
        if starting:
            return []  # in the drive itself
        return [drive.c.term.in_([bindparam(f"k{n}") for n in range(keys)]), drive.c.entity == entity.value]

    def ranges(entity: EntityKind) -> Any:
        # One range scan of the primary key per key. As in _build_search, the entity is compared in a way no
        # index serves, or SQLite reads every customer's terms through the (entity, entity_id) index (~1 s).
        return union_all(*(select(st).where(st.c.term >= bindparam(f"k{n}"), st.c.term < bindparam(f"k{n}_end"),
                                            st.c.entity.concat("") == entity.value) for n in range(keys))
                         ).subquery(f"s_{entity.value}")

    branches = _entity_branches(matching, everything, departments, limit, with_term=True,
                                drives=ranges if starting else None)
    return union_all(*(select(*q.subquery().c) for q in branches))


def _entity_branches(matching: Callable[[EntityKind, Any], list[ColumnElement[bool]]], everything: bool,
                     departments: int, limit: int, *, with_term: bool = False,
                     drives: Callable[[EntityKind], Any] | None = None) -> list[Select[Any]]:
    """One SELECT per kind of record, each driven by a search_terms row that ``matching`` picks (from
    ``drives(entity)`` when given, else the table itself), in scope."""
    st = t.search_terms

    def drive_for(entity: EntityKind) -> Any:
        return drives(entity) if drives is not None else st.alias(f"s_{entity.value}")

    def in_scope(owner_col: ColumnElement[Any]) -> ColumnElement[bool]:
        if everything:
            return owner_col.is_not(None)
        clause: ColumnElement[bool] = owner_col == bindparam("scope_owner")
        if departments:
            wanted: list[BindParameter[Any]] = [bindparam(f"d{n}") for n in range(departments)]
            owners = select(t.staff.c.id).where(t.staff.c.department_id.in_(wanted))
            clause = clause | owner_col.in_(owners)
        return clause

    def columns(entity: EntityKind, drive: Any, *picked: Any) -> list[Any]:
        extra = [drive.c.term.label("key")] if with_term else []
        return [literal(entity.value).label("entity"), *picked, *extra]

    cu, co, le = t.customers.c, t.contacts.c, t.leads.c
    # Only customers are a company or a person; typed, so PostgreSQL unites the branches without guessing.
    no_kind = cast(null(), cu.kind.type).label("customer_kind")
    drive = drive_for(EntityKind.CUSTOMER)
    customers_q = (
        select(*columns(EntityKind.CUSTOMER, drive, cu.id, cu.name.label("title"), cu.short_name.label("subtitle"),
                        cu.owner_id, cu.kind.label("customer_kind")))
        .select_from(drive.join(t.customers, cu.id == drive.c.entity_id))
        .where(*matching(EntityKind.CUSTOMER, drive), cu.deleted_at.is_(None), in_scope(cu.owner_id + 0))
        .limit(limit)
    )
    drive = drive_for(EntityKind.CONTACT)
    owner = t.customers.alias("contact_customer")
    contacts_q = (
        select(*columns(EntityKind.CONTACT, drive, co.id, co.name.label("title"), owner.c.name.label("subtitle"),
                        owner.c.owner_id, no_kind))
        .select_from(drive.join(t.contacts, co.id == drive.c.entity_id).join(owner, owner.c.id == co.customer_id))
        .where(*matching(EntityKind.CONTACT, drive), co.deleted_at.is_(None), owner.c.deleted_at.is_(None),
               in_scope(owner.c.owner_id + 0))
        .limit(limit)
    )
    drive = drive_for(EntityKind.LEAD)
    leads_q = (
        select(*columns(EntityKind.LEAD, drive, le.id, le.name.label("title"), le.company_name.label("subtitle"),
                        le.owner_id, no_kind))
        .select_from(drive.join(t.leads, le.id == drive.c.entity_id))
        .where(*matching(EntityKind.LEAD, drive), le.deleted_at.is_(None), le.status != LeadStatus.CONVERTED.value,
               in_scope(le.owner_id + 0))
        .limit(limit)
    )
    return [customers_q, contacts_q, leads_q]


def prepared_search(scope: ScopeFilter, exact: Sequence[str], prefixes: Sequence[str], phone_suffix: str | None,
                    *, limit: int) -> tuple[CompoundSelect[Any], dict[str, Any]] | None:
    """The cached statement for this search's shape, and the parameters to run it with."""
    parts = _search_parts(exact, prefixes, phone_suffix)
    if not parts:
        return None
    departments = 0 if scope.everything else len(scope.department_ids or ())
    shape: SearchShape = (tuple(p for p, _ in parts), scope.everything, departments, limit)
    statement = _SEARCH_STATEMENTS.get(shape)
    if statement is None:
        if len(_SEARCH_STATEMENTS) > 256:  # shapes are few; this only bounds a pathological caller
            _SEARCH_STATEMENTS.clear()
        statement = _SEARCH_STATEMENTS[shape] = _build_search(shape)
    return statement, _search_params(scope, parts)


def search_statement(scope: ScopeFilter, exact: Sequence[str], prefixes: Sequence[str], phone_suffix: str | None,
                     *, limit: int) -> CompoundSelect[Any] | None:
    """The search as one statement with its values bound (for EXPLAIN and raw timing in bench/search.py)."""
    prepared = prepared_search(scope, exact, prefixes, phone_suffix, limit=limit)
    if prepared is None:
        return None
    statement, params = prepared
    return statement.params(**params)
