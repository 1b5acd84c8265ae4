"""What the outbox needs from storage and from its neighbours, as Protocols.

- ``OutboxRepository`` (``uow.messaging.outbox``): SQL in ``storage/outbox_repositories.py``.
- ``SendPolicy``: consulted by the dispatcher right before each SMS or e-mail goes out (consent, quiet hours).
- ``InboundSmsHandler``: what to do with an SMS a customer sent us (keywords such as STOP); returns the reply.
- ``ConsentRecorder``: told when the carrier says a number opted out (Twilio error 21610).
- ``TelegramPusher`` / ``AttachmentStore``: bot pushes and stored documents, for the dispatcher.
- ``DispatchMetrics``: counters and timings the dispatcher reports (Prometheus in ``bot/http.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from crm.messaging.outbox import NewOutboxMessage, OutboxAttachment, OutboxChannel, OutboxMessage, OutboxStatus
from crm.organisation.permissions import ScopeFilter

if TYPE_CHECKING:
    from crm.unit_of_work import UnitOfWork

__all__ = [
    "SEND",
    "AllowAllPolicy",
    "AttachmentStore",
    "Cancel",
    "ConsentRecorder",
    "Decision",
    "Defer",
    "DispatchMetrics",
    "EarlyReport",
    "IgnoreInboundSms",
    "InboundSmsHandler",
    "NoConsentRecords",
    "NullMetrics",
    "OutboxRepository",
    "OutboxWorker",
    "PushPermanentError",
    "PushTransientError",
    "Send",
    "SendPolicy",
    "TelegramPusher",
]


@dataclass(frozen=True, slots=True)
class EarlyReport:
    """A delivery report for a provider id that no row carries yet.

    Twilio may call back before the dispatcher's batched write has stored the message SID; the report is kept
    and applied, under the usual transition rules, in the transaction that stores that SID.
    """

    provider_id: str
    status: OutboxStatus  # delivered / failed: the only reports that change a row
    code: str | None
    reason: str | None
    received_at: datetime


class OutboxRepository(Protocol):
    async def add(self, msg: NewOutboxMessage) -> OutboxMessage:
        """Insert (status held or queued); on a repeated idempotency key, return the existing row unchanged."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...
    async def by_provider_id(self, provider_id: str) -> OutboxMessage | None: ...
    async def attachments(self, message_id: int) -> Sequence[OutboxAttachment]: ...
    async def release_held(self, *, campaign_id: int | None, message_ids: Sequence[int]) -> int: ...
    async def cancel_pending(self, *, channel: OutboxChannel, recipient: str | None, campaign_id: int | None,
                             reason: str) -> int: ...

    async def due_channels(self, now: datetime) -> set[OutboxChannel]:
        """Channels with work: queued rows that are due, or claims whose lease expired (a crashed worker)."""
        ...

    async def claim_due(self, channel: OutboxChannel, now: datetime, worker: str, lease_until: datetime,
                        limit: int) -> Sequence[OutboxMessage]:
        """Atomically take due rows of one channel (status → sending): no two workers get the same row."""
        ...

    async def mark_sent(self, message_id: int, worker: str, *, provider_id: str | None, segments: int | None,
                        at: datetime) -> bool:
        """False when this worker no longer holds the claim (its lease expired and someone else took it).
        Early reports for ``provider_id`` are applied as in ``mark_sent_many``."""
        ...

    async def mark_sent_many(self, worker: str, sent: Sequence[tuple[int, str | None, int | None]], *,
                             at: datetime) -> Sequence[tuple[OutboxMessage, EarlyReport]]:
        """``mark_sent`` for many rows at once: (message id, provider id, segments).

        Early reports kept for these provider ids are then applied (each once, oldest first, sent → delivered /
        failed only) and removed, in the caller's transaction. Returns them with the row as it ended up, so the
        caller can act on their error codes (a carrier opt-out) in that same transaction.
        """
        ...

    async def mark_failed(self, message_id: int, worker: str, *, reason: str, code: str | None,
                          at: datetime) -> bool: ...
    async def mark_cancelled(self, message_id: int, worker: str, *, reason: str, at: datetime) -> bool: ...

    async def reschedule(self, message_id: int, worker: str, *, due_at: datetime, reason: str | None,
                         code: str | None, count_attempt: bool, at: datetime) -> bool:
        """Back to queued, not before ``due_at`` (a retry, or a deferral by the send policy)."""
        ...

    async def apply_provider_status(self, provider_id: str, status: OutboxStatus, *, code: str | None,
                                    reason: str | None, at: datetime) -> OutboxMessage | None:
        """A delivery report: moves sent → delivered/failed (never backwards). None when no row has that id."""
        ...

    async def keep_early_report(self, report: EarlyReport) -> None:
        """Keep a report that ``apply_provider_status`` found no row for (same transaction, after it), so that
        ``mark_sent``/``mark_sent_many`` apply it when the provider id is stored."""
        ...

    async def purge_early_reports(self, received_before: datetime) -> int:
        """Forget kept reports that never found their row; returns how many."""
        ...

    async def recent(self, scope: ScopeFilter, *, customer_id: int | None = None,
                     requested_by: int | None = None, limit: int = 10) -> Sequence[OutboxMessage]:
        """Newest first; only rows whose requester is in ``scope``."""
        ...

    async def set_notify(self, message_id: int, chat_id: int, chat_message_id: int, *, locale: str | None = None,
                         timezone: str | None = None) -> None:
        """Show status changes by editing this chat message, in this language and time zone."""
        ...

    async def has_notices(self) -> bool: ...

    async def take_notices(self, limit: int) -> Sequence[OutboxMessage]:
        """Rows whose status changed since the requester was last shown it; the flag is cleared."""
        ...

    async def flag_notice(self, message_id: int) -> None:
        """Show this row's status again on the next round (a push failed)."""
        ...

    async def depth(self) -> Mapping[tuple[OutboxChannel, OutboxStatus], int]:
        """Rows per channel and status, for the metrics endpoint."""
        ...


