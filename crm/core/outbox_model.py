"""What an outbox row is: its channel, its status and the row itself (``crm/messaging/outbox.py`` writes them).

Kept in the core rather than in crm/messaging because the customer card (crm/customers) shows the messages
sent to a customer, and crm/messaging depends on crm/customers: the card may name these types without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["FINAL_STATUSES", "PENDING_STATUSES", "OutboxChannel", "OutboxMessage", "OutboxStatus"]


class OutboxChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    FAX = "fax"
    TELEGRAM = "telegram"


class OutboxStatus(StrEnum):
    HELD = "held"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_pending(self) -> bool:
        """Not yet handed to the provider (and so still cancellable, except while ``sending``)."""
        return self in PENDING_STATUSES


FINAL_STATUSES = frozenset({OutboxStatus.DELIVERED, OutboxStatus.FAILED, OutboxStatus.CANCELLED})
PENDING_STATUSES = frozenset({OutboxStatus.HELD, OutboxStatus.QUEUED, OutboxStatus.SENDING})


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row."""

    id: int
    channel: OutboxChannel
    status: OutboxStatus
    recipient: str
    body: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    subject: str | None = None
    html: str | None = None
    topic: str | None = None
    campaign_id: int | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None
    requested_by: int | None = None
    attempts: int = 0
    claimed_by: str | None = None
    provider_id: str | None = None
    error_code: str | None = None
    last_error: str | None = None
    segments: int | None = None
    notify_chat_id: int | None = None
    notify_message_id: int | None = None
    notify_locale: str | None = None
    notify_timezone: str | None = None
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    attachment_names: tuple[str, ...] = field(default_factory=tuple)
