"""Customers: create (with a duplicate check), view, edit, soft-delete and restore, search.

Every method takes the Actor and checks the operation permission and the query scope; a record outside the
scope is reported as not found, so its existence is not confirmed.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.names import clean, name_orders
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers import phones
from crm.customers.events import CustomerCreated
from crm.customers.model import (
    Classification,
    Customer,
    CustomerCard,
    CustomerFields,
    CustomerKind,
    EntityKind,
    Lead,
    SearchHit,
    Tier,
)
from crm.customers.ports import CardSection, CustomersUnitOfWork, Records
from crm.customers.search_terms import fold, is_cjk, name_key, query_terms, record_terms
from crm.organisation import audit
from crm.organisation.permissions import Actor

EMAIL_RE = re.compile(r"^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]{2,}$")
LIMITS = {"name": 200, "short_name": 100, "email": 254, "address": 500, "region": 100, "industry": 100,
          "source": 100, "notes": 4000}
SEARCH_PAGE = 8
MAX_TAGS = 20


def clean_text(value: Any, field_name: str, *, required: bool = False) -> str | None:
    """A typed field as stored: names and other one-line fields go through crm.core.names.clean (no invisible
    characters, so what looks equal is equal for search and the duplicate check); notes keep their lines."""
    text = clean(str(value)) if field_name != "notes" and value is not None else (
        str(value).strip() if value is not None else None)
    if not text:
        if required:
            raise ValidationFailed("error.field_required", field=field_name)
        return None
    limit = LIMITS.get(field_name, 200)
    if len(text) > limit:
        raise ValidationFailed("error.field_too_long", field=field_name, limit=limit)
    return text


def clean_email(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > LIMITS["email"] or not EMAIL_RE.match(text):
        raise ValidationFailed("error.email_invalid", value=text[:60])
    return text


def clean_tags(values: Sequence[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    items = re.split(r"[,，、;；\s]+", values) if isinstance(values, str) else list(values)
    tags = tuple(dict.fromkeys(t.strip().lstrip("#")[:40] for t in items if t.strip().lstrip("#")))
    if len(tags) > MAX_TAGS:
        raise ValidationFailed("error.too_many_tags", limit=MAX_TAGS)
    return tags


@dataclass(frozen=True, kw_only=True)
class CustomerDraft(CustomerFields):
    """What a rep typed; validated and normalised by the service."""

    owner_id: int | None = None


CUSTOMER_FIELDS = tuple(f.name for f in fields(CustomerFields))


def new_customer(draft: CustomerFields, owner_id: int, now: datetime) -> Customer:
    """A customer to add, from a normalised draft."""
    return Customer(**{name: getattr(draft, name) for name in CUSTOMER_FIELDS}, id=0, owner_id=owner_id,
                    created_at=now, updated_at=now)


@dataclass(frozen=True)
class Duplicates:
    """Possible duplicates: the ones the actor may open, and how many more exist outside their scope."""

    visible: tuple[Customer, ...] = ()
    hidden: int = 0
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.visible) or self.hidden > 0


class DuplicateSuspected(Conflict):
    key = "customers.duplicate"

    def __init__(self, duplicates: Duplicates) -> None:
        super().__init__()
        self.duplicates = duplicates


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    page: int
    has_more: bool
    by_phone: bool = False  # the query was a phone number (or its last digits)


def customer_terms(customer: Customer) -> set[str]:
    return record_terms(names=(customer.name, customer.short_name), phones=customer.phones,
                        emails=(customer.email,), tags=customer.tags)


# ---- what customers, contacts and leads share ----------------------------------------------------------------

class Record(Protocol):
    """A stored record of one kind: a dataclass with an id."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> int: ...


P = TypeVar("P", bound=Record)
Owned = TypeVar("Owned", Customer, Lead)


async def in_scope(uow: CustomersUnitOfWork, actor: Actor, record: Owned | None) -> Owned:
    """The record when its owner is within the actor's customer scope; otherwise, as when missing, NotFound."""
    if record is None:
        raise NotFound()
    department = await uow.customers.customers.owner_department(record.owner_id)
    if not actor.scope_filter("customers").allows(record.owner_id, department):
        raise NotFound()
    return record


def page_of(rows: Sequence[P], size: int) -> tuple[Sequence[P], bool]:
    """A page read with one row too many: the page, and whether there is more."""
    return rows[:size], len(rows) > size


