"""Send announcements to their recipients, edit the messages already delivered, and nudge once.

A repeating job (REMINDER_TICK_SECONDS, and once at start, so a scheduled announcement whose time came while the
bot was down goes out then), plus a round started right after someone publishes. Each round:
1. releases scheduled announcements that are due (lists their recipients);
2. claims due recipient rows in batches (crm/announcements/delivery.py: the rows are the queue; a restart loses
   nothing and sends nothing twice) and pushes them a few at a time through ``deliver`` — the Application's
   rate limiter (bot/rate_limit.py) keeps every request of the bot, these and the replies in conversations, under
   Telegram's ~30 messages a second; a 429 pauses the round for Telegram's ``retry_after``;
3. nudges, once, those who have not read a delivered announcement after ANNOUNCEMENT_NUDGE_HOURS, when it is a
   working hour where they are.

A pinned announcement is also pinned in each recipient's chat (unpinned on withdrawal, pinned again on restore).

What an outcome means: delivered → ``sent`` (its message id kept for later edits); blocked / chat gone /
rejected → ``failed`` for a send (the reader still has /board), ``sent`` for an edit (the old text stays); flood
control or network trouble → back to ``pending`` after a back-off; a time-out → counted as sent without a message
id, because it may well have arrived and an announcement must not come twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.announcements.delivery import KICK_KEY, Claim, DeliveryService
from crm.announcements.model import DueMessage
from crm.announcements.ports import Outcome as RowOutcome
from outbound.telegram_send import Delivery, Outcome, deliver, pin
from views.announcements.texts import message, nudge, translator
from views.core.text import truncate

log = logging.getLogger(__name__)

DISPATCHER_KEY = "announcement_dispatcher"
JOB_NAME = "announcements"
BATCH = 200
CONCURRENCY = 10
NETWORK_BACKOFF = timedelta(seconds=30)
LEASE_MARGIN = timedelta(seconds=30)


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class RoundStats:
    released: int = 0
    sent: int = 0
    edited: int = 0
    failed: int = 0
    deferred: int = 0
    released_claims: int = 0
    nudged: int = 0

    def add(self, other: RoundStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def busy(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


class AnnouncementDispatcher:
    def __init__(self, delivery: DeliveryService, bot: Bot, catalogs: Any, *, default_locale: str = "en",
                 worker: str | None = None, batch: int = BATCH, concurrency: int = CONCURRENCY) -> None:
        self.delivery = delivery
        self.bot = bot
        self.catalogs = catalogs
        self.default_locale = default_locale
        self.worker = worker or worker_id()
        self.batch = batch
        self.concurrency = concurrency
        self._lock = asyncio.Lock()  # one round at a time in this process (job, kick, tests, console)
        self._pause_until = 0.0

    def _paused(self) -> bool:
        return time.monotonic() < self._pause_until

    async def run_once(self) -> RoundStats:
        total = RoundStats()
        async with self._lock:
            total.released = await self.delivery.release_due()
            while not self._paused():
                claim = await self.delivery.claim(self.worker, self.batch)
                if not claim.messages:
                    break
                total.add(await self._deliver(claim))
                if len(claim.messages) < self.batch:
                    break
            if not self._paused():
                total.nudged = await self._nudge()
        return total

    async def _deliver(self, claim: Claim) -> RoundStats:
        stats = RoundStats()
        deadline = claim.lease_until - LEASE_MARGIN
        messages = list(claim.messages)
        for start in range(0, len(messages), self.concurrency):
            chunk = messages[start:start + self.concurrency]
            if self._paused() or self.delivery.clock.now() >= deadline:
                rest = [m.recipient.id for m in messages[start:]]
                await self.delivery.release(self.worker, rest)
                stats.released_claims += len(rest)
                break
            # Marked before the requests leave: a crash from here on never sends these again.
            held = await self.delivery.sending(self.worker, [m.recipient.id for m in chunk])
            ours = [m for m in chunk if m.recipient.id in held]
            results = await asyncio.gather(*(self._push(m) for m in ours))
            outcomes = [self._outcome(m, result, stats) for m, result in zip(ours, results, strict=True)]
            await self.delivery.finish(self.worker, outcomes)
        return stats

    async def _push(self, due: DueMessage) -> Delivery | None:
        recipient = due.recipient
        if recipient.chat_id is None:
            return None
        t = translator(self.catalogs, recipient.locale or self.default_locale)
        text, rows = message(t, due.announcement, due.author_name, read=recipient.read)
        result = await deliver(self.bot, recipient.chat_id, truncate(text), rows,
                               edit_message_id=recipient.message_id)
        if due.announcement.pinned and result.outcome is Outcome.SENT:
            await self._pin(due, recipient.chat_id, result)
        return result

    async def _pin(self, due: DueMessage, chat_id: int, result: Delivery) -> None:
        """A pinned announcement is pinned in each recipient's chat when it arrives, unpinned when it is withdrawn
        and pinned again when restored (an edit of a live one pins again: harmless, Telegram keeps one pin per
        message). Best effort: the message is what matters, and /board lists pinned ones first anyway — a pin
        that fails is logged, not retried (a crash between the send and the pin leaves it unpinned)."""
        message_id = result.sent.message_id if result.sent is not None else due.recipient.message_id
        if message_id is None:
            return
        outcome = await pin(self.bot, chat_id, message_id, pinned=not due.announcement.withdrawn)
        if outcome.retry_after is not None:  # flood control: the next sends wait as for a refused message
            self._pause_until = max(self._pause_until, time.monotonic() + outcome.retry_after)
        if not outcome.ok:
            log.info("announcement %s: %s in staff %s's chat failed: %s", due.announcement.id,
                     "unpin" if due.announcement.withdrawn else "pin", due.recipient.staff_id, outcome.error)

    def _outcome(self, due: DueMessage, result: Delivery | None, stats: RoundStats) -> RowOutcome:
        recipient, version = due.recipient, due.announcement.version
        now = self.delivery.clock.now()
        editing = recipient.message_id is not None
        if result is None:  # no Telegram account to send to: /board is where they read it
            stats.failed += 1
            return RowOutcome(recipient.id, "failed", version)
        if result.retry_after is not None:  # flood control holds every chat, not just this one
            self._pause_until = max(self._pause_until, time.monotonic() + result.retry_after)
            stats.deferred += 1
            return RowOutcome(recipient.id, "pending", version, next_at=now + timedelta(seconds=result.retry_after + 1))
        if result.outcome is Outcome.RETRY:
            log.warning("announcement %s to staff %s not sent (%s); retrying later", due.announcement.id,
                        recipient.staff_id, result.error)
            stats.deferred += 1
            return RowOutcome(recipient.id, "pending", version, next_at=now + NETWORK_BACKOFF)
        if result.outcome in (Outcome.GONE, Outcome.FAILED):
            log.info("announcement %s to staff %s: %s", due.announcement.id, recipient.staff_id, result.error)
            stats.failed += 1
            return RowOutcome(recipient.id, "sent" if editing else "failed", version)
        if result.outcome is Outcome.UNCERTAIN:
            log.warning("announcement %s to staff %s timed out; counted as sent", due.announcement.id,
                        recipient.staff_id)
        if editing:
            stats.edited += 1
        else:
            stats.sent += 1
        message_id = result.sent.message_id if result.sent is not None else None
        return RowOutcome(recipient.id, "sent", version, message_id=message_id)

    async def _nudge(self) -> int:
        due = await self.delivery.nudges_due()
        count = 0
        for start in range(0, len(due), self.concurrency):
            chunk = due[start:start + self.concurrency]

            async def one(item: Any) -> bool:
                recipient = item.recipient
                if recipient.chat_id is None:
                    return False
                t = translator(self.catalogs, recipient.locale or self.default_locale)
                text, rows = nudge(t, item.announcement, item.author_name)
                result = await deliver(self.bot, recipient.chat_id, truncate(text), rows)
                if not result.ok:
                    # Once means once: a nudge that did not arrive is not tried again.
                    log.info("nudge for announcement %s to staff %s: %s", item.announcement.id,
                             recipient.staff_id, result.error)
                return result.ok

            count += sum(await asyncio.gather(*(one(item) for item in chunk)))
        return count


def dispatcher_for(app: Application[Any, Any, Any, Any, Any, Any]) -> AnnouncementDispatcher:
    dispatcher = app.bot_data.get(DISPATCHER_KEY)
    if not isinstance(dispatcher, AnnouncementDispatcher):
        settings = app.bot_data["settings"]
        dispatcher = AnnouncementDispatcher(app.bot_data["services"].announcements.delivery, app.bot,
                                            app.bot_data["i18n"], default_locale=settings.default_locale)
        app.bot_data[DISPATCHER_KEY] = dispatcher
    return dispatcher


async def announcements_job(context: Any) -> None:
    """Job callback: release, send, edit and nudge what is due now."""
    stats = await dispatcher_for(context.application).run_once()
    if stats.busy:
        log.info("announcements: %s", stats)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    def kick() -> None:
        app.create_task(dispatcher_for(app).run_once(), name="announcements_kick")

    app.bot_data[KICK_KEY] = kick
    if app.job_queue is None:
        log.warning("no job queue: announcements will go out only when published, not at a scheduled time")
        return
    tick = float(app.bot_data["settings"].reminder_tick_seconds)
    app.job_queue.run_once(announcements_job, when=0, name=JOB_NAME + "_at_start",
                           job_kwargs={"id": JOB_NAME + "_at_start", "misfire_grace_time": None})
    app.job_queue.run_repeating(
        announcements_job, interval=tick, first=tick, name=JOB_NAME,
        job_kwargs={"id": JOB_NAME, "misfire_grace_time": 30, "coalesce": True, "max_instances": 1},
    )


__all__ = ["AnnouncementDispatcher", "RoundStats", "dispatcher_for", "register"]
