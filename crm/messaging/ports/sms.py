"""The SMS port: what the CRM needs from an SMS provider, and how a send can fail.

Adapters live in ``outbound/`` (``TwilioSmsSender``, ``RecordingSmsSender``). Services catch the
exceptions below and decide: retry later (``SmsTransientError``), give up on this message
(``SmsPermanentError``), record an opt-out (``SmsRecipientOptedOut``), or stop sending and alert an
administrator (``SmsNotConfigured``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlsplit

__all__ = [
    "MAX_BODY_CHARS",
    "OPTED_OUT_ERROR_CODE",
    "OutgoingSms",
    "SmsError",
    "SmsNotConfigured",
    "SmsPermanentError",
    "SmsReceipt",
    "SmsRecipientOptedOut",
    "SmsSender",
    "SmsTransientError",
    "is_e164",
]

# Twilio rejects longer bodies (error 21617); other providers have similar limits.
MAX_BODY_CHARS = 1600
# "Attempt to send to unsubscribed recipient": the recipient replied STOP (or similar) earlier.
OPTED_OUT_ERROR_CODE = 21610

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def is_e164(number: str) -> bool:
    """Return True for a phone number in E.164 form: ``+`` then up to 15 digits, no spaces."""
    return _E164.fullmatch(number) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingSms:
    """One text message to send.

    ``idempotency_key`` identifies the outbox entry. Providers such as Twilio have no idempotency key
    on message creation, so it cannot stop a double send by itself: adapters log it with the
    provider id so that a duplicate can be traced, and the outbox must record provider ids.
    """

    to: str
    body: str
    idempotency_key: str
    status_callback_url: str | None = None

    def __post_init__(self) -> None:
        if not is_e164(self.to):
            raise ValueError(f"SMS recipient must be an E.164 number like +886912345678, got {self.to!r}")
        if not self.body:
            raise ValueError("SMS body must not be empty")
        if len(self.body) > MAX_BODY_CHARS:
            raise ValueError(f"SMS body has {len(self.body)} characters; the limit is {MAX_BODY_CHARS}")
        if not self.idempotency_key:
            raise ValueError("SMS idempotency_key must not be empty")
        if self.status_callback_url is not None:
            parts = urlsplit(self.status_callback_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"status_callback_url must be an absolute http(s) URL, got {self.status_callback_url!r}"
                )


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """What the provider answered when it accepted a message.

    ``status`` is the provider's word (Twilio: ``queued``, later ``sent``/``delivered`` arrive by
    status callback). ``price`` is usually unknown at send time.
    """

    provider_id: str
    status: str
    segments: int | None = None
    price: Decimal | None = None
    price_unit: str | None = None


class SmsError(Exception):
    """Base class of every SMS sending failure."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmsPermanentError(SmsError):
    """This message will never go out as it is (invalid or unreachable number, body rejected, ...).

    ``code`` is the provider's error code (Twilio: 21211 invalid number, 21614 not a mobile number,
    21408 region not enabled, ...) or the HTTP status when the provider gave none.
    """

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(reason)
        self.code = code

    def __str__(self) -> str:
        return f"{self.reason} (code {self.code})" if self.code is not None else self.reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.reason))


class SmsRecipientOptedOut(SmsPermanentError):
    """The recipient has opted out (replied STOP): record it and send nothing more until they opt in."""

    def __init__(
        self,
        reason: str = "recipient has opted out of messages from this sender",
        code: int | None = OPTED_OUT_ERROR_CODE,
    ) -> None:
        super().__init__(code, reason)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.code))


class SmsTransientError(SmsError):
    """Sending failed for now (rate limit, provider outage, network); try again later.

    ``retry_after`` is the provider's hint in seconds, when it gave one. ``maybe_sent`` is True when
    the request may have reached the provider before the failure (a timeout or a dropped connection
    after the request was written): a retry might then send the message twice, so the outbox should
    check the provider (or ask a human) before retrying.
    """

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        code: int | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.code = code
        self.maybe_sent = maybe_sent

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_transient, (self.reason, self.retry_after, self.code, self.maybe_sent))


def _rebuild_transient(reason: str, retry_after: float | None, code: int | None, maybe_sent: bool) -> SmsTransientError:
    return SmsTransientError(reason, retry_after, code=code, maybe_sent=maybe_sent)


class SmsNotConfigured(SmsError):
    """SMS cannot be sent with this configuration (no credentials, wrong credentials, bad sender).

    Not the message's fault: keep it queued and alert an administrator.
    """

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.code))


class SmsSender(Protocol):
    """Sends one SMS; raises an ``SmsError`` subclass when it does not."""

    async def send(self, message: OutgoingSms) -> SmsReceipt: ...
