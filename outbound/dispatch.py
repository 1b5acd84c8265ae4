"""The outbox dispatcher: claims due rows, sends them through the channel adapters, records the outcome.

Per channel: a token bucket paces sends to the configured rate (``SMS_MAX_PER_SECOND``, ...), a semaphore bounds
concurrent requests, and a 429's ``retry_after`` pauses the whole channel. Rows are claimed in small batches
with a lease (``status='sending'``, ``claimed_until``); outcomes are written together every ``FLUSH_SECONDS``,
so a crash can only repeat the sends that were in flight or not yet written at that moment: their rows are still
``sending`` and are claimed again when the lease expires. A delivery report that arrives before its send's
outcome is written is kept by the storage layer and applied by that write (``mark_sent_many``).

Failures:
- transient (429, 5xx, network) → back to ``queued`` after ``min(cap, base * 2**attempts) * uniform(0.5, 1)``
  seconds (at least the provider's ``retry_after``), ``failed`` after ``max_attempts``;
- permanent (invalid number, 5xx SMTP reply, ...) → ``failed`` with the provider's reason and code;
- an SMS whose request may have reached Twilio before the failure (a timeout after the request was written,
  ``maybe_sent``) → ``failed`` with the reason "may have been sent": Twilio has no idempotency key, so a blind
  retry could text the customer twice; the rep sees the reason and decides;
- carrier opt-out (Twilio 21610) → ``failed`` and the ``ConsentRecorder`` is told, in the same transaction;
- channel not configured → stays ``queued`` and is retried every few minutes, without using up attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm.core.clock import Clock
from crm.messaging.outbox import OutboxAttachment, OutboxChannel, OutboxMessage
from crm.messaging.ports.email import (
    Attachment,
    EmailAddress,
    EmailNotConfigured,
    EmailPermanentError,
    EmailSender,
    EmailTransientError,
    OutgoingEmail,
)
from crm.messaging.ports.fax import (
    FaxDocument,
    FaxNotConfigured,
    FaxPermanentError,
    FaxSender,
    FaxTransientError,
    OutgoingFax,
)
from crm.messaging.ports.outbox import (
    AllowAllPolicy,
    AttachmentStore,
    Cancel,
    ConsentRecorder,
    Defer,
    DispatchMetrics,
    NoConsentRecords,
    NullMetrics,
    PushPermanentError,
    PushTransientError,
    SendPolicy,
    TelegramPusher,
)
from crm.messaging.ports.sms import (
    OPTED_OUT_ERROR_CODE,
    OutgoingSms,
    SmsNotConfigured,
    SmsPermanentError,
    SmsRecipientOptedOut,
    SmsSender,
    SmsTransientError,
)
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "MAYBE_SENT_REASON",
    "ChannelAdapters",
    "ChannelLimit",
    "Dispatcher",
    "RetryPolicy",
    "TokenBucket",
    "worker_name",
]

log = logging.getLogger(__name__)

MAYBE_SENT_REASON = "may have been sent"
# How long a send's outcome may wait in memory before it is written (see _ChannelState.results).
FLUSH_SECONDS = 0.02
_RNG = random.Random()
# Channels whose messages the send policy (consent, quiet hours) is asked about right before sending.
POLICY_CHANNELS = frozenset({OutboxChannel.SMS, OutboxChannel.EMAIL})


def worker_name() -> str:
    """Unique per process (and per restart), so a restarted worker never mistakes an old claim for its own."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class TokenBucket:
    """Paces acquisitions to ``rate`` per second, allowing a small burst; ``pause`` honours a provider's
    ``retry_after`` for the whole channel. Waiters are served in order (one lock), so concurrency does not
    raise the rate. ``rate <= 0`` means unlimited."""

    def __init__(self, rate: float, *, burst: float | None = None, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.rate = rate
        # At least 2: a sleep that overshoots leaves more than one token, and a cap of 1 would throw it away.
        self.capacity = burst if burst is not None else max(2.0, rate / 10)
        self._now = now
        self._sleep = sleep
        self._tokens = min(1.0, self.capacity)
        self._updated = now()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0 and self._paused_until <= self._now():
            return
        async with self._lock:
            while True:
                now = self._now()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if self.rate <= 0:
                    return
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                # A little slack: float rounding can leave 0.999…, and a sleep of 1e-18 s never ends that.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep(max((1 - self._tokens) / self.rate, 1e-6))

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)
        self._tokens = 0.0


