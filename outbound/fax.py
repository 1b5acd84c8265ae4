"""Fax gateway adapters for the fax port.

* :class:`EmailFaxGateway` -- email-to-fax services: the PDF goes as an attachment to an address
  built from the number (``{number}@fax.example.net``), the cover text is the body.
* :class:`HttpFaxGateway` -- HTTP fax APIs: ``POST`` multipart ``to`` + ``file`` with a bearer token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

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
    FaxNotConfigured,
    FaxPermanentError,
    FaxReceipt,
    FaxTransientError,
    OutgoingFax,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["EmailFaxGateway", "HttpFaxGateway", "UnconfiguredFaxSender"]

log = logging.getLogger(__name__)


class EmailFaxGateway:
    """Sends faxes through an email-to-fax service.

    ``address_template`` is the gateway's address with placeholders:

    * ``{number}`` -- the E.164 number without ``+`` (``886212345678``), what most gateways expect;
    * ``{e164}`` -- the number with ``+`` (``+886212345678``).

    ``subject_template`` accepts the same placeholders (some gateways read a PIN or options from
    the subject: put them there). The cover text becomes the plain-text body; gateways that render
    a cover page from the body will show it.
    """

    def __init__(
        self,
        email_sender: EmailSender,
        address_template: str,
        *,
        subject_template: str = "Fax to {e164}",
    ) -> None:
        if "{number}" not in address_template and "{e164}" not in address_template:
            raise FaxNotConfigured(f"fax address template has no {{number}} placeholder: {address_template!r}")
        self._email = email_sender
        self.address_template = address_template
        self.subject_template = subject_template
        # Fail at start-up, not on the first fax, if the template is malformed.
        EmailAddress(self._format(address_template, "+15555550100"))

    @staticmethod
    def _format(template: str, e164: str) -> str:
        return template.format(number=e164[1:], e164=e164)

    def address_for(self, number: str) -> str:
        """The gateway address for an E.164 ``number``."""
        return self._format(self.address_template, number)

    async def send(self, fax: OutgoingFax) -> FaxReceipt:
        email = OutgoingEmail(
            to=[EmailAddress(self.address_for(fax.to))],
            subject=self._format(self.subject_template, fax.to),
            text=fax.cover_text or "",
            attachments=[Attachment(fax.document.filename, fax.document.content, fax.document.mime_type)],
            # Prefixed so a fax never shares a Message-ID with an ordinary email of the same key.
            idempotency_key=f"fax:{fax.idempotency_key}",
        )
        try:
            receipt = await self._email.send(email)
        except EmailNotConfigured as exc:
            raise FaxNotConfigured(f"email-to-fax needs email: {exc}") from exc
        except EmailPermanentError as exc:
            raise FaxPermanentError(exc.reason, status=exc.code) from exc
        except EmailTransientError as exc:
            raise FaxTransientError(exc.reason, status=exc.code) from exc
        return FaxReceipt(provider_id=receipt.message_id)


class HttpFaxGateway:
    """Sends faxes through an HTTP API.

    ``POST url`` with ``Authorization: Bearer <token>``, ``Idempotency-Key: <idempotency_key>`` and a
    multipart body: ``to`` (E.164), ``file`` (the PDF) and, when the fax has one and
    ``cover_text_field`` is not ``None``, the cover text under that field name.

    Answers: 2xx is success, with the provider's job id read from a JSON ``id`` or ``fax_id`` when
    present; 429, 5xx and 408/409 are transient (``Retry-After`` is passed on); other 4xx and 3xx are
    permanent; network errors and timeouts are transient.

    Pass ``client`` to share an ``httpx.AsyncClient`` (its lifetime is then the caller's); otherwise
    a client is made per fax.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        cover_text_field: str | None = "cover_text",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not url:
            raise FaxNotConfigured("fax gateway URL is not set")
        if not token:
            raise FaxNotConfigured("fax gateway token is not set")
        self.url = url
        self._token = token
        self.timeout = timeout
        self.cover_text_field = cover_text_field
        self._client = client

    def __repr__(self) -> str:
        return f"HttpFaxGateway({self.url!r}, token=***)"

    async def send(self, fax: OutgoingFax) -> FaxReceipt:
        import httpx

        data: dict[str, str] = {"to": fax.to}
        if fax.cover_text and self.cover_text_field:
            data[self.cover_text_field] = fax.cover_text
        files = {"file": (fax.document.filename, fax.document.content, fax.document.mime_type)}
        headers = {"Authorization": f"Bearer {self._token}", "Idempotency-Key": fax.idempotency_key}
        try:
            if self._client is not None:
                response = await self._client.post(
                    self.url, data=data, files=files, headers=headers, timeout=self.timeout
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.post(self.url, data=data, files=files, headers=headers)
        except httpx.TransportError as exc:  # connect / read / write / pool errors and timeouts
            raise FaxTransientError(f"fax gateway unreachable: {type(exc).__name__}: {exc}") from exc

        status = response.status_code
        if 200 <= status < 300:
            provider_id = _provider_id(response)
            log.info("fax %s to %s accepted by gateway (id %s)", fax.idempotency_key, fax.to, provider_id)
            return FaxReceipt(provider_id=provider_id)
        reason = f"fax gateway answered {status}: {_short_body(response)}"
        if status == 429 or status >= 500 or status in (408, 409):
            raise FaxTransientError(reason, status=status, retry_after=_retry_after(response))
        raise FaxPermanentError(reason, status=status)


def _provider_id(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("id", "fax_id"):
            value = body.get(key)
            if value is not None and value != "":
                return str(value)
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _short_body(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


class UnconfiguredFaxSender:
    """Stands in when no fax gateway is configured: every send raises :class:`FaxNotConfigured`."""

    def __init__(self, reason: str = "fax is not configured") -> None:
        self.reason = reason

    async def send(self, fax: OutgoingFax) -> FaxReceipt:
        raise FaxNotConfigured(self.reason)
