"""SMS subscriptions: topics, consent events, templates and campaigns under review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.money import Money


class ConsentStatus(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    NONE = "none"  # never asked: no consent event for this number and topic


class ConsentChannel(StrEnum):
    SMS = "sms"  # a keyword the number texted us
    IN_PERSON = "in_person"  # a rep recorded what the customer said, from chat
    IMPORT = "import"  # a list brought in with consent already given elsewhere
    CARRIER = "carrier"  # the provider refused to send (Twilio 21610): the number is blocked


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENDING = "sending"
    DONE = "done"


TEMPLATE_LOCALES: tuple[str, ...] = ("en", "zh-Hant", "zh-Hans")


@dataclass(frozen=True)
class Topic:
    """What a number can subscribe to. Marketing topics need an opt-in and respect quiet hours; the others
    (order and service updates) are transactional: sent unless the number opted out."""

    id: int
    key: str
    name_en: str
    name_zh_hant: str
    name_zh_hans: str
    marketing: bool

    def name(self, locale: str) -> str:
        if locale == "zh-Hant":
            return self.name_zh_hant or self.name_en
        if locale == "zh-Hans":
            return self.name_zh_hans or self.name_en
        return self.name_en


@dataclass(frozen=True)
class ConsentEvent:
    """One change of consent, kept for ever as proof: when, how, and the exact text received."""

    phone: str
    topic: str
    status: ConsentStatus
    changed_at: datetime
    channel: ConsentChannel
    evidence: str | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None
    recorded_by: int | None = None
    id: int = 0


@dataclass(frozen=True)
class PartyLink:
    """Who a phone number belongs to in the CRM (any may be None)."""

    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None

    @property
    def known(self) -> bool:
        return any(v is not None for v in (self.customer_id, self.contact_id, self.lead_id))


@dataclass(frozen=True)
class Recipient:
    """One number a campaign would text, with who it is in the CRM (for ``{name}``)."""

    phone: str
    name: str = ""
    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    body_en: str
    body_zh_hant: str
    body_zh_hans: str
    owner_id: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    def body(self, locale: str) -> str:
        return {"en": self.body_en, "zh-Hant": self.body_zh_hant, "zh-Hans": self.body_zh_hans}.get(locale, "")

    def body_for(self, locale: str) -> tuple[str, str]:
        """The body to send in ``locale``, falling back to another language that has one: (locale, body)."""
        order = (locale, *[other for other in ("en", "zh-Hant", "zh-Hans") if other != locale])
        for candidate in order:
            text = self.body(candidate)
            if text.strip():
                return candidate, text
        return locale, ""


@dataclass(frozen=True)
class Campaign:
    id: int
    template_id: int
    topic: str
    status: CampaignStatus
    requested_by: int
    created_at: datetime
    segment_id: int | None = None
    recipients: int = 0
    segments: int = 0
    estimated_cost: Decimal = Decimal(0)
    currency: str = "USD"
    sample: str = ""  # the first recipient's text, as the reviewer sees it
    reviewed_by: int | None = None
    reason: str | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None

    @property
    def cost(self) -> Money:
        return Money(self.estimated_cost, self.currency)
