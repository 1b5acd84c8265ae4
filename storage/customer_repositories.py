"""Repositories for customers, contacts, leads, interactions, follow-ups and the search index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    delete,
    func,
    insert,
    intersect,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from crm.customer_model import (
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
from crm.permissions import ScopeFilter
from storage import tables as t
from storage.org_repositories import scope_clause

_HIGH = "\U0010ffff"  # sorts after every character: term >= p AND term < p + _HIGH is "starts with p"


def _customer(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id, name=row.name, owner_id=row.owner_id, kind=CustomerKind(row.kind), short_name=row.short_name,
        phones=tuple(row.phones or ()), email=row.email, address=row.address, region=row.region,
        industry=row.industry, source=row.source, classification=Classification(row.classification),
        tier=Tier(row.tier) if row.tier else None, tags=tuple(row.tags or ()), notes=row.notes,
        created_at=row.created_at, updated_at=row.updated_at, last_contact_at=row.last_contact_at,
        deleted_at=row.deleted_at,
    )


def _contact(row: Row[Any]) -> Contact:
    return Contact(id=row.id, customer_id=row.customer_id, name=row.name, title=row.title,
                   phones=tuple(row.phones or ()), email=row.email, birthday=row.birthday, notes=row.notes,
                   created_at=row.created_at, deleted_at=row.deleted_at)


def _lead(row: Row[Any]) -> Lead:
    return Lead(id=row.id, name=row.name, owner_id=row.owner_id, company_name=row.company_name,
                phones=tuple(row.phones or ()), email=row.email, source=row.source, status=LeadStatus(row.status),
                drop_reason=row.drop_reason, converted_customer_id=row.converted_customer_id,
                converted_contact_id=row.converted_contact_id, notes=row.notes, created_at=row.created_at,
                last_contact_at=row.last_contact_at, deleted_at=row.deleted_at)


def _interaction(row: Row[Any]) -> Interaction:
    return Interaction(id=row.id, author_id=row.author_id, kind=InteractionKind(row.kind), text=row.text,
                       occurred_at=row.occurred_at, customer_id=row.customer_id, lead_id=row.lead_id,
                       contact_id=row.contact_id, latitude=row.latitude, longitude=row.longitude,
                       created_at=row.created_at)


def _followup(row: Row[Any]) -> FollowUp:
    return FollowUp(id=row.id, owner_id=row.owner_id, text=row.text, due_at=row.due_at,
                    customer_id=row.customer_id, lead_id=row.lead_id, contact_id=row.contact_id,
                    status=FollowUpStatus(row.status), interaction_id=row.interaction_id,
                    remind_state=row.remind_state, reminded_at=row.reminded_at, reminded_late=row.reminded_late,
                    created_at=row.created_at, completed_at=row.completed_at)


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


class SqlCustomerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, customer: Customer) -> Customer:
        values = _values(customer, "kind", "name", "short_name", "phones", "email", "address", "region", "industry",
                         "source", "owner_id", "classification", "tier", "tags", "notes", "created_at",
                         "updated_at", "last_contact_at")
        new_id = (await self._c.execute(insert(t.customers).values(**values).returning(t.customers.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, customer_id: int, *, include_deleted: bool = False) -> Customer | None:
        q = select(t.customers).where(t.customers.c.id == customer_id)
        if not include_deleted:
            q = q.where(t.customers.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _customer(row) if row else None

    async def owner_department(self, owner_id: int) -> int | None:
        return (await self._c.execute(select(t.staff.c.department_id).where(t.staff.c.id == owner_id))).scalar()

    async def update(self, customer_id: int, **fields: Any) -> None:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
        await self._c.execute(update(t.customers).where(t.customers.c.id == customer_id).values(**fields))

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


class SqlContactRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, contact: Contact) -> Contact:
        values = _values(contact, "customer_id", "name", "title", "phones", "email", "birthday", "notes",
                         "created_at")
        values["updated_at"] = contact.created_at
        new_id = (await self._c.execute(insert(t.contacts).values(**values).returning(t.contacts.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, contact_id: int, *, include_deleted: bool = False) -> Contact | None:
        q = select(t.contacts).where(t.contacts.c.id == contact_id)
        if not include_deleted:
            q = q.where(t.contacts.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _contact(row) if row else None

    async def for_customer(self, customer_id: int) -> Sequence[Contact]:
        q = (select(t.contacts).where(t.contacts.c.customer_id == customer_id, t.contacts.c.deleted_at.is_(None))
             .order_by(t.contacts.c.id))
        return [_contact(r) for r in await self._c.execute(q)]

    async def update(self, contact_id: int, **fields: Any) -> None:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
        await self._c.execute(update(t.contacts).where(t.contacts.c.id == contact_id).values(**fields))


class SqlLeadRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, lead: Lead) -> Lead:
        values = _values(lead, "name", "company_name", "phones", "email", "source", "owner_id", "status", "notes",
                         "created_at", "last_contact_at")
        values["updated_at"] = lead.created_at
        new_id = (await self._c.execute(insert(t.leads).values(**values).returning(t.leads.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, lead_id: int, *, include_deleted: bool = False) -> Lead | None:
        q = select(t.leads).where(t.leads.c.id == lead_id)
        if not include_deleted:
            q = q.where(t.leads.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _lead(row) if row else None

    async def update(self, lead_id: int, **fields: Any) -> None:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
        await self._c.execute(update(t.leads).where(t.leads.c.id == lead_id).values(**fields))

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
        c = t.interactions.c
        q = select(t.interactions).where(c.deleted_at.is_(None))
        q = q.where(c.customer_id == customer_id) if customer_id is not None else q.where(c.lead_id == lead_id)
        q = q.order_by(c.occurred_at.desc(), c.id.desc()).limit(limit)
        return [_interaction(r) for r in await self._c.execute(q)]

    async def move_lead_to_customer(self, lead_id: int, customer_id: int) -> None:
        await self._c.execute(update(t.interactions).where(t.interactions.c.lead_id == lead_id)
                              .values(customer_id=customer_id))


class SqlFollowUpRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, followup: FollowUp) -> FollowUp:
        values = _values(followup, "customer_id", "lead_id", "contact_id", "owner_id", "text", "due_at", "status",
                         "interaction_id", "remind_state", "created_at")
        new_id = (await self._c.execute(insert(t.followups).values(**values).returning(t.followups.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, followup_id: int) -> FollowUp | None:
        row = (await self._c.execute(select(t.followups).where(t.followups.c.id == followup_id,
                                                               t.followups.c.deleted_at.is_(None)))).first()
        return _followup(row) if row else None

    async def update(self, followup_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.followups).where(t.followups.c.id == followup_id).values(**fields))

    async def open_for(self, *, customer_id: int | None = None, lead_id: int | None = None) -> Sequence[FollowUp]:
        c = t.followups.c
        q = select(t.followups).where(c.status == FollowUpStatus.OPEN.value, c.deleted_at.is_(None))
        q = q.where(c.customer_id == customer_id) if customer_id is not None else q.where(c.lead_id == lead_id)
        return [_followup(r) for r in await self._c.execute(q.order_by(c.due_at, c.id))]

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
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


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
        st = t.search_terms.c
        parts: list[Select[Any]] = [select(st.entity, st.entity_id).where(st.term == term) for term in exact]
        parts += [select(st.entity, st.entity_id).where(st.term >= p, st.term < p + _HIGH) for p in prefixes]
        if phone_suffix:
            key = "p:" + phone_suffix
            parts.append(select(st.entity, st.entity_id).where(st.term >= key, st.term < key + _HIGH))
        if not parts:
            return []
        matched = (parts[0] if len(parts) == 1 else intersect(*parts)).subquery("matched")
        hits: list[SearchHit] = []
        cu, co, le = t.customers.c, t.contacts.c, t.leads.c
        customers_q = (
            select(cu.id, cu.name, cu.short_name, cu.owner_id)
            .join(matched, and_(matched.c.entity == EntityKind.CUSTOMER.value, matched.c.entity_id == cu.id))
            .where(cu.deleted_at.is_(None), scope_clause(scope, cu.owner_id)).limit(limit)
        )
        for row in await self._c.execute(customers_q):
            hits.append(SearchHit(EntityKind.CUSTOMER, row.id, row.name, row.short_name, row.owner_id))
        contacts_q = (
            select(co.id, co.name, co.title, cu.name.label("customer_name"), cu.owner_id)
            .join(matched, and_(matched.c.entity == EntityKind.CONTACT.value, matched.c.entity_id == co.id))
            .join(t.customers, cu.id == co.customer_id)
            .where(co.deleted_at.is_(None), cu.deleted_at.is_(None), scope_clause(scope, cu.owner_id)).limit(limit)
        )
        for row in await self._c.execute(contacts_q):
            hits.append(SearchHit(EntityKind.CONTACT, row.id, row.name, row.customer_name, row.owner_id))
        leads_q = (
            select(le.id, le.name, le.company_name, le.owner_id)
            .join(matched, and_(matched.c.entity == EntityKind.LEAD.value, matched.c.entity_id == le.id))
            .where(le.deleted_at.is_(None), le.status != LeadStatus.CONVERTED.value, scope_clause(scope, le.owner_id))
            .limit(limit)
        )
        for row in await self._c.execute(leads_q):
            hits.append(SearchHit(EntityKind.LEAD, row.id, row.name, row.company_name, row.owner_id))
        return hits