class PartyService(ABC, Generic[P]):
    """The part every service of a kind of party (customer, contact, lead, and those to come) shares: phone
    normalisation, and writing an edit or a soft delete together with its search terms and audit entry."""

    entity: ClassVar[EntityKind]

    def __init__(self, uow: UnitOfWorkFactory[CustomersUnitOfWork], clock: Clock, *, phone_region: str = "TW") -> None:
        self._uow = uow
        self._clock = clock
        self.phone_region = phone_region

    @abstractmethod
    def _records(self, uow: CustomersUnitOfWork) -> Records[P]:
        """This kind's repository on ``uow``."""

    @abstractmethod
    def _terms(self, record: P) -> set[str]:
        """The search terms a record of this kind is found by."""

    def clean_phones(self, numbers: Iterable[str], actor: Actor | None = None) -> tuple[str, ...]:
        """E.164 numbers; with an ``actor``, a number invalid in the team's region is read in the region of the
        actor's language or time zone (crm/customers/phones.normalize_with_fallback)."""
        locale, timezone = (actor.locale, actor.timezone) if actor is not None else (None, None)
        return tuple(dict.fromkeys(
            phones.normalize_with_fallback(p, self.phone_region, locale=locale, timezone=timezone)[0]
            for p in numbers if p.strip()))

    async def _write_edit(self, uow: CustomersUnitOfWork, actor: Actor, before: P, changes: Mapping[str, Any]) -> P:
        """Save validated changes; the search terms follow, and the audit keeps what they replaced."""
        now = self._clock.now()
        stamp = {"updated_at": now} if "updated_at" in before.__dataclass_fields__ else {}
        after = replace(before, **changes, **stamp)
        diff = {k: getattr(after, k) for k in changes}
        await self._records(uow).update(before.id, **_db(diff), updated_at=now)
        await uow.customers.search.replace(self.entity, before.id, self._terms(after))
        await audit.record(uow, actor.staff_id, "update", self.entity.value, before.id,
                           {k: getattr(before, k) for k in diff}, diff)
        return after

    async def _write_delete(self, uow: CustomersUnitOfWork, actor: Actor, record_id: int) -> None:
        """Soft delete: the row stays, hidden, so /trash can bring it back."""
        now = self._clock.now()
        await self._records(uow).update(record_id, deleted_at=now)
        await audit.record(uow, actor.staff_id, "delete", self.entity.value, record_id, {"deleted_at": None},
                           {"deleted_at": now})


async def visible_customer(uow: CustomersUnitOfWork, actor: Actor, customer_id: int, *,
                           deleted: bool = False) -> Customer:
    if not deleted:
        # The live record and its owner's department in one prepared read (every order echo and card asks).
        head = await uow.customers.customers.card_head(customer_id)
        if head is None:
            raise NotFound()
        record, _, department = head
        if not actor.scope_filter("customers").allows(record.owner_id, department):
            raise NotFound()
        return record
    customer = await uow.customers.customers.get(customer_id, include_deleted=deleted)
    if customer is not None and deleted and customer.deleted_at is None:
        raise NotFound()
    return await in_scope(uow, actor, customer)


