"""The outbox: every message crmbot sends to the outside world (SMS, email, fax, bot pushes) is first a row.

A service that causes a message calls :func:`enqueue` inside its own unit of work, so the message exists if and
only if the business change committed. The dispatcher (``outbound/dispatch.py``) later claims due rows, sends
them through the channel's adapter and records what the provider said. Nothing is sent from memory.

Statuses: ``held`` (waiting for a review, e.g. an SMS from a rep without ``sms.send_direct``) → ``queued`` →
``sending`` (claimed by a dispatcher, with a lease) → ``sent`` (the provider accepted it) → ``delivered``; or
``failed`` (with the provider's reason) / ``cancelled`` (consent withdrawn, campaign stopped, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from crm.messaging.ports.sms import MAX_BODY_CHARS, is_e164

if TYPE_CHECKING:
    from crm.unit_of_work import UnitOfWork

__all__ = [
    "AttachmentSpec",
    "NewOutboxMessage",
    "OutboxAttachment",
    "OutboxChannel",
    "OutboxMessage",
    "OutboxStatus",
    "cancel_pending",
    "enqueue",
    "release_held",
]

MAX_KEY_LENGTH = 200
MAX_BODY_LENGTH = 100_000


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

# (filename, mime type, the bytes — or a reference to a stored document such as "tg:<file_id>")
AttachmentSpec = tuple[str, str, bytes | str]


@dataclass(frozen=True, slots=True)
class OutboxAttachment:
    filename: str
    mime_type: str
    content: bytes | None = None
    ref: str | None = None
    size: int = 0

    @classmethod
    def from_spec(cls, spec: AttachmentSpec) -> OutboxAttachment:
        filename, mime_type, payload = spec
        if not filename or "/" in filename or "\\" in filename or "\n" in filename or "\r" in filename:
            raise ValueError(f"attachment filename must be a plain file name: {filename!r}")
        if "/" not in mime_type:
            raise ValueError(f"attachment mime type must look like type/subtype: {mime_type!r}")
        if isinstance(payload, bytes):
            return cls(filename, mime_type, content=payload, size=len(payload))
        if not payload:
            raise ValueError("attachment reference must not be empty")
        return cls(filename, mime_type, ref=payload, size=0)


@dataclass(frozen=True)
class NewOutboxMessage:
    """A message to write into the outbox. ``idempotency_key`` is unique: enqueueing the same key twice returns
    the first row instead of sending twice (a double-pressed button, a retried job)."""

    channel: OutboxChannel
    recipient: str
    body: str
    _: KW_ONLY
    subject: str | None = None
    html: str | None = None
    attachments: Sequence[AttachmentSpec] = ()
    topic: str | None = None
    campaign_id: int | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None
    requested_by: int | None
    idempotency_key: str
    held: bool = False
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        channel = OutboxChannel(self.channel)
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "attachments", tuple(self.attachments))
        if not self.idempotency_key or len(self.idempotency_key) > MAX_KEY_LENGTH:
            raise ValueError(f"idempotency_key must be 1-{MAX_KEY_LENGTH} characters")
        if not self.recipient:
            raise ValueError("an outbox message needs a recipient")
        if not self.body and not self.attachments:
            raise ValueError("an outbox message needs a body or an attachment")
        if len(self.body) > MAX_BODY_LENGTH:
            raise ValueError("message body too long")
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise ValueError("not_before must be timezone-aware")
        _check_channel_rules(channel, self.recipient, self.body, len(self.attachments))
        for spec in self.attachments:
            OutboxAttachment.from_spec(spec)


def _check_channel_rules(channel: OutboxChannel, recipient: str, body: str, attachments: int) -> None:
    if channel in (OutboxChannel.SMS, OutboxChannel.FAX) and not is_e164(recipient):
        raise ValueError(f"{channel} recipient must be an E.164 number: {recipient!r}")
    if channel is OutboxChannel.SMS and (not body or len(body) > MAX_BODY_CHARS or attachments):
        raise ValueError(f"an SMS is 1-{MAX_BODY_CHARS} characters of text, without attachments")
    if channel is OutboxChannel.FAX and attachments != 1:
        raise ValueError("a fax carries exactly one document")
    if channel is OutboxChannel.EMAIL and ("@" not in recipient or any(ch.isspace() for ch in recipient)):
        raise ValueError(f"not an e-mail address: {recipient!r}")
    if channel is OutboxChannel.TELEGRAM and not recipient.lstrip("-").isdigit():
        raise ValueError(f"Telegram recipient must be a chat id: {recipient!r}")


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


async def enqueue(uow: UnitOfWork, msg: NewOutboxMessage) -> OutboxMessage:
    """Write ``msg`` in the caller's unit of work (it is sent only if the caller commits).

    Returns the existing row when a message with the same idempotency key is already there.
    """
    return await uow.messaging.outbox.add(msg)


async def release_held(uow: UnitOfWork, *, campaign_id: int | None = None, message_ids: Sequence[int] = ()) -> int:
    """Held → queued (a reviewer approved them). Returns how many rows moved."""
    if campaign_id is None and not message_ids:
        return 0
    return await uow.messaging.outbox.release_held(campaign_id=campaign_id, message_ids=tuple(message_ids))


async def cancel_pending(uow: UnitOfWork, *, channel: OutboxChannel, recipient: str | None = None,
                         campaign_id: int | None = None, reason: str) -> int:
    """Cancel messages not yet handed to a dispatcher (held or queued) to ``recipient`` and/or of a campaign.

    A message a dispatcher has already claimed is left alone: the send policy, consulted right before each
    send, stops it if consent was withdrawn meanwhile.
    """
    if recipient is None and campaign_id is None:
        raise ValueError("cancel_pending needs a recipient or a campaign_id")
    return await uow.messaging.outbox.cancel_pending(channel=OutboxChannel(channel), recipient=recipient,
                                           campaign_id=campaign_id, reason=reason[:1000])
