"""Email port: what the domain needs from an email transport.

Services build an :class:`OutgoingEmail` and hand it to an :class:`EmailSender`. Adapters live in
``outbound/`` (SMTP for production, a recording fake for tests and the console demo).

Values are validated on construction so that every sender, real or fake, rejects the same mistakes:
header values must be single-line (a CR/LF in a subject is a header-injection hole, so it is an error
here rather than something an adapter silently rewrites), and an email needs at least one recipient.

Error contract (the outbox retries on transient errors only):

* :class:`EmailPermanentError` -- the server answered 5xx, every recipient was refused, or the
  configuration is wrong in a way that retrying cannot fix. Do not retry.
* :class:`EmailTransientError` -- 4xx answers, connection refused / reset / timed out. Retry later;
  a retry with the same ``idempotency_key`` carries the same ``Message-ID`` so receiving systems can
  recognise a duplicate if the first attempt did get through.
* :class:`EmailNotConfigured` -- no transport is configured at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

__all__ = [
    "RESERVED_HEADERS",
    "Attachment",
    "EmailAddress",
    "EmailError",
    "EmailNotConfigured",
    "EmailPermanentError",
    "EmailReceipt",
    "EmailSender",
    "EmailTransientError",
    "OutgoingEmail",
    "message_id_for",
]

# Headers that senders set themselves from the structured fields; extra headers may not override them.
RESERVED_HEADERS: frozenset[str] = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "message-id",
        "mime-version",
        "reply-to",
        "sender",
        "subject",
        "to",
    }
)

_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_ADDR_SPEC = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _check_single_line(what: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must be a single line (no CR/LF): {value!r}")


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A mailbox: ``address`` is the bare addr-spec (``li.wei@example.com``), ``display_name`` any text."""

    address: str
    display_name: str | None = None

    def __post_init__(self) -> None:
        if not _ADDR_SPEC.match(self.address):
            raise ValueError(f"not an email address: {self.address!r}")
        if self.display_name is not None:
            _check_single_line("display name", self.display_name)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an email; ``filename`` may be non-ASCII (e.g. ``報價單.pdf``)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if not self.filename:
            raise ValueError("attachment filename must not be empty")
        _check_single_line("attachment filename", self.filename)
        if "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"attachment filename must not contain a path: {self.filename!r}")
        maintype, sep, subtype = self.mime_type.partition("/")
        if not sep or not maintype or not subtype:
            raise ValueError(f"mime_type must look like 'type/subtype': {self.mime_type!r}")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One email to send.

    ``list_unsubscribe`` is an ``https://`` URL or a ``mailto:`` URI; set it for bulk/marketing mail
    (senders add ``List-Unsubscribe`` and, for https URLs, RFC 8058 one-click headers).

    ``idempotency_key`` identifies this email across retries (e.g. the outbox row id); it determines
    the ``Message-ID``, so it must be unique per distinct email.

    ``headers`` are extra headers (e.g. ``X-Crm-Campaign``); they cannot override :data:`RESERVED_HEADERS`.
    """

    to: Sequence[EmailAddress]
    subject: str
    text: str
    idempotency_key: str
    html: str | None = None
    attachments: Sequence[Attachment] = ()
    reply_to: EmailAddress | None = None
    list_unsubscribe: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("an email needs at least one recipient")
        if not self.idempotency_key:
            raise ValueError("idempotency_key must not be empty")
        _check_single_line("subject", self.subject)
        if self.list_unsubscribe is not None:
            _check_single_line("list_unsubscribe", self.list_unsubscribe)
            target = self.list_unsubscribe.strip().strip("<>").lower()
            if not (target.startswith("https://") or target.startswith("mailto:")):
                raise ValueError(f"list_unsubscribe must be an https URL or mailto URI: {self.list_unsubscribe!r}")
        for name, value in self.headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"invalid header name: {name!r}")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the sender and cannot be overridden")
            _check_single_line(f"header {name}", value)
        # Freeze the containers so a queued email cannot change after it was validated.
        object.__setattr__(self, "to", tuple(self.to))
        object.__setattr__(self, "attachments", tuple(self.attachments))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    @property
    def is_one_click_unsubscribe(self) -> bool:
        """True when ``list_unsubscribe`` is an https URL (RFC 8058 one-click applies)."""
        if self.list_unsubscribe is None:
            return False
        return self.list_unsubscribe.strip().strip("<>").lower().startswith("https://")


@dataclass(frozen=True, slots=True)
class EmailReceipt:
    """What the transport accepted.

    ``refused_recipients`` lists addresses the server refused while still accepting the others
    (an email to which every recipient was refused raises :class:`EmailPermanentError` instead).
    """

    message_id: str
    refused_recipients: tuple[str, ...] = ()


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` every sender gives the email with this key, sent from ``domain``.

    Deterministic, so a retried send carries the same id and receivers can drop the duplicate.
    """
    digest = hashlib.sha256(f"{idempotency_key}\x00{domain.lower()}".encode()).hexdigest()[:40]
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = domain
    return f"<{digest}@{ascii_domain}>"


class EmailSender(Protocol):
    async def send(self, email: OutgoingEmail) -> EmailReceipt:
        """Hand ``email`` to the transport; raise an :class:`EmailError` subclass on failure."""
        ...


class EmailError(Exception):
    """Base class of every error an :class:`EmailSender` raises."""


class EmailPermanentError(EmailError):
    """Retrying will not help: 5xx answer, all recipients refused, or a configuration problem.

    ``code`` is the SMTP reply code when there is one.
    """

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"{code} {reason}" if code is not None else reason)
        self.code = code
        self.reason = reason


class EmailTransientError(EmailError):
    """Try again later: 4xx answer or a network problem. ``code`` is the SMTP reply code if any."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(f"{code} {reason}" if code is not None else reason)
        self.reason = reason
        self.code = code


class EmailNotConfigured(EmailError):
    """No email transport is configured; the message was not sent."""
