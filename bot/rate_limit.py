"""Telegram's flood limits, kept by computing when each request may go.

Telegram allows about 30 messages a second to different chats and 20 a minute to one group, and answers
anything faster with 429 and ``retry_after`` (see ../docs/decisions.md). PTB's ``AIORateLimiter`` keeps the same
limits with aiolimiter's leaky buckets, whose waiting tasks wake up and re-check again and again: measured with
the bot answering faster than 30 a second, that cost 2–3 ms of CPU per message — more than the rest of the
update. Here every request reserves its moment in a sliding window (the 30th request before it, plus one
second) and sleeps once, exactly until then, or not at all; under the limit the cost is a few comparisons.

As with AIORateLimiter: the overall limit applies to requests that name a chat, the group limit to groups and
channels (negative or @name chat ids), paid broadcasts get their own 1,000/s window, and a 429 pauses every
request for its ``retry_after`` before this one is retried (up to ``max_retries`` times).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]


class SlidingWindow:
    """At most ``limit`` starts in any ``period`` seconds. Reservations are made at the current time, in
    order, so the recorded starts stay sorted and the one ``limit`` places back decides."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._starts: deque[float] = deque()

    def earliest(self, now: float) -> float:
        starts = self._starts
        if len(starts) >= self.limit:
            return max(now, starts[-self.limit] + self.period)
        return now

    def record(self, start: float) -> None:
        self._starts.append(start)
        if len(self._starts) > self.limit:
            self._starts.popleft()

    def reserve(self, now: float) -> float:
        start = self.earliest(now)
        self.record(start)
        return start

    def idle(self, now: float) -> bool:
        return not self._starts or self._starts[-1] + self.period <= now


class _Group:
    """A group's window holds the moments its messages really went out; the lock makes them go in turn."""

    def __init__(self, limit: int, period: float) -> None:
        self.window = SlidingWindow(limit, period)
        self.lock = asyncio.Lock()


def _seconds(exc: RetryAfter) -> float:
    # PTB 22 keeps the timedelta privately; its public attribute warns unless PTB_TIMEDELTA is set.
    value: Any = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class TelegramRateLimiter(BaseRateLimiter[int]):
    # Telegram counts a message when it arrives, which is a little after it started here, and not always the same
    # little: the windows are 5% (a second for groups) longer than Telegram's, or arrivals bunched by the network
    # could make 31 in one of its seconds and earn a 429 with a pause for everyone.
    def __init__(self, *, overall: tuple[int, float] = (30, 1.05), group: tuple[int, float] = (20, 61.0),
                 paid_broadcast: tuple[int, float] = (1000, 1.0), max_retries: int = 0,
                 clock: Callable[[], float] | None = None) -> None:
        self._overall = SlidingWindow(*overall)
        self._group_limit = group
        self._groups: dict[int | str, _Group] = {}
        self._paid = SlidingWindow(*paid_broadcast)
        self._max_retries = max_retries
        self._clock = clock
        self._paused_until = 0.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _group(self, chat_id: int | str) -> _Group:
        group = self._groups.get(chat_id)
        if group is None:
            if len(self._groups) > 512:  # forget groups whose window is empty again
                now = self._now()
                self._groups = {k: g for k, g in self._groups.items()
                                if g.lock.locked() or not g.window.idle(now)}
            group = self._groups[chat_id] = _Group(*self._group_limit)
        return group

    async def _sleep_until(self, moment: float) -> None:
        # Twice at most: a 429 met meanwhile moves the pause past the moment we slept for.
        for _ in range(2):
            wait = max(moment, self._paused_until) - self._now()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _take_turn(self, data: dict[str, Any]) -> None:
        """Wait until this request may go, and count it."""
        if data.get("allow_paid_broadcast"):
            await self._sleep_until(self._paid.reserve(max(self._now(), self._paused_until)))
            return
        chat_id = data.get("chat_id")
        if chat_id is None:
            return  # getUpdates, answerCallbackQuery...: not messages to a chat
        with contextlib.suppress(TypeError, ValueError):  # "@channelname" stays a string
            chat_id = int(chat_id)
        if not (isinstance(chat_id, str) or chat_id < 0):
            await self._sleep_until(self._overall.reserve(max(self._now(), self._paused_until)))
            return
        group = self._group(chat_id)
        async with group.lock:
            await self._sleep_until(group.window.earliest(self._now()))
            await self._sleep_until(self._overall.reserve(max(self._now(), self._paused_until)))
            group.window.record(self._now())

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        max_retries = rate_limit_args or self._max_retries
        attempt = 0
        while True:
            await self._take_turn(data)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= max_retries:
                    log.warning("Telegram flood limit on %s after %d retries", endpoint, attempt)
                    raise
                attempt += 1
                pause = _seconds(exc)
                self._paused_until = max(self._paused_until, self._now() + pause + 0.1)
                log.info("Telegram flood limit on %s: retrying in %.1f s", endpoint, pause)