@dataclass(frozen=True)
class ChannelLimit:
    per_second: float
    concurrency: int = 4


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 5.0
    cap: float = 3600.0
    max_attempts: int = 8
    not_configured_delay: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Exponential backoff with jitter (``attempts`` = failures so far, from 0)."""
        jitter = (rng or _RNG).uniform(0.5, 1)
        wait: float = min(self.cap, self.base * 2 ** min(attempts, 40)) * jitter
        return max(wait, retry_after or 0.0)


@dataclass
class ChannelAdapters:
    """The adapter of each channel; None = not configured (rows of that channel stay queued)."""

    sms: SmsSender | None = None
    email: EmailSender | None = None
    fax: FaxSender | None = None
    telegram: TelegramPusher | None = None
    attachments: AttachmentStore | None = None

    def has(self, channel: OutboxChannel) -> bool:
        return getattr(self, channel.value) is not None


# ---- outcomes of one send ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    provider_id: str | None
    segments: int | None = None


@dataclass(frozen=True)
class _Retry:
    reason: str
    code: str | None = None
    retry_after: float | None = None
    pause_channel: bool = False


@dataclass(frozen=True)
class _Failed:
    reason: str
    code: str | None = None
    opted_out: bool = False


@dataclass(frozen=True)
class _NotConfigured:
    reason: str


_Outcome = _Sent | _Retry | _Failed | _NotConfigured


def _code(value: object) -> str | None:
    return None if value is None else str(value)[:20]


@dataclass
class _ChannelState:
    bucket: TokenBucket
    semaphore: asyncio.Semaphore
    batch: int
    limit: ChannelLimit
    warned_unconfigured: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Outcomes waiting to be written: one transaction per flush instead of one per message (SQLite has one
    # writer; a commit per message would cap the channel near a hundred messages a second on a busy disk).
    results: list[tuple[OutboxMessage, _Outcome]] = field(default_factory=list)
    flush_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Dispatcher:
    """Drives the outbox. ``run_once`` is called by the scheduler job every tick; it drains due rows for at
    most ``budget`` seconds (so shutdown never waits long) and returns how many rows it handled."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        adapters: ChannelAdapters,
        *,
        limits: dict[OutboxChannel, ChannelLimit] | None = None,
        policy: SendPolicy | None = None,
        consent: ConsentRecorder | None = None,
        metrics: DispatchMetrics | None = None,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(seconds=60),
        status_callback_url: str | None = None,
        worker: str | None = None,
        budget: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.adapters = adapters
        self.policy: SendPolicy = policy or AllowAllPolicy()
        self.consent: ConsentRecorder = consent or NoConsentRecords()
        self.metrics: DispatchMetrics = metrics or NullMetrics()
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.status_callback_url = status_callback_url
        self.worker = worker or worker_name()
        self.budget = budget
        self._rng = rng or random.Random()
        defaults = {OutboxChannel.SMS: ChannelLimit(1.0), OutboxChannel.EMAIL: ChannelLimit(5.0),
                    OutboxChannel.FAX: ChannelLimit(1.0, 2), OutboxChannel.TELEGRAM: ChannelLimit(25.0, 8)}
        defaults.update(limits or {})
        self._channels = {channel: self._state(limit) for channel, limit in defaults.items()}

    @staticmethod
    def _state(limit: ChannelLimit) -> _ChannelState:
        concurrency = max(1, limit.concurrency)
        rate = limit.per_second
        # Enough rows per claim to keep every slot busy and about half a second of sending queued locally.
        batch = max(concurrency, min(200, math.ceil(rate / 2))) if rate > 0 else max(concurrency, 100)
        return _ChannelState(TokenBucket(rate), asyncio.Semaphore(concurrency), batch, limit)

    def attach_bot(self, bot: Any) -> None:
        for adapter in (self.adapters.telegram, self.adapters.attachments):
            bind = getattr(adapter, "bind", None)
            if bind is not None:
                bind(bot)

    def bucket(self, channel: OutboxChannel) -> TokenBucket:
        return self._channels[channel].bucket

    async def run_once(self, *, budget: float | None = None) -> int:
        deadline = time.monotonic() + (self.budget if budget is None else budget)
        async with self._uow(write=False) as uow:
            due = await uow.messaging.outbox.due_channels(self._clock.now())
        ready = []
        for channel in sorted(due):
            if self.adapters.has(channel):
                ready.append(channel)
            elif not self._channels[channel].warned_unconfigured:
                self._channels[channel].warned_unconfigured = True
                log.warning("outbox has %s messages waiting, but %s is not configured", channel, channel)
        counts = await asyncio.gather(*(self._drain(channel, deadline) for channel in ready))
        return sum(counts)

    async def _drain(self, channel: OutboxChannel, deadline: float) -> int:
        state = self._channels[channel]
        handled = 0
        stop = asyncio.Event()
        flusher = asyncio.create_task(self._flush_loop(state, stop))
        try:
            while time.monotonic() < deadline:
                rows = await self._claim(channel, state)
                if not rows:
                    break
                for row in rows:
                    await state.semaphore.acquire()
                    task = asyncio.create_task(self._process(channel, row, state))
                    state.tasks.add(task)
                    task.add_done_callback(state.tasks.discard)
                handled += len(rows)
        finally:
            if state.tasks:
                await asyncio.gather(*list(state.tasks), return_exceptions=True)
            stop.set()
            await flusher
        return handled

    async def _flush_loop(self, state: _ChannelState, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
            await self._flush(state)

    async def _flush(self, state: _ChannelState) -> None:
        """Write the buffered outcomes in one transaction. A failed write keeps them for the next flush."""
        async with state.flush_lock:
            batch, state.results = state.results, []
            if not batch:
                return
            try:
                counted = await self._record_batch(batch)
            except Exception:
                log.exception("outbox: could not record %d outcomes; trying again", len(batch))
                state.results[:0] = batch
                return
        for row, result in counted:
            self.metrics.count_result(row.channel, result)

    async def _claim(self, channel: OutboxChannel, state: _ChannelState) -> Sequence[OutboxMessage]:
        now = self._clock.now()
        # The last row of a batch waits batch/rate seconds for its turn: the lease covers that too.
        wait = state.batch / state.limit.per_second if state.limit.per_second > 0 else 0.0
        lease_until = now + self.lease + timedelta(seconds=wait)
        async with self._uow() as uow:
            rows = await uow.messaging.outbox.claim_due(channel, now, self.worker, lease_until, state.batch)
            await uow.commit()
        return rows

    async def _process(self, channel: OutboxChannel, row: OutboxMessage, state: _ChannelState) -> None:
        try:
            if channel in POLICY_CHANNELS and not await self._allowed(row):
                return
            await state.bucket.acquire()
            started = time.perf_counter()
            outcome = await self._send(channel, row)
            self.metrics.observe_send(channel, time.perf_counter() - started)
            if isinstance(outcome, _Retry) and outcome.pause_channel and outcome.retry_after:
                state.bucket.pause(outcome.retry_after)
            state.results.append((row, outcome))
        except Exception:  # a bug or the database: the lease brings the row back, the loop goes on
            log.exception("outbox message %s: could not process", row.id)
        finally:
            state.semaphore.release()

    async def _allowed(self, row: OutboxMessage) -> bool:
        decision = await self.policy.decide(row, self._clock.now())
        if isinstance(decision, Defer):
            async with self._uow() as uow:
                await uow.messaging.outbox.reschedule(row.id, self.worker, due_at=decision.until,
                                                      reason=decision.reason,
                                            code=None, count_attempt=False, at=self._clock.now())
                await uow.commit()
            self.metrics.count_result(row.channel, "deferred")
            return False
        if isinstance(decision, Cancel):
            async with self._uow() as uow:
                await uow.messaging.outbox.mark_cancelled(row.id, self.worker, reason=decision.reason,
                                                          at=self._clock.now())
                await uow.commit()
            self.metrics.count_result(row.channel, "cancelled")
            return False
        return True

    async def _record_batch(self, batch: list[tuple[OutboxMessage, _Outcome]]) -> list[tuple[OutboxMessage, str]]:
        now = self._clock.now()
        counted: list[tuple[OutboxMessage, str]] = []
        async with self._uow() as uow:
            sent = [(row, outcome) for row, outcome in batch if isinstance(outcome, _Sent)]
            if sent:
                early = await uow.messaging.outbox.mark_sent_many(self.worker, [(row.id, outcome.provider_id,
                                                                                 outcome.segments)
                                                                      for row, outcome in sent], at=now)
                counted += [(row, "sent") for row, _ in sent]
                for message, report in early:  # delivery reports that arrived before this write
                    if message.channel is OutboxChannel.SMS and report.code == str(OPTED_OUT_ERROR_CODE):
                        await self.consent.opted_out_by_carrier(uow, message.recipient)
            for row, outcome in batch:
                if not isinstance(outcome, _Sent):
                    counted.append((row, await self._apply(uow, row, outcome, now)))
            await uow.commit()
        return counted

    async def _apply(self, uow: UnitOfWork, row: OutboxMessage, outcome: _Outcome, now: datetime) -> str:
        box = uow.messaging.outbox
        if isinstance(outcome, _Failed):
            held = await box.mark_failed(row.id, self.worker, reason=outcome.reason, code=outcome.code, at=now)
            if held and outcome.opted_out and row.channel is OutboxChannel.SMS:
                await self.consent.opted_out_by_carrier(uow, row.recipient)
            result = "failed"
        elif isinstance(outcome, _NotConfigured):
            log.error("%s is not configured: %s (message %s stays queued)", row.channel, outcome.reason, row.id)
            held = await box.reschedule(row.id, self.worker, due_at=now + timedelta(
                seconds=self.retry.not_configured_delay), reason=outcome.reason, code=None,
                count_attempt=False, at=now)
            result = "not_configured"
        elif isinstance(outcome, _Retry) and row.attempts + 1 < self.retry.max_attempts:
            delay = self.retry.delay(row.attempts, outcome.retry_after, self._rng)
            held = await box.reschedule(row.id, self.worker, due_at=now + timedelta(seconds=delay),
                                        reason=outcome.reason, code=outcome.code, count_attempt=True, at=now)
            result = "retry"
        else:
            assert isinstance(outcome, _Retry)
            reason = f"gave up after {row.attempts + 1} attempts: {outcome.reason}"
            held = await box.mark_failed(row.id, self.worker, reason=reason, code=outcome.code, at=now)
            result = "failed"
        if not held:
            log.warning("outbox message %s: claim lost before recording %s (lease too short?)", row.id, result)
        return result

    # ---- one send through the channel's adapter ------------------------------------------------------------

    async def _send(self, channel: OutboxChannel, row: OutboxMessage) -> _Outcome:
        try:
            if channel is OutboxChannel.SMS:
                return await self._send_sms(row)
            if channel is OutboxChannel.EMAIL:
                return await self._send_email(row)
            if channel is OutboxChannel.FAX:
                return await self._send_fax(row)
            return await self._send_push(row)
        except ValueError as exc:  # the row cannot be turned into a valid message: retrying will not help
            return _Failed(f"invalid message: {exc}")
        except KeyError as exc:
            return _Failed(f"attachment no longer available: {exc}")
        except Exception as exc:
            log.exception("outbox message %s: unexpected error from the %s adapter", row.id, channel)
            return _Retry(f"unexpected error: {type(exc).__name__}")

    async def _send_sms(self, row: OutboxMessage) -> _Outcome:
        sender = self.adapters.sms
        assert sender is not None
        message = OutgoingSms(to=row.recipient, body=row.body, idempotency_key=row.idempotency_key,
                              status_callback_url=self.status_callback_url)
        try:
            receipt = await sender.send(message)
        except SmsRecipientOptedOut as exc:
            return _Failed(exc.reason, _code(exc.code), opted_out=True)
        except SmsPermanentError as exc:
            return _Failed(exc.reason, _code(exc.code))
        except SmsTransientError as exc:
            if exc.maybe_sent:
                return _Failed(f"{MAYBE_SENT_REASON}: {exc.reason}", _code(exc.code))
            return _Retry(exc.reason, _code(exc.code), exc.retry_after, pause_channel=exc.retry_after is not None)
        except SmsNotConfigured as exc:
            return _NotConfigured(exc.reason)
        return _Sent(receipt.provider_id, receipt.segments)

    async def _attachments(self, row: OutboxMessage) -> list[OutboxAttachment]:
        async with self._uow(write=False) as uow:
            stored = list(await uow.messaging.outbox.attachments(row.id))
        loaded = []
        for attachment in stored:
            content = attachment.content
            if content is None:
                if self.adapters.attachments is None or attachment.ref is None:
                    raise KeyError(attachment.filename)
                content = await self.adapters.attachments.fetch(attachment.ref)
            loaded.append(OutboxAttachment(attachment.filename, attachment.mime_type, content,
                                           attachment.ref, len(content)))
        return loaded

    async def _send_email(self, row: OutboxMessage) -> _Outcome:
        sender = self.adapters.email
        assert sender is not None
        files = await self._attachments(row)
        email = OutgoingEmail(
            to=[EmailAddress(row.recipient)], subject=row.subject or "", text=row.body, html=row.html,
            attachments=[Attachment(a.filename, a.content or b"", a.mime_type) for a in files],
            idempotency_key=row.idempotency_key,
        )
        try:
            receipt = await sender.send(email)
        except EmailPermanentError as exc:
            return _Failed(exc.reason, _code(exc.code))
        except EmailTransientError as exc:
            return _Retry(exc.reason, _code(exc.code))
        except EmailNotConfigured as exc:
            return _NotConfigured(str(exc) or "email is not configured")
        return _Sent(receipt.message_id)

    async def _send_fax(self, row: OutboxMessage) -> _Outcome:
        sender = self.adapters.fax
        assert sender is not None
        files = await self._attachments(row)
        if len(files) != 1:
            return _Failed("a fax needs exactly one document")
        document = FaxDocument(files[0].filename, files[0].content or b"", files[0].mime_type)
        fax = OutgoingFax(to=row.recipient, document=document, idempotency_key=row.idempotency_key,
                          cover_text=row.body or None)
        try:
            receipt = await sender.send(fax)
        except FaxPermanentError as exc:
            return _Failed(exc.reason, _code(exc.status))
        except FaxTransientError as exc:
            return _Retry(exc.reason, _code(exc.status), exc.retry_after)
        except FaxNotConfigured as exc:
            return _NotConfigured(str(exc) or "fax is not configured")
        return _Sent(receipt.provider_id)

    async def _send_push(self, row: OutboxMessage) -> _Outcome:
        pusher = self.adapters.telegram
        assert pusher is not None
        try:
            provider_id = await pusher.push(int(row.recipient), row.body)
        except PushTransientError as exc:
            return _Retry(exc.reason, None, exc.retry_after, pause_channel=exc.retry_after is not None)
        except PushPermanentError as exc:
            return _Failed(exc.reason)
        return _Sent(provider_id)
