"""Sending and editing the bot's HTML messages without building PTB objects on either side.

``Bot.send_message`` builds an ``InlineKeyboardMarkup`` of ``InlineKeyboardButton`` objects only to turn them
back into dicts for the request, and parses Telegram's answer — the whole message, keyboard included — into a
``Message`` that the bot then throws away. For a customer card that is ~10% of the CPU an update costs. Here the
keyboard is built as the dicts the Bot API takes and the answer is read for the two numbers a caller may keep
(chat and message id). The call still goes through ``Bot._post``: the same defaults, the same rate limiter and
the same errors (``BadRequest``, ``RetryAfter``, ``Forbidden``...) as ``send_message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot

Button = tuple[str, str]  # (label, callback_data)

_NO_PREVIEW = {"is_disabled": True}


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
