"""SMTP adapter for the email port (aiosmtplib).

One connection per email: the outbox sends at a modest rate, and a fresh connection keeps failure
handling simple (nothing half-open to recover).

Retries and duplicates: the ``Message-ID`` is derived from the email's ``idempotency_key`` and the
sender's domain, so when a send fails after the server may already have accepted the message
(e.g. the connection drops after the final ``.``), the retry carries the same ``Message-ID`` and
receiving systems that deduplicate on it see one message.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Literal

import aiosmtplib

from crm.messaging.ports.email import (
    EmailAddress,
    EmailNotConfigured,
    EmailPermanentError,
    EmailReceipt,
    EmailTransientError,
    OutgoingEmail,
    message_id_for,
)

__all__ = ["SmtpEmailSender", "SmtpSecurity", "UnconfiguredEmailSender"]

log = logging.getLogger(__name__)

SmtpSecurity = Literal["none", "starttls", "tls"]
_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _header_address(mailbox: EmailAddress) -> Address:
    local, _, domain = mailbox.address.rpartition("@")
    # The display name is encoded by the email package (RFC 2047) when it is not ASCII.
    return Address(display_name=mailbox.display_name or "", username=local, domain=_ascii_domain(domain))


def _envelope_address(mailbox: EmailAddress) -> str:
    local, _, domain = mailbox.address.rpartition("@")
    return f"{local}@{_ascii_domain(domain)}"


def _transfer_encoding(body: str) -> str:
    """7bit for short-lined ASCII, base64 for mostly non-ASCII text, quoted-printable otherwise."""
    if body.isascii():
        return "7bit" if all(len(line) <= 998 for line in body.splitlines()) else "quoted-printable"
    non_ascii = sum(1 for ch in body if not ch.isascii())
    return "base64" if non_ascii * 3 > len(body) else "quoted-printable"


def _split_mime_type(mime_type: str) -> tuple[str, str, dict[str, str]]:
    """``"text/csv; charset=big5"`` -> ``("text", "csv", {"charset": "big5"})``."""
    kind, *raw_params = (piece.strip() for piece in mime_type.split(";"))
    maintype, _, subtype = kind.lower().partition("/")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, sep, value = raw.partition("=")
        if sep and key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return maintype, subtype, params


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _list_unsubscribe_value(target: str) -> str:
    target = target.strip()
    return target if target.startswith("<") else f"<{target}>"


class SmtpEmailSender:
    """Sends :class:`OutgoingEmail` through an SMTP server.

    ``security``: ``"none"`` (plain, e.g. a local relay), ``"starttls"`` (upgrade required, port 587)
    or ``"tls"`` (implicit TLS, port 465). ``port`` defaults from ``security``. ``tls_context`` replaces
    the default certificate verification (e.g. a private CA).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        mail_from: EmailAddress,
        username: str | None = None,
        password: str | None = None,
        security: SmtpSecurity = "starttls",
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not host:
            raise EmailNotConfigured("SMTP host is not set")
        if security not in _DEFAULT_PORTS:
            raise ValueError(f"security must be one of {sorted(_DEFAULT_PORTS)}, not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port if port is not None else _DEFAULT_PORTS[security]
        self.mail_from = mail_from
        self.username = username
        self._password = password
        self.security: SmtpSecurity = security
        self.timeout = timeout
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password=***" if self.username else ""
        return f"SmtpEmailSender({self.host!r}, {self.port}, security={self.security!r}{auth})"

    def build_message(self, email: OutgoingEmail) -> EmailMessage:
        """The MIME message :meth:`send` transmits (also handy to preview or archive an email)."""
        msg = EmailMessage(policy=default_policy)
        msg["From"] = _header_address(self.mail_from)
        msg["To"] = [_header_address(rcpt) for rcpt in email.to]
        if email.reply_to is not None:
            msg["Reply-To"] = _header_address(email.reply_to)
        msg["Subject"] = email.subject
        msg["Date"] = format_datetime(self._clock())
        msg["Message-ID"] = message_id_for(email.idempotency_key, self.mail_from.domain)
        if email.list_unsubscribe is not None:
            msg["List-Unsubscribe"] = _list_unsubscribe_value(email.list_unsubscribe)
            if email.is_one_click_unsubscribe:
                msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        for name, value in email.headers.items():
            msg[name] = value

        msg.set_content(email.text, cte=_transfer_encoding(email.text))
        if email.html is not None:
            msg.add_alternative(email.html, subtype="html", cte=_transfer_encoding(email.html))
        for attachment in email.attachments:
            maintype, subtype, params = _split_mime_type(attachment.mime_type)
            if maintype == "text" and "charset" not in params and _is_utf8(attachment.content):
                params["charset"] = "utf-8"
            msg.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
            )
        return msg

    async def send(self, email: OutgoingEmail) -> EmailReceipt:
        message = self.build_message(email)
        message_id = str(message["Message-ID"])
        recipients = [_envelope_address(rcpt) for rcpt in email.to]
        try:
            refused, _ = await aiosmtplib.send(
                message,
                sender=_envelope_address(self.mail_from),
                recipients=recipients,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout,
                tls_context=self._tls_context,
                local_hostname=self._local_hostname,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _recipients_refused(exc) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _from_reply(exc.code, exc.message) from exc
        except (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPServerDisconnected,
        ) as exc:
            raise EmailTransientError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # e.g. STARTTLS or AUTH required by our settings but not offered: fix the settings.
            raise EmailPermanentError(None, f"SMTP {self.host}:{self.port}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise EmailTransientError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        except OSError as exc:  # ssl.SSLError, connection reset outside aiosmtplib's wrapping
            raise EmailTransientError(f"SMTP {self.host}:{self.port}: {exc}") from exc

        refused_addresses = tuple(sorted(refused))
        if refused_addresses:
            log.warning(
                "email %s accepted, but recipients refused: %s",
                message_id,
                {addr: f"{resp.code} {resp.message}" for addr, resp in refused.items()},
            )
        log.info("email %s sent to %d recipient(s) via %s:%s", message_id, len(recipients), self.host, self.port)
        return EmailReceipt(message_id=message_id, refused_recipients=refused_addresses)


def _from_reply(code: int, message: str) -> EmailPermanentError | EmailTransientError:
    if 500 <= code < 600:
        return EmailPermanentError(code, message)
    return EmailTransientError(message, code=code)


def _recipients_refused(exc: aiosmtplib.SMTPRecipientsRefused) -> EmailPermanentError | EmailTransientError:
    """All recipients refused: permanent only if every refusal was 5xx (a retry may reach a 4xx one)."""
    detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    codes = [r.code for r in exc.recipients]
    if codes and all(500 <= code < 600 for code in codes):
        return EmailPermanentError(codes[0], f"recipients refused: {detail}")
    temporary = [code for code in codes if not 500 <= code < 600]
    return EmailTransientError(f"recipients refused: {detail}", code=temporary[0] if temporary else None)


class UnconfiguredEmailSender:
    """Stands in when no SMTP server is configured: every send raises :class:`EmailNotConfigured`."""

    def __init__(self, reason: str = "email is not configured") -> None:
        self.reason = reason

    async def send(self, email: OutgoingEmail) -> EmailReceipt:
        raise EmailNotConfigured(self.reason)
