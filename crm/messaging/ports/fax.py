"""Fax port: what the domain needs to send a document by fax.

Numbers are E.164 strings (``+886212345678``). Turn whatever a rep typed into one with
:func:`normalize_fax_number` before building an :class:`OutgoingFax`.

Error contract mirrors the email port: :class:`FaxPermanentError` (do not retry: bad number, rejected
credentials, rejected document), :class:`FaxTransientError` (retry later: gateway busy/down, network),
:class:`FaxNotConfigured` (no gateway configured).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "FaxDocument",
    "FaxError",
    "FaxNotConfigured",
    "FaxPermanentError",
    "FaxReceipt",
    "FaxSender",
    "FaxTransientError",
    "InvalidFaxNumber",
    "OutgoingFax",
    "normalize_fax_number",
]

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


class InvalidFaxNumber(ValueError):
    """The text cannot be read as a dialable fax number."""


def normalize_fax_number(raw: str, default_region: str | None = None) -> str:
    """Return ``raw`` as an E.164 number, e.g. ``("(02) 1234-5678", "TW") -> "+886212345678"``.

    ``default_region`` (ISO 3166-1 alpha-2, e.g. ``"TW"``, ``"CN"``, ``"US"``) is used for numbers
    written without a country code; numbers starting with ``+`` (or an international prefix such
    as ``00``/``011`` when a region is given) ignore it. Raises :class:`InvalidFaxNumber` when the
    text is not a valid number for its region. Only validity is checked: whether a fax machine
    answers on that line is for the gateway to find out.
    """
    import phonenumbers  # imported on use: the port module stays cheap to import

    text = raw.strip()
    if not text:
        raise InvalidFaxNumber("empty fax number")
    region = default_region.upper() if default_region else None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidFaxNumber(f"cannot read {raw!r} as a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidFaxNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class FaxDocument:
    """The document to fax: a PDF (``content`` must start with ``%PDF-``)."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"

    def __post_init__(self) -> None:
        if not self.filename or "\r" in self.filename or "\n" in self.filename:
            raise ValueError(f"invalid document filename: {self.filename!r}")
        if "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"document filename must not contain a path: {self.filename!r}")
        if not self.content.startswith(b"%PDF-"):
            raise ValueError("a fax document must be a PDF")


@dataclass(frozen=True, slots=True)
class OutgoingFax:
    """One fax: ``to`` in E.164, the PDF, an optional cover text, and a key that is stable across retries."""

    to: str
    document: FaxDocument
    idempotency_key: str
    cover_text: str | None = None

    def __post_init__(self) -> None:
        if not _E164.match(self.to):
            raise ValueError(f"fax number must be E.164 (use normalize_fax_number): {self.to!r}")
        if not self.idempotency_key:
            raise ValueError("idempotency_key must not be empty")

    @property
    def digits(self) -> str:
        """The number without the leading ``+`` (``886212345678``)."""
        return self.to[1:]


@dataclass(frozen=True, slots=True)
class FaxReceipt:
    """What the gateway accepted; ``provider_id`` is the gateway's id for the job, when it gives one."""

    provider_id: str | None


class FaxSender(Protocol):
    async def send(self, fax: OutgoingFax) -> FaxReceipt:
        """Hand ``fax`` to the gateway; raise a :class:`FaxError` subclass on failure."""
        ...


class FaxError(Exception):
    """Base class of every error a :class:`FaxSender` raises."""


class FaxPermanentError(FaxError):
    """Retrying will not help. ``status`` is the gateway's status code (HTTP or SMTP) when there is one."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(f"{status} {reason}" if status is not None else reason)
        self.reason = reason
        self.status = status


class FaxTransientError(FaxError):
    """Try again later; ``retry_after`` (seconds) when the gateway said how long to wait."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {reason}" if status is not None else reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class FaxNotConfigured(FaxError):
    """No fax gateway is configured; the fax was not sent."""
