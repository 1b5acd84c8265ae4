"""Telegram adapters for the dispatcher: bot pushes (the ``telegram`` channel) and documents kept by Telegram.

Both need the running bot, which exists only once the Application is built: ``bind(bot)`` is called then.
"""

from __future__ import annotations

from typing import Any

from telegram.error import BadRequest

from crm.messaging.ports.outbox import PushPermanentError, PushTransientError
from outbound.telegram_send import Outcome, deliver, truncate

__all__ = ["TelegramBotPusher", "TelegramFileStore"]

REF_PREFIX = "tg:"

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
        delivery = await deliver(bot, chat_id, truncate(html))
        if delivery.ok:
            return str(delivery.sent.message_id) if delivery.sent is not None else ""
        if delivery.retry_after is not None:
            raise PushTransientError(f"flood control: {delivery.error}", delivery.retry_after)
        if delivery.outcome in (Outcome.GONE, Outcome.FAILED):  # blocked, chat gone, unparsable: fails again
            raise PushPermanentError(delivery.error)
        # Network trouble, and a time-out too: the outbox tries again, accepting that a timed-out text may come twice.
        raise PushTransientError(f"Telegram unreachable: {delivery.error}")


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
