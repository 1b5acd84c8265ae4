"""How a sent message's status looks: in /outbox, on a card, and in the notice the outbox job keeps up to date
in the sender's chat (which has no update to answer, so ``t`` is a translator bound to the sender's language)."""

from __future__ import annotations

from collections.abc import Callable

from crm.messaging.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from views.core.formatting import local_time

Translate = Callable[..., str]

ICON = {OutboxChannel.SMS: "📱", OutboxChannel.EMAIL: "✉️", OutboxChannel.FAX: "📠", OutboxChannel.TELEGRAM: "💬"}
STATUS_ICON = {OutboxStatus.HELD: "🕓", OutboxStatus.QUEUED: "⏳", OutboxStatus.SENDING: "⏳", OutboxStatus.SENT: "📤",
               OutboxStatus.DELIVERED: "✅", OutboxStatus.FAILED: "❌", OutboxStatus.CANCELLED: "🚫"}


def status_word(t: Translate, status: OutboxStatus) -> str:
    # Literal keys, one per status, so that the catalog check finds each of them.
    words: dict[OutboxStatus, Callable[[], str]] = {
        OutboxStatus.HELD: lambda: t("messaging.status_held"),
        OutboxStatus.QUEUED: lambda: t("messaging.status_queued"),
        OutboxStatus.SENDING: lambda: t("messaging.status_sending"),
        OutboxStatus.SENT: lambda: t("messaging.status_sent"),
        OutboxStatus.DELIVERED: lambda: t("messaging.status_delivered"),
        OutboxStatus.FAILED: lambda: t("messaging.status_failed"),
        OutboxStatus.CANCELLED: lambda: t("messaging.status_cancelled"),
    }
    return f"{STATUS_ICON[status]} {words[status]()}"


def channel_word(t: Translate, channel: OutboxChannel) -> str:
    words: dict[OutboxChannel, Callable[[], str]] = {
        OutboxChannel.SMS: lambda: t("messaging.channel_sms"),
        OutboxChannel.EMAIL: lambda: t("messaging.channel_email"),
        OutboxChannel.FAX: lambda: t("messaging.channel_fax"),
        OutboxChannel.TELEGRAM: lambda: t("messaging.channel_telegram"),
    }
    return words[channel]()


def snippet(message: OutboxMessage, limit: int = 40) -> str:
    text = message.subject or message.body or ", ".join(message.attachment_names)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(t: Translate, zone: str, message: OutboxMessage) -> str:
    """The chat message that follows one send: what, to whom, and its status (with the reason if it failed)."""
    lines = [t("messaging.status_head", icon=ICON[message.channel], channel=channel_word(t, message.channel),
               to=message.recipient),
             status_word(t, message.status)]
    if message.status is OutboxStatus.HELD:
        lines.append(t("messaging.held_note"))
    if message.status in (OutboxStatus.FAILED, OutboxStatus.CANCELLED) and message.last_error:
        lines.append(t("messaging.reason", reason=message.last_error))
    elif message.status is OutboxStatus.QUEUED and message.last_error:
        lines.append(t("messaging.retrying", reason=message.last_error))
    when = message.finished_at or message.sent_at or message.created_at
    lines.append(t("messaging.updated", when=local_time(when, zone)))
    return "\n".join(lines)
