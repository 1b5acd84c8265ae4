"""Storage the SMS subscription and campaign services need."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from crm.customers.model import Customer
from crm.messaging.outbox import NewOutboxMessage, OutboxMessage
from crm.messaging.subscription_model import (
    Campaign,
    CampaignStatus,
    ConsentEvent,
    PartyLink,
    Recipient,
    Template,
    Topic,
)
from crm.organisation.model import Staff
from crm.organisation.permissions import ScopeFilter


class SubscriptionRepository(Protocol):
    async def topics(self) -> Sequence[Topic]: ...
    async def add_topics(self, topics: Sequence[Topic], at: datetime) -> None: ...
    async def add_consents(self, events: Sequence[ConsentEvent]) -> None:
        """Append consent events (one statement however many)."""
        ...
    async def latest(self, phones: Sequence[str]) -> Mapping[str, Mapping[str, ConsentEvent]]:
        """The latest event per topic for each phone: ``{phone: {topic: event}}``."""
        ...
    async def history(self, phone: str, *, limit: int = 50) -> Sequence[ConsentEvent]:
        """Newest first."""
        ...
    async def subscribers(self, topic: str, scope: ScopeFilter) -> Sequence[Recipient]:
        """Numbers whose latest event for ``topic`` is an opt-in, by phone, limited to those linked to a
        customer, contact or lead in ``scope`` (unlinked numbers only when the scope is everything)."""
        ...
    async def parties_by_phone(self, e164: str) -> PartyLink:
        """The customer, contact or lead (not deleted, not converted) with this number, if any."""
        ...
    async def staff_with_permission(self, operation: str) -> Sequence[Staff]:
        """Active staff whose role holds ``operation``."""
        ...
    async def default_lead_owner(self) -> int | None:
        """Who owns leads that arrive by themselves (an unknown number texting START): the first active
        holder of ``customers.handover``, else the first active staff member."""
        ...


class TemplateRepository(Protocol):
    async def add(self, template: Template) -> Template: ...
    async def get(self, template_id: int, *, include_deleted: bool = False) -> Template | None: ...
    async def update(self, template_id: int, **fields: Any) -> None: ...
    async def list(self, scope: ScopeFilter, *, offset: int = 0, limit: int = 20) -> Sequence[Template]: ...


class CampaignRepository(Protocol):
    async def add(self, campaign: Campaign) -> Campaign: ...
    async def get(self, campaign_id: int) -> Campaign | None: ...
    async def set_status(self, campaign_id: int, status: CampaignStatus, expected: CampaignStatus,
                         **fields: Any) -> bool:
        """Move from ``expected`` to ``status``; False when someone else moved it first."""
        ...
    async def list(self, scope: ScopeFilter, *, statuses: Sequence[CampaignStatus] | None = None,
                   offset: int = 0, limit: int = 20) -> Sequence[Campaign]:
        """Campaigns whose requester is in scope, newest first."""
        ...
    async def customers(self, ids: Sequence[int], scope: ScopeFilter) -> Sequence[Customer]:
        """These customers, not deleted and in scope, in id order."""
        ...
    async def progress(self, campaign_id: int) -> Mapping[str, int]:
        """The campaign's outbox rows per status."""
        ...
    async def held_messages(self, scope: ScopeFilter, *, limit: int = 50) -> Sequence[OutboxMessage]:
        """Single SMS (no campaign) held for review whose requester is in ``scope``, oldest first."""
        ...
    async def held_since(self, after_id: int, *, limit: int = 100) -> Sequence[OutboxMessage]:
        """Single SMS held for review with an id above ``after_id`` (to announce new ones), oldest first."""
        ...
    async def hold_many(self, messages: Sequence[NewOutboxMessage], at: datetime) -> None:
        """Put many held SMS into the outbox at once (a campaign); a repeated idempotency key adds nothing."""
        ...
    async def announced_up_to(self) -> int:
        """The highest held-message id reviewers were told about (0 at first)."""
        ...
    async def advance_announced(self, old: int, new: int) -> bool:
        """Move the mark from ``old`` to ``new``; False when another process moved it first."""
        ...
    async def cancel_held(self, message_id: int, reason: str, at: datetime) -> bool:
        """Held → cancelled (a reviewer rejected it); False when it is no longer held."""
        ...
