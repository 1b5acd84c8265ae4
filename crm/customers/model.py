"""Customers, their contacts, leads, what happened with them, and what happens next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class CustomerKind(StrEnum):
    COMPANY = "company"
    PERSON = "person"


class Classification(StrEnum):
    POTENTIAL = "potential"
    GENERAL = "general"
    LOYAL = "loyal"


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class LeadStatus(StrEnum):
    NEW = "new"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    DROPPED = "dropped"


class InteractionKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    MEETING = "meeting"
    MESSAGE = "message"
    EMAIL = "email"
    OTHER = "other"


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class EntityKind(StrEnum):
    CUSTOMER = "customer"
    CONTACT = "contact"
    LEAD = "lead"


@dataclass(frozen=True, kw_only=True)
class Party:
    """What customers, contacts and leads all are: someone with a name, phone numbers, an e-mail and notes.

    Keyword-only, so each kind adds its own required fields without caring about the order of the base's."""

    name: str
    phones: tuple[str, ...] = ()
    email: str | None = None
    notes: str | None = None


@dataclass(frozen=True, kw_only=True)
class CustomerFields(Party):
    """The fields of a customer a rep types: shared by the stored record and the draft being validated."""

    kind: CustomerKind = CustomerKind.COMPANY
    short_name: str | None = None
    address: str | None = None
    region: str | None = None
    industry: str | None = None
    source: str | None = None
    classification: Classification = Classification.POTENTIAL
    tier: Tier | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Customer(CustomerFields):
    id: int
    owner_id: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_contact_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Contact(Party):
    id: int
    customer_id: int
    title: str | None = None
    birthday: date | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Lead(Party):
    id: int
    owner_id: int
    company_name: str | None = None
    source: str | None = None
    status: LeadStatus = LeadStatus.NEW
    drop_reason: str | None = None
    converted_customer_id: int | None = None
    converted_contact_id: int | None = None
    created_at: datetime | None = None
    last_contact_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class AboutParty:
    """Whom an interaction or a follow-up is about: a customer (and maybe one of its contacts) or a lead."""

    id: int
    customer_id: int | None = None
    lead_id: int | None = None
    contact_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Interaction(AboutParty):
    author_id: int
    kind: InteractionKind
    text: str
    occurred_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    deleted_at: datetime | None = None  # undone right after it was logged


@dataclass(frozen=True, kw_only=True)
class FollowUp(AboutParty):
    owner_id: int
    text: str
    due_at: datetime
    status: FollowUpStatus = FollowUpStatus.OPEN
    interaction_id: int | None = None
    remind_state: str = "pending"
    reminded_at: datetime | None = None
    reminded_late: bool = False
    completed_at: datetime | None = None


@dataclass(frozen=True)
class SearchHit:
    entity: EntityKind
    id: int
    title: str
    subtitle: str | None = None
    owner_id: int | None = None
    customer_kind: CustomerKind | None = None  # customers only: company or person, for the icon


@dataclass(frozen=True)
class CustomerCard:
    customer: Customer
    owner_name: str
    contacts: tuple[Contact, ...] = ()
    open_followups: tuple[FollowUp, ...] = ()
    last_interaction: Interaction | None = None
    next_followup: FollowUp | None = None
    recent_interactions: tuple[Interaction, ...] = field(default_factory=tuple)
    sections: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    """What other modules show on the card (``CardSection``), by section name, when the card was asked for it."""

    @property
    def recent_messages(self) -> Sequence[Any]:
        """Latest messages sent to the customer that the reader may see (the messaging module's section)."""
        return self.sections.get("messages", ())
