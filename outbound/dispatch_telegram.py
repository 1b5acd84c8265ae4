"""Telegram adapters for the dispatcher: bot pushes (the ``telegram`` channel) and documents kept by Telegram.

Both need the running bot, which exists only once the Application is built: ``bind(bot)`` is called then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from crm.messaging.ports.outbox import PushPermanentError, PushTransientError

__all__ = ["TelegramBotPusher", "TelegramFileStore"]

MAX_TEXT = 4096
REF_PREFIX = "tg:"


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Bound:
    def __init__(self) -> None:
        self._bot: Any = None

    def bind(self, bot: Any) -> None:
        self._bot = bot

    def _require_bot(self) -> Any:
        if self._bot is None:
            raise PushTransientError("the bot is not running yet")
        return self._bot


class TelegramBotPusher(_Bound):
    """Sends HTML text to a chat. Flood control (429) comes back as ``retry_after`` for the whole channel."""

    async def push(self, chat_id: int, html: str) -> str:
        bot = self._require_bot()
        text = html if len(html) <= MAX_TEXT else html[: MAX_TEXT - 1] + "…"
        try:
            message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                             disable_web_page_preview=True)
        except RetryAfter as exc:
            raise PushTransientError(f"flood control: {exc.message}", _seconds(exc.retry_after)) from exc
        except Forbidden as exc:  # the user blocked the bot or left the chat
            raise PushPermanentError(exc.message) from exc
        except BadRequest as exc:  # chat not found, unparsable HTML: the same text would fail again
            raise PushPermanentError(exc.message) from exc
        except (TimedOut, NetworkError) as exc:
            raise PushTransientError(f"Telegram unreachable: {exc.message}") from exc
        return str(message.message_id)


class TelegramFileStore(_Bound):
    """Resolves ``tg:<file_id>`` attachment references by downloading the file from Telegram."""

    async def fetch(self, ref: str) -> bytes:
        if not ref.startswith(REF_PREFIX):
            raise KeyError(ref)
        bot = self._require_bot()
        try:
            file = await bot.get_file(ref[len(REF_PREFIX):])
            return bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # the file id is no longer valid
            raise KeyError(ref) from exc
