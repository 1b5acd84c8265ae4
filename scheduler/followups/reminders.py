"""Push due follow-up reminders to their owners' Telegram chats.

A repeating job (REMINDER_TICK_SECONDS, and once at start so that anything due while the bot was down goes out
at once, marked late). Each tick claims due rows in batches through ``ReminderService`` — the database decides
who sends what, so two bot processes never push the same reminder — and pushes them through ``deliver``:
the Application's AIORateLimiter keeps to Telegram's ~30 messages/s overall; this module spaces its pushes evenly
at 28/s (so the limiter never has to absorb a burst) and keeps to about one message per second per chat (short
bursts of three allowed), sending to several chats at once.

Outcomes (crm/reminders.py explains the states): delivered → ``sent``; blocked / chat gone / rejected →
``failed`` (a retry would get the same answer; the follow-up stays open and is on the agenda); flood control or
network trouble → retried after a back-off; a time-out → counted as sent, because the message may well have
arrived and a reminder must never come twice; owner inactive or customer in the trash → parked for an hour.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.followups.reminders import Claim, DueReminder, ReminderService
from outbound.telegram_send import Outcome, deliver
from views.core.text import truncate
from views.followups.texts import reminder_message, translator

log = logging.getLogger(__name__)

DISPATCHER_KEY = "reminder_dispatcher"
JOB_NAME = "reminders"
BATCH = 100
CONCURRENCY = 8
NETWORK_BACKOFF = timedelta(seconds=30)
# Stop taking new sends from a batch this long before its lease ends, so a slow batch is released, not raced.
LEASE_MARGIN = timedelta(seconds=30)


def worker_id() -> str:
    """Unique per process (and per dispatcher): the claim owner written into each row."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class DispatchStats:
    sent: int = 0
    late: int = 0
    failed: int = 0
    deferred: int = 0
    parked: int = 0
    released: int = 0
    lost_claims: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class ChatPacer:
    """About one message per second per chat, with short bursts: Telegram's limit for a single chat."""

    def __init__(self, burst: int = 3, interval: float = 1.0) -> None:
        self.burst = burst
        self.window = burst * interval
        self._sent: dict[int, deque[float]] = defaultdict(deque)

    async def wait(self, chat_id: int) -> None:
        times = self._sent[chat_id]
        while True:
            now = time.monotonic()
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.burst:
                times.append(now)
                return
            await asyncio.sleep(times[0] + self.window - now)


class RatePacer:
    """At most ``per_second`` pushes in any one-second window, a little under Telegram's bulk limit.

    AIORateLimiter (a leaky bucket) lets a burst through after a quiet spell, which a strict 30-per-second window
    answers with 429 and a pause for everyone; counting our own pushes in a sliding window avoids that and
    leaves room for the replies people are waiting for in conversations.
    """

    def __init__(self, per_second: int = 28, window: float = 1.0) -> None:
        self.per_second = per_second
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.per_second <= 0:
            return
        async with self._lock:  # one waiter at a time keeps the order and the count exact
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.per_second:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[0] + self.window - now)