class CustomerService(PartyService[Customer]):
    entity = EntityKind.CUSTOMER

    def __init__(self, uow: UnitOfWorkFactory[CustomersUnitOfWork], clock: Clock, *, phone_region: str = "TW",
                 card_sections: ExtensionPoint[CardSection] | None = None) -> None:
        super().__init__(uow, clock, phone_region=phone_region)
        self.card_sections: ExtensionPoint[CardSection] = card_sections or ExtensionPoint()

    def _records(self, uow: CustomersUnitOfWork) -> Records[Customer]:
        return uow.customers.customers

    def _terms(self, record: Customer) -> set[str]:
        return customer_terms(record)

    def normalize_draft(self, draft: CustomerDraft, actor: Actor | None = None) -> CustomerDraft:
        return replace(
            draft,
            name=clean_text(draft.name, "name", required=True) or "",
            short_name=clean_text(draft.short_name, "short_name"),
            phones=self.clean_phones(draft.phones, actor),
            email=clean_email(draft.email),
            address=clean_text(draft.address, "address"),
            region=clean_text(draft.region, "region"),
            industry=clean_text(draft.industry, "industry"),
            source=clean_text(draft.source, "source"),
            tags=clean_tags(draft.tags),
            notes=clean_text(draft.notes, "notes"),
        )

    async def find_duplicates(self, actor: Actor, draft: CustomerDraft, *, exclude_id: int | None = None
                              ) -> Duplicates:
        actor.require("customers.view")
        draft = self.normalize_draft(draft, actor)
        async with self._uow(write=False) as uow:
            return await self._duplicates(uow, actor, draft, exclude_id)

    async def _duplicates(self, uow: CustomersUnitOfWork, actor: Actor, draft: CustomerDraft,
                          exclude_id: int | None, *, by_name: bool = True) -> Duplicates:
        found: dict[int, Customer] = {}
        reasons: set[str] = set()
        for phone in draft.phones:
            for c in await uow.customers.customers.by_phone(phone):
                found[c.id] = c
                reasons.add("phone")
        if draft.email:
            for c in await uow.customers.customers.by_email(draft.email):
                found[c.id] = c
                reasons.add("email")
        exact, prefixes = query_terms(draft.name) if by_name else ([], [])
        everyone = replace(actor.scope_filter("customers"), everything=True)
        for hit in await uow.customers.search.search(everyone, exact, prefixes, None, limit=50) if by_name else []:
            if hit.entity is EntityKind.CUSTOMER and _similar(hit.title, draft.name):
                customer = await uow.customers.customers.get(hit.id)
                if customer is not None:
                    found[customer.id] = customer
                    reasons.add("name")
        found.pop(exclude_id or -1, None)
        scope = actor.scope_filter("customers")
        visible: list[Customer] = []
        hidden = 0
        for customer in found.values():
            department = await uow.customers.customers.owner_department(customer.owner_id)
            if scope.allows(customer.owner_id, department):
                visible.append(customer)
            else:
                hidden += 1
        return Duplicates(tuple(visible), hidden, tuple(sorted(reasons)))

    async def create(self, actor: Actor, draft: CustomerDraft, *, force: bool = False) -> Customer:
        """Create; raises DuplicateSuspected unless ``force`` (the rep looked and said it is a new one)."""
        actor.require("customers.create")
        draft = self.normalize_draft(draft, actor)
        owner_id = draft.owner_id or actor.staff_id
        now = self._clock.now()
        async with self._uow() as uow:
            if owner_id != actor.staff_id:
                await self._check_owner(uow, actor, owner_id)
            if not force:
                duplicates = await self._duplicates(uow, actor, draft, None)
                if duplicates:
                    raise DuplicateSuspected(duplicates)
            customer = await uow.customers.customers.add(new_customer(draft, owner_id, now))
            await uow.customers.search.replace(EntityKind.CUSTOMER, customer.id, customer_terms(customer))
            await audit.record(uow, actor.staff_id, "create", "customer", customer.id, {}, _auditable(customer))
            uow.record(CustomerCreated(occurred_at=now, customer_id=customer.id, owner_id=owner_id,
                                       created_by=actor.staff_id, phones=customer.phones))
            await uow.commit()
        return customer

    @staticmethod
    async def _check_owner(uow: CustomersUnitOfWork, actor: Actor, owner_id: int) -> None:
        owner = await uow.organisation.staff.get(owner_id)
        if owner is None or not owner.active or owner.deleted_at is not None:
            raise NotFound()
        if not actor.scope_filter("customers").allows(owner.id, owner.department_id):
            raise NotFound()

    async def get(self, actor: Actor, customer_id: int) -> Customer:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            return await visible_customer(uow, actor, customer_id)

    async def card(self, actor: Actor, customer_id: int, *, sections: Mapping[str, int] | None = None
                   ) -> CustomerCard:
        """Everything a customer's card shows, read together; ``sections``: which of the other modules' sections
        (``card_sections``) to read, with how many items each (e.g. ``{"messages": 3}``)."""
        actor.require("customers.view")
        wanted = sections or {}
        async with self._uow(write=False) as uow:
            head = await uow.customers.customers.card_head(customer_id)
            if head is None or not actor.scope_filter("customers").allows(head[0].owner_id, head[2]):
                raise NotFound()
            customer, owner_name, _ = head
            contacts = await uow.customers.contacts.for_customer(customer_id)
            open_followups = await uow.customers.followups.open_for(customer_id=customer_id)
            recent = await uow.customers.interactions.recent(customer_id=customer_id, limit=3)
            extra = {section.name: tuple(await section.read(uow, actor, customer_id, wanted[section.name]))
                     for section in self.card_sections if wanted.get(section.name, 0) > 0}
        return CustomerCard(
            customer=customer, owner_name=owner_name, contacts=tuple(contacts),
            open_followups=tuple(open_followups), last_interaction=recent[0] if recent else None,
            next_followup=open_followups[0] if open_followups else None, recent_interactions=tuple(recent),
            sections=extra,
        )

    async def update(self, actor: Actor, customer_id: int, changes: Mapping[str, Any], *,
                     force: bool = False) -> Customer:
        """Edit fields; the same validation as creation. Changing the owner needs customers.handover."""
        actor.require("customers.edit")
        async with self._uow() as uow:
            before = await visible_customer(uow, actor, customer_id)
            editable = CustomerDraft.__dataclass_fields__
            fields = {k: v for k, v in changes.items() if k in editable}
            if "owner_id" in fields and fields["owner_id"] != before.owner_id:
                actor.require("customers.handover")
                await self._check_owner(uow, actor, int(fields["owner_id"]))
            merged = self.normalize_draft(CustomerDraft(**{
                **{k: getattr(before, k) for k in editable if hasattr(before, k)}, **fields,
            }), actor)
            if ("phones" in fields or "email" in fields) and not force:
                duplicates = await self._duplicates(uow, actor, merged, customer_id, by_name=False)
                if duplicates:
                    raise DuplicateSuspected(duplicates)
            after = await self._write_edit(uow, actor, before, {k: getattr(merged, k) for k in fields})
            await uow.commit()
        return after

    async def delete(self, actor: Actor, customer_id: int) -> None:
        """Soft delete: hidden everywhere, restorable from /trash; open follow-ups stop reminding."""
        actor.require("customers.delete")
        async with self._uow() as uow:
            await visible_customer(uow, actor, customer_id)
            await self._write_delete(uow, actor, customer_id)
            await uow.commit()

    async def restore(self, actor: Actor, customer_id: int) -> Customer:
        actor.require("trash.restore")
        async with self._uow() as uow:
            customer = await visible_customer(uow, actor, customer_id, deleted=True)
            await uow.customers.customers.update(customer_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "customer", customer_id,
                               {"deleted_at": customer.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return replace(customer, deleted_at=None)

    async def trash(self, actor: Actor, page: int = 0) -> tuple[Sequence[Customer], bool]:
        actor.require("trash.restore")
        async with self._uow(write=False) as uow:
            rows = await uow.customers.customers.list(actor.scope_filter("customers"), deleted=True,
                                            offset=page * SEARCH_PAGE, limit=SEARCH_PAGE + 1)
        return page_of(rows, SEARCH_PAGE)

    async def list_mine(self, actor: Actor, page: int = 0) -> tuple[Sequence[Customer], bool]:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            rows = await uow.customers.customers.list(actor.scope_filter("customers"), owner_id=actor.staff_id,
                                            offset=page * SEARCH_PAGE, limit=SEARCH_PAGE + 1)
        return page_of(rows, SEARCH_PAGE)

    async def list_team(self, actor: Actor, page: int = 0
                        ) -> tuple[Sequence[Customer], bool, Mapping[int, str]]:
        """Customers of everyone within the actor's customers scope (a manager's team; "own" is only one's own),
        a page at a time, with their owners' names."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            rows = await uow.customers.customers.list(actor.scope_filter("customers"),
                                                      offset=page * SEARCH_PAGE, limit=SEARCH_PAGE + 1)
            shown, more = page_of(rows, SEARCH_PAGE)
            owners: dict[int, str] = {}
            for owner_id in {c.owner_id for c in shown}:
                person = await uow.organisation.staff.get(owner_id)
                owners[owner_id] = person.name if person else "?"
        return shown, more, owners

    async def named(self, actor: Actor, names: Sequence[str], *, limit: int = SEARCH_PAGE, starting: bool = False
                    ) -> dict[str, tuple[SearchHit, ...]]:
        """Customers, contacts and leads the actor may see whose name (or short name, or a lead's company) is
        exactly one of ``names`` — or, ``starting``, begins with it — case, width and spacing aside:
        name → its records, customers first, at most ``limit`` each."""
        actor.require("customers.view")
        # A person's name also in its other orders (王小明 typed as 小明王 or "小明 王"): the same one indexed query.
        keys = {name: own for name in names
                if (own := [k for k in (name_key(n) for n in (name, *([] if starting else name_orders(name))))
                            if k is not None])}
        if not keys:
            return {}
        wanted = list(dict.fromkeys(k for own in keys.values() for k in own))
        async with self._uow(write=False) as uow:
            found = await uow.customers.search.named(actor.scope_filter("customers"), wanted, limit=limit,
                                                     starting=starting)
        result: dict[str, tuple[SearchHit, ...]] = {}
        for name, own in keys.items():
            hits = {(h.entity, h.id): h for term, h in found for key in own
                    if (term.startswith(key) if starting else term == key) and _names(h, key, starting)}
            if hits:
                ordered = sorted(hits.values(), key=lambda h: (h.entity is not EntityKind.CUSTOMER, h.title, h.id))
                result[name] = tuple(ordered[:limit])
        return result

    async def search(self, actor: Actor, query: str, page: int = 0) -> SearchPage:
        """Customers, contacts and leads by name, short name, phone (any format, last digits), e-mail, #tag."""
        actor.require("customers.view")
        text = clean(query)[:100]
        if not text:
            return SearchPage((), page, False)
        want = (page + 1) * SEARCH_PAGE + 1
        by_phone = phones.looks_like_phone(text)
        phone_suffix = phones.query_suffix(text, self.phone_region) if by_phone else None
        async with self._uow(write=False) as uow:
            hits = await self._hits(uow, actor, text, phone_suffix, want)
            if not hits and not by_phone:
                # Nobody by this text: perhaps a person's name in another order (小明王 for 王小明).
                for other in name_orders(text):
                    hits = await self._hits(uow, actor, other, None, want)
                    if hits:
                        text = other
                        break
        ordered = sorted(hits, key=lambda h: (_rank(h, text), h.title))
        start = page * SEARCH_PAGE
        return SearchPage(tuple(ordered[start:start + SEARCH_PAGE]), page, len(ordered) > start + SEARCH_PAGE,
                          by_phone)

    @staticmethod
    async def _hits(uow: CustomersUnitOfWork, actor: Actor, text: str, phone_suffix: str | None, want: int
                    ) -> list[SearchHit]:
        exact, prefixes = ([], []) if phone_suffix else query_terms(text)
        if not (exact or prefixes or phone_suffix):
            return []
        hits = list(await uow.customers.search.search(actor.scope_filter("customers"), exact, prefixes,
                                                      phone_suffix, limit=want * 2))
        cjk = _cjk_runs(fold(text)) if not (phone_suffix or text.startswith("#")) else []
        if cjk:
            # Bigrams can all match without the whole run being there, and the index query uses only the most
            # selective terms: check the real text.
            hits = [h for h in hits if all(run in fold(f"{h.title} {h.subtitle or ''}") for run in cjk)]
        return hits


def _names(hit: SearchHit, key: str, starting: bool) -> bool:
    """Whether the record's own name (a customer's short name, a lead's company) really is — or starts with —
    ``key``: index terms stop at 60 characters, so a long name's term can match where the name does not."""
    own = [hit.title] if hit.entity is EntityKind.CONTACT else [hit.title, hit.subtitle]
    for name in own:
        whole = "=" + " ".join(fold(name or "").split())
        if (whole.startswith(key) if starting else whole == key):
            return True
    return False


def _cjk_runs(text: str) -> list[str]:
    runs, current = [], ""
    for ch in text:
        if is_cjk(ch):
            current += ch
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def _rank(hit: SearchHit, query: str) -> int:
    title = fold(hit.title)
    q = fold(query)
    if title == q:
        return 0
    if title.startswith(q):
        return 1
    return 2 + ["customer", "contact", "lead"].index(hit.entity.value)


def _similar(a: str, b: str) -> bool:
    fa, fb = fold(a).replace(" ", ""), fold(b).replace(" ", "")
    if not fa or not fb:
        return False
    return fa == fb or SequenceMatcher(None, fa, fb).ratio() >= 0.85


def _db(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Classification | Tier | CustomerKind):
            value = value.value
        out[key] = value
    return out


def _auditable(customer: Customer) -> dict[str, Any]:
    return {k: getattr(customer, k) for k in ("name", "kind", "short_name", "phones", "email", "address", "region",
                                              "industry", "source", "owner_id", "classification", "tier", "tags")}
