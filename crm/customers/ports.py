"""Storage the customer services need: customers, contacts, leads, interactions, follow-ups, search terms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from crm.customers.bulk import BulkCustomerWriter
from crm.customers.model import (
    Contact,
    Customer,
    EntityKind,
    FollowUp,
    Interaction,
    InteractionKind,
    Lead,
    SearchHit,
)
from crm.organisation.permissions import Actor, ScopeFilter
from crm.organisation.ports import OrganisationUnitOfWork

R = TypeVar("R")


class Records(Protocol[R]):
    """What every kind of record's repository does: add one, read one by id, change some of its fields."""

    async def add(self, record: R) -> R: ...
    async def get(self, record_id: int, *, include_deleted: bool = False) -> R | None: ...
    async def update(self, record_id: int, **fields: Any) -> None: ...


class CustomerRepository(Records[Customer], Protocol):
    async def owner_department(self, owner_id: int) -> int | None: ...
    async def card_head(self, customer_id: int) -> tuple[Customer, str, int] | None:
        """A live customer with its owner's name and department, in one query (the card's hot path)."""
        ...
    async def list(self, scope: ScopeFilter, *, deleted: bool = False, owner_id: int | None = None,
                   offset: int = 0, limit: int = 20) -> Sequence[Customer]: ...
    async def count(self, scope: ScopeFilter, *, deleted: bool = False, owner_id: int | None = None) -> int: ...
    async def by_phone(self, e164: str) -> Sequence[Customer]: ...
    async def by_email(self, email: str) -> Sequence[Customer]: ...


class ContactRepository(Records[Contact], Protocol):
    async def for_customer(self, customer_id: int) -> Sequence[Contact]: ...


class LeadRepository(Records[Lead], Protocol):
    async def list(self, scope: ScopeFilter, *, open_only: bool = True, offset: int = 0,
                   limit: int = 20) -> Sequence[Lead]: ...


class InteractionRepository(Protocol):
    async def add(self, interaction: Interaction) -> Interaction: ...
    async def recent(self, *, customer_id: int | None = None, lead_id: int | None = None,
                     limit: int = 5) -> Sequence[Interaction]: ...
    async def get(self, interaction_id: int, *, include_deleted: bool = False) -> Interaction | None: ...
    async def by_author_since(self, author_id: int, kind: InteractionKind, since: datetime, *,
                              customer_id: int | None, lead_id: int | None,
                              contact_id: int | None) -> Sequence[Interaction]:
        """Live interactions of one author, kind and party (customer, lead and contact all equal, None
        included) created at or after ``since``, newest first."""
        ...
    async def soft_delete(self, interaction_id: int, at: datetime) -> None: ...
    async def move_lead_to_customer(self, lead_id: int, customer_id: int) -> None: ...


class FollowUpRepository(Protocol):
    async def add(self, followup: FollowUp) -> FollowUp: ...
    async def get(self, followup_id: int) -> FollowUp | None: ...
    async def update(self, record_id: int, **fields: Any) -> None: ...
    async def open_for(self, *, customer_id: int | None = None, lead_id: int | None = None) -> Sequence[FollowUp]: ...
    async def open_from_interaction(self, interaction_id: int) -> Sequence[FollowUp]:
        """Open follow-ups planned together with this interaction (the next step of one /log)."""
        ...
    async def for_owner_between(self, owner_id: int, start: datetime | None, end: datetime) -> Sequence[FollowUp]:
        """Open follow-ups of one owner due before ``end`` (and at or after ``start`` when given)."""
        ...
    async def move_lead_to_customer(self, lead_id: int, customer_id: int) -> None: ...
    async def claim_due(self, now: datetime, worker: str, lease_until: datetime, limit: int) -> Sequence[FollowUp]:
        """Atomically take pending reminders that are due (or whose lease expired): no two workers get one."""
        ...
    async def mark_reminded(self, followup_id: int, worker: str, at: datetime, late: bool) -> bool: ...


class SearchIndex(Protocol):
    async def replace(self, entity: EntityKind, entity_id: int, terms: Iterable[str]) -> None: ...
    async def remove(self, entity: EntityKind, entity_id: int) -> None: ...
    async def search(self, scope: ScopeFilter, exact: Sequence[str], prefixes: Sequence[str],
                     phone_suffix: str | None, *, limit: int) -> Sequence[SearchHit]:
        """Records (customers, contacts through their customer's owner, leads) having all terms, in scope."""
        ...

    async def named(self, scope: ScopeFilter, keys: Sequence[str], *, limit: int, starting: bool = False
                    ) -> Sequence[tuple[str, SearchHit]]:
        """Records in scope having any of these whole-name terms (search_terms.name_key) — or, ``starting``,
        a whole-name term that starts with one of them — each with the term it was found by."""
        ...


class CustomerRepositories(Protocol):
    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def leads(self) -> LeadRepository: ...
    @property
    def interactions(self) -> InteractionRepository: ...
    @property
    def followups(self) -> FollowUpRepository: ...
    @property
    def search(self) -> SearchIndex: ...
    @property
    def bulk(self) -> BulkCustomerWriter: ...


class CustomersUnitOfWork(OrganisationUnitOfWork, Protocol):
    @property
    def customers(self) -> CustomerRepositories: ...


class CardSection(Protocol):
    """Something another module shows on a customer's card, read in the card's own unit of work (the whole one
    at run time, so a section may read its own module's repositories)."""

    name: str

    async def read(self, uow: Any, actor: Actor, customer_id: int, limit: int) -> Sequence[Any]: ...
