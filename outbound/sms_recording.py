"""The local SMS sink: records what would have gone out instead of sending it.

One fake for the ``SmsSender`` port, used by unit tests and by the console demo. It behaves like
the real adapter where tests need it to: it returns Twilio-shaped ids (``SM`` + 32 hex digits) and
segment counts, and it can be scripted to fail for given numbers with the port's exceptions
(an opt-out, a rate limit once then success, ...).

    sender = RecordingSmsSender(on_send=lambda sent: print(sent.describe()))
    sender.opt_out("+886912345678")            # sends to it raise SmsRecipientOptedOut
    sender.fail_for("+15551234567", SmsTransientError("busy", retry_after=2), times=1)
"""

from __future__ import annotations

import copy
import inspect
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crm.messaging.ports.sms import (
    OutgoingSms,
    SmsError,
    SmsReceipt,
    SmsRecipientOptedOut,
    SmsSender,
)
from crm.messaging.sms_text import count_segments

__all__ = ["FailedAttempt", "RecordingSmsSender", "ScriptedFailure", "SentSms", "fake_message_sid"]


def fake_message_sid() -> str:
    """A Twilio-shaped message id: SM followed by 32 lowercase hex digits."""
    return "SM" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class SentSms:
    """One message that would have gone out."""

    message: OutgoingSms
    receipt: SmsReceipt
    at: datetime

    @property
    def to(self) -> str:
        return self.message.to

    @property
    def body(self) -> str:
        return self.message.body

    def describe(self) -> str:
        """The console's line for this message."""
        return f"📱 SMS to {self.message.to} : {self.message.body}"


@dataclass(slots=True)
class ScriptedFailure:
    """Fail sends to ``number`` (None: to any number) with ``error``; ``remaining`` None means always."""

    number: str | None
    error: SmsError
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    message: OutgoingSms
    error: SmsError


OnSend = Callable[[SentSms], Awaitable[object] | object]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(repr=False)
class RecordingSmsSender(SmsSender):
    """Records sends; see the module docstring.

    ``sent`` holds successful sends in order, ``failed`` the scripted failures, ``attempts`` every
    message passed to ``send``. ``on_send`` (sync or async) is called after each successful send.
    """

    on_send: OnSend | None = None
    clock: Callable[[], datetime] = _utcnow
    sent: list[SentSms] = field(default_factory=list)
    failed: list[FailedAttempt] = field(default_factory=list)
    attempts: list[OutgoingSms] = field(default_factory=list)
    _failures: list[ScriptedFailure] = field(default_factory=list, init=False, repr=False)

    def __repr__(self) -> str:
        return f"RecordingSmsSender(sent={len(self.sent)}, failed={len(self.failed)})"

    def fail_for(self, number: str, error: SmsError, *, times: int | None = None) -> None:
        """Make sends to ``number`` raise ``error``: ``times`` times, then succeed (None: every time)."""
        self._failures.append(ScriptedFailure(number, error, times))

    def fail_next(self, error: SmsError, *, times: int = 1) -> None:
        """Make the next ``times`` sends, to any number, raise ``error``."""
        self._failures.append(ScriptedFailure(None, error, times))

    def opt_out(self, number: str) -> None:
        """Behave as Twilio does after the recipient replied STOP: error 21610 on every send."""
        self.fail_for(number, SmsRecipientOptedOut())

    def clear_failures(self, number: str | None = None) -> None:
        """Forget scripted failures for ``number`` (an opt-in again), or all of them."""
        self._failures = [f for f in self._failures if number is not None and f.number != number]

    async def send(self, message: OutgoingSms) -> SmsReceipt:
        self.attempts.append(message)
        failure = self._take_failure(message.to)
        if failure is not None:
            self.failed.append(FailedAttempt(message, failure))
            # A fresh copy each time, so repeated raises do not share one traceback.
            raise copy.copy(failure)
        segments = count_segments(message.body).segments
        receipt = SmsReceipt(provider_id=fake_message_sid(), status="queued", segments=segments)
        sent = SentSms(message, receipt, self.clock())
        self.sent.append(sent)
        if self.on_send is not None:
            result = self.on_send(sent)
            if inspect.isawaitable(result):
                await result
        return receipt

    def _take_failure(self, number: str) -> SmsError | None:
        for failure in self._failures:
            if failure.number is not None and failure.number != number:
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
            return failure.error
        return None

    # Views for assertions.

    def bodies_to(self, number: str) -> list[str]:
        return [s.message.body for s in self.sent if s.message.to == number]

    @property
    def last(self) -> SentSms | None:
        return self.sent[-1] if self.sent else None

    @property
    def duplicate_keys(self) -> list[str]:
        """Idempotency keys that went out more than once (a double send the outbox should prevent)."""
        counts = Counter(s.message.idempotency_key for s in self.sent)
        return [key for key, count in counts.items() if count > 1]

    def clear(self) -> None:
        """Forget what was recorded (scripted failures stay)."""
        self.sent.clear()
        self.failed.clear()
        self.attempts.clear()