class ReminderDispatcher:
    def __init__(self, reminders: ReminderService, bot: Bot, catalogs: Any, *, worker: str | None = None,
                 batch: int = BATCH, concurrency: int = CONCURRENCY, pacer: ChatPacer | None = None,
                 rate: RatePacer | None = None) -> None:
        self.reminders = reminders
        self.bot = bot
        self.catalogs = catalogs
        self.worker = worker or worker_id()
        self.batch = batch
        self.concurrency = concurrency
        self.pacer = pacer or ChatPacer()
        self.rate = rate or RatePacer()
        # One tick at a time in this process, also when a test or the console calls run_once beside the job.
        self._lock = asyncio.Lock()
        self._pause_until = 0.0

    async def run_once(self) -> DispatchStats:
        """Claim and push until nothing is due (or Telegram asks us to wait)."""
        total = DispatchStats()
        async with self._lock:
            while time.monotonic() >= self._pause_until:
                claim = await self.reminders.claim(self.worker, self.batch)
                if not claim.reminders:
                    break
                total.add(await self._deliver(claim))
                if len(claim.reminders) < self.batch:
                    break
        return total

    async def _deliver(self, claim: Claim) -> DispatchStats:
        stats = DispatchStats()
        by_chat: dict[int, list[DueReminder]] = defaultdict(list)
        for reminder in claim.reminders:
            if not reminder.deliverable or reminder.chat_id is None:
                # Kept for a handover, a reactivation or a restore from the trash: re-checked every hour.
                await self.reminders.park(self.worker, reminder.followup.id)
                stats.parked += 1
            else:
                by_chat[reminder.chat_id].append(reminder)
        gate = asyncio.Semaphore(self.concurrency)
        deadline = claim.lease_until - LEASE_MARGIN
        unsent: list[int] = []

        async def one_chat(chat_id: int, items: Sequence[DueReminder]) -> None:
            for index, reminder in enumerate(items):
                if time.monotonic() < self._pause_until or self.reminders.clock.now() >= deadline:
                    unsent.extend(r.followup.id for r in items[index:])
                    return
                await self.pacer.wait(chat_id)
                async with gate:
                    if time.monotonic() < self._pause_until:  # Telegram said wait while we queued
                        unsent.extend(r.followup.id for r in items[index:])
                        return
                    await self.rate.wait()
                    await self._push(chat_id, reminder, stats)

        await asyncio.gather(*(one_chat(chat, items) for chat, items in by_chat.items()))
        if unsent:
            await self.reminders.release(self.worker, unsent)
            stats.released += len(unsent)
        return stats

    async def _push(self, chat_id: int, reminder: DueReminder, stats: DispatchStats) -> None:
        followup = reminder.followup
        t = translator(self.catalogs, reminder.locale)
        text, rows = reminder_message(t, followup, reminder.target_name, reminder.timezone, late=reminder.late,
                                      now=self.reminders.clock.now(), note=reminder.note)
        delivery = await deliver(self.bot, chat_id, truncate(text), rows)
        if delivery.retry_after is not None:  # flood control holds every chat, not just this one
            wait = delivery.retry_after
            self._pause_until = max(self._pause_until, time.monotonic() + wait)
            await self.reminders.retry_later(self.worker, followup.id, timedelta(seconds=wait + 1))
            stats.deferred += 1
            return
        if delivery.outcome is Outcome.RETRY:
            log.warning("reminder %s not sent (%s); retrying later", followup.id, delivery.error)
            await self.reminders.retry_later(self.worker, followup.id, NETWORK_BACKOFF)
            stats.deferred += 1
            return
        if delivery.outcome in (Outcome.GONE, Outcome.FAILED):
            if delivery.outcome is Outcome.GONE:
                log.info("reminder %s not delivered, the owner blocked the bot or has no chat with it: %s",
                         followup.id, delivery.error)
            else:
                log.warning("reminder %s rejected by Telegram: %s", followup.id, delivery.error)
            await self.reminders.failed(self.worker, followup.id)
            stats.failed += 1
            return
        if delivery.outcome is Outcome.UNCERTAIN:
            # The request may have reached Telegram: sending again could deliver it twice.
            log.warning("reminder %s timed out; counted as sent", followup.id)
        if await self.reminders.sent(self.worker, reminder):
            stats.sent += 1
            stats.late += int(reminder.late)
        else:  # the lease ran out mid-send and another worker re-claimed it; say so loudly
            log.error("reminder %s: claim lost before it was marked sent", followup.id)
            stats.lost_claims += 1


def dispatcher_for(app: Application[Any, Any, Any, Any, Any, Any]) -> ReminderDispatcher:
    dispatcher = app.bot_data.get(DISPATCHER_KEY)
    if not isinstance(dispatcher, ReminderDispatcher):
        dispatcher = ReminderDispatcher(app.bot_data["services"].followups.reminders, app.bot, app.bot_data["i18n"])
        app.bot_data[DISPATCHER_KEY] = dispatcher
    return dispatcher


async def reminders_job(context: Any) -> None:
    """Job callback: push everything that is due now."""
    stats = await dispatcher_for(context.application).run_once()
    if stats.sent or stats.failed or stats.deferred or stats.lost_claims:
        log.info("reminders: %s", stats)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.job_queue is None:
        log.warning("no job queue: reminders will not be pushed (install python-telegram-bot[job-queue])")
        return
    tick = float(app.bot_data["settings"].reminder_tick_seconds)
    # APScheduler counts interval ticks from when the job was added (before the application starts), so the
    # first tick could come a whole interval after start; a one-off job runs at start, however late that is.
    app.job_queue.run_once(reminders_job, when=0, name=JOB_NAME + "_at_start",
                           job_kwargs={"id": JOB_NAME + "_at_start", "misfire_grace_time": None})
    app.job_queue.run_repeating(
        reminders_job, interval=tick, first=tick, name=JOB_NAME,
        job_kwargs={"id": JOB_NAME, "misfire_grace_time": 30, "coalesce": True, "max_instances": 1},
    )