# ---- the send policy -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Go ahead."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Not now (quiet hours): back to the queue until ``until``."""

    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """Never (no consent, opted out): the row becomes ``cancelled`` with this reason."""

    reason: str


Decision = Send | Defer | Cancel
SEND = Send()


class SendPolicy(Protocol):
    async def decide(self, message: OutboxMessage, now: datetime) -> Decision: ...


class AllowAllPolicy:
    """The default: every message may go out."""

    async def decide(self, message: OutboxMessage, now: datetime) -> Decision:
        return SEND


# ---- inbound SMS and carrier opt-outs -----------------------------------------------------------------------


class InboundSmsHandler(Protocol):
    async def __call__(self, from_e164: str, to_e164: str, body: str) -> str | None:
        """Handle a text a customer sent to our number; return the reply to send back, or None for none."""
        ...


class IgnoreInboundSms:
    """The default: records nothing and answers nothing."""

    async def __call__(self, from_e164: str, to_e164: str, body: str) -> str | None:
        return None


class ConsentRecorder(Protocol):
    async def opted_out_by_carrier(self, uow: UnitOfWork, phone: str) -> None:
        """The carrier refused a send because ``phone`` opted out (error 21610): record it in ``uow``."""
        ...


class NoConsentRecords:
    """The default: nothing to record."""

    async def opted_out_by_carrier(self, uow: UnitOfWork, phone: str) -> None:
        return None


# ---- Telegram pushes and stored documents ----------------------------------------------------------------


class PushTransientError(Exception):
    """Try again later; ``retry_after`` is Telegram's flood-control hint in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PushPermanentError(Exception):
    """The chat cannot be reached (blocked the bot, chat not found, bad text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TelegramPusher(Protocol):
    async def push(self, chat_id: int, html: str) -> str:
        """Send ``html`` to the chat; return the message id. Raise PushTransientError / PushPermanentError."""
        ...


class AttachmentStore(Protocol):
    async def fetch(self, ref: str) -> bytes:
        """The bytes of a stored document (``tg:<file_id>``, ...); KeyError when it no longer exists."""
        ...


# ---- the dispatcher, as the scheduler job sees it -------------------------------------------------------------


class OutboxWorker(Protocol):
    async def run_once(self, *, budget: float | None = None) -> int:
        """Send what is due, for at most ``budget`` seconds; return how many messages were handled."""
        ...

    def attach_bot(self, bot: Any) -> None:
        """Give the Telegram adapters the running bot (it exists only once the Application is built)."""
        ...


# ---- metrics -------------------------------------------------------------------------------------------------


class DispatchMetrics(Protocol):
    def observe_send(self, channel: OutboxChannel, seconds: float) -> None: ...
    def count_result(self, channel: OutboxChannel, result: str) -> None:
        """``result``: sent / retry / failed / deferred / cancelled."""
        ...


class NullMetrics:
    def observe_send(self, channel: OutboxChannel, seconds: float) -> None:
        return None

    def count_result(self, channel: OutboxChannel, result: str) -> None:
        return None
