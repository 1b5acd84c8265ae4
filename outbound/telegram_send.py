"""Sending and editing the bot's HTML messages without building PTB objects on either side.

``Bot.send_message`` builds an ``InlineKeyboardMarkup`` of ``InlineKeyboardButton`` objects only to turn them
back into dicts for the request, and parses Telegram's answer — the whole message, keyboard included — into a
``Message`` that the bot then throws away. For a customer card that is ~10% of the CPU an update costs. Here the
keyboard is built as the dicts the Bot API takes and the answer is read for the two numbers a caller may keep
(chat and message id). The call still goes through ``Bot._post``: the same defaults, the same rate limiter and
the same errors (``BadRequest``, ``RetryAfter``, ``Forbidden``...) as ``send_message``.

``deliver`` is the one place that turns those errors into what became of a push (``Delivery``), for the
scheduled jobs and the outbox's Telegram channel.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

Button = tuple[str, str]  # (label, callback_data)

_NO_PREVIEW = {"is_disabled": True}
MAX_TEXT = 4096  # Telegram's limit for a message's text


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Sent:
    chat_id: int
    message_id: int


def inline_keyboard(rows: Sequence[Sequence[Button]]) -> dict[str, Any] | None:
    built = [[{"text": label, "callback_data": data} for label, data in row] for row in rows if row]
    return {"inline_keyboard": built} if built else None


def _sent(result: Any) -> Sent | None:
    # Telegram answers an edit of an inline message with True; a send, or an edit of a chat message, with the
    # message itself.
    if isinstance(result, dict) and isinstance(result.get("chat"), dict) and "message_id" in result:
        return Sent(int(result["chat"]["id"]), int(result["message_id"]))
    return None


def _message(text: str, rows: Sequence[Sequence[Button]], preview: bool, **where: Any) -> dict[str, Any]:
    data: dict[str, Any] = {**where, "text": text, "parse_mode": "HTML"}
    markup = inline_keyboard(rows)
    if markup is not None:
        data["reply_markup"] = markup
    if not preview:
        data["link_preview_options"] = _NO_PREVIEW
    return data


async def send_html(bot: Bot, chat_id: int, text: str, rows: Sequence[Sequence[Button]] = (), *,
                    preview: bool = False) -> Sent | None:
    return _sent(await bot._post("sendMessage", _message(text, rows, preview, chat_id=chat_id)))


async def edit_html(bot: Bot, chat_id: int, message_id: int, text: str, rows: Sequence[Sequence[Button]] = (), *,
                    preview: bool = False) -> Sent | None:
    return _sent(await bot._post("editMessageText",
                                 _message(text, rows, preview, chat_id=chat_id, message_id=message_id)))


# ---- pushes ---------------------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    SENT = "sent"
    GONE = "gone"  # blocked the bot, never started it, or the chat no longer exists: the same answer every time
    FAILED = "failed"  # Telegram refused this message (bad HTML, too long...): sending it again fails again
    RETRY = "retry"  # flood control, network trouble, a bot-wide problem: the message may go through later
    UNCERTAIN = "uncertain"  # timed out after the request left: it may well have arrived


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one push. ``retry_after`` is set on flood control: Telegram's wait, for every chat."""

    outcome: Outcome
    sent: Sent | None = None
    retry_after: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


# A BadRequest that says the recipient is unreachable rather than that the message is wrong.
_GONE_HINTS = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated", "bot was blocked",
               "bot was kicked", "not enough rights", "have no rights")


async def deliver(bot: Bot, chat_id: int, text: str, rows: Sequence[Sequence[Button]] = (), *,
                  edit_message_id: int | None = None, preview: bool = False) -> Delivery:
    """Send (or, with ``edit_message_id``, edit) an HTML message nobody is waiting for in a chat, and say what
    became of it instead of raising: a scheduled push, a notice, an outbox message. Each caller decides what an
    outcome means for it (retry, give up, count as sent). An edit that changes nothing counts as sent: the chat
    already shows the text. Errors that are not Telegram's are not caught."""
    try:
        if edit_message_id is None:
            sent = await send_html(bot, chat_id, text, rows, preview=preview)
        else:
            sent = await edit_html(bot, chat_id, edit_message_id, text, rows, preview=preview)
    except TelegramError as exc:
        return _refused(exc, editing=edit_message_id is not None)
    return Delivery(Outcome.SENT, sent)


async def deliver_photo(bot: Bot, chat_id: int, photo: bytes, caption: str = "") -> Delivery:
    """``deliver`` for a picture (a digest's chart): the same outcomes, the caption in HTML."""
    try:
        message = await bot.send_photo(chat_id, photo, caption=caption or None, parse_mode="HTML",
                                       filename="chart.png")
    except TelegramError as exc:
        return _refused(exc, editing=False)
    return Delivery(Outcome.SENT, Sent(message.chat.id, message.message_id))


async def pin(bot: Bot, chat_id: int, message_id: int, *, pinned: bool = True) -> Delivery:
    """Pin a delivered message in its chat (quietly: no notification), or unpin it. An unpin of a message that is
    no longer pinned (the reader unpinned it) counts as done."""
    try:
        if pinned:
            await bot.pin_chat_message(chat_id, message_id, disable_notification=True)
        else:
            await bot.unpin_chat_message(chat_id, message_id)
    except TelegramError as exc:
        if not pinned and isinstance(exc, BadRequest) and "not found" in exc.message.lower():
            return Delivery(Outcome.SENT)
        return _refused(exc, editing=False)
    return Delivery(Outcome.SENT)


def _refused(exc: TelegramError, *, editing: bool) -> Delivery:
    """What Telegram's error means for a push. Errors that are not Telegram's are not caught."""
    if isinstance(exc, RetryAfter):
        return Delivery(Outcome.RETRY, retry_after=retry_seconds(exc), error=exc.message)
    if isinstance(exc, TimedOut):
        return Delivery(Outcome.UNCERTAIN, error=exc.message)
    if isinstance(exc, Forbidden):
        return Delivery(Outcome.GONE, error=exc.message)
    if isinstance(exc, BadRequest):
        message = exc.message.lower()
        if editing and "not modified" in message:
            return Delivery(Outcome.SENT)
        gone = any(hint in message for hint in _GONE_HINTS)
        return Delivery(Outcome.GONE if gone else Outcome.FAILED, error=exc.message)
    return Delivery(Outcome.RETRY, error=exc.message)  # the network, or the bot itself: nothing about this chat


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta; accept both
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
