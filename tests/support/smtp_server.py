"""A real SMTP server on loopback (aiosmtpd) for integration tests.

    with running_smtp_server() as server:                      # plain
    with running_smtp_server(users={"crm": "s3cret"}) as ...:  # AUTH required (PLAIN/LOGIN)
    with running_smtp_server(security="starttls", tls=tls_files(tmp_path)) as ...:
    with running_smtp_server(security="tls", tls=tls_files(tmp_path)) as ...:

The server listens on 127.0.0.1 on a port the OS picks, records what it receives
(``server.received``), and can be scripted like a real MTA that says no::

    server.handler.refuse("nobody@example.com", "550 5.1.1 No such user")
    server.handler.reply_to_data("451 4.3.0 Try again later")   # next DATA only

aiosmtpd warns "Requiring AUTH while not requiring TLS" for ``users`` without STARTTLS (the plain AUTH
variant does that on purpose; implicit TLS trips it too): filter it in the test module with
``pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")``.

Wrap it in a fixture where needed::

    @pytest.fixture
    def smtp_server() -> Iterator[SmtpTestServer]:
        with running_smtp_server() as server:
            yield server
"""

from __future__ import annotations

import asyncio
import email
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "ReceivedEmail",
    "RecordingHandler",
    "SmtpTestServer",
    "TlsFiles",
    "running_smtp_server",
    "tls_files",
]

HOST = "127.0.0.1"


@dataclass
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None
    over_tls: bool

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (headers decoded, ``get_body``/``iter_attachments``)."""
        # Stored with local line endings, as an MTA would: the wire's CRLF is an SMTP matter.
        parsed = email.message_from_bytes(self.data.replace(b"\r\n", b"\n"), policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    received: list[ReceivedEmail] = field(default_factory=list)
    _refusals: dict[str, str] = field(default_factory=dict)
    _data_replies: list[str] = field(default_factory=list)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        """Answer ``RCPT TO:<address>`` with ``reply`` (a 4xx or 5xx line)."""
        self._refusals[address.lower()] = reply

    def reply_to_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies, in order, instead of accepting."""
        self._data_replies.extend(replies)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        reply = self._refusals.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._data_replies:
            return self._data_replies.pop(0)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        transport = server.transport
        self.received.append(
            ReceivedEmail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                authenticated_as=login.decode() if isinstance(login, bytes) else login,
                over_tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


class _EphemeralPortController(Controller):
    """A Controller bound to port 0: the real port is read from the listening socket before first use."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class SmtpTestServer:
    host: str
    port: int
    handler: RecordingHandler
    security: Literal["none", "starttls", "tls"]
    users: dict[str, str]

    @property
    def received(self) -> list[ReceivedEmail]:
        return self.handler.received

    def single(self) -> ReceivedEmail:
        assert len(self.received) == 1, f"expected one email, the server got {len(self.received)}"
        return self.received[0]


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this self-signed certificate (and only it)."""
        return ssl.create_default_context(cafile=str(self.cert))


def tls_files(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1/localhost, made with ``cryptography`` or the openssl CLI.

    Skips the test when neither is available.
    """
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    try:
        _make_cert_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("no way to make a TLS certificate: neither 'cryptography' nor the openssl CLI is available")
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return TlsFiles(cert=cert, key=key)


def _make_cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found, unused-ignore]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found, unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@contextmanager
def running_smtp_server(
    *,
    users: dict[str, str] | None = None,
    security: Literal["none", "starttls", "tls"] = "none",
    tls: TlsFiles | None = None,
) -> Iterator[SmtpTestServer]:
    """Start an aiosmtpd server on 127.0.0.1 (free port); stop it on exit.

    ``users`` (login -> password) makes AUTH mandatory before MAIL. ``security="starttls"`` requires
    STARTTLS before anything else; ``"tls"`` is implicit TLS (SMTPS). Both need ``tls``.
    """
    if security != "none" and tls is None:
        raise ValueError(f"security={security!r} needs TlsFiles")
    handler = RecordingHandler()
    kwargs: dict[str, Any] = {"server_hostname": "mx.test.invalid"}
    if users is not None:

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = (
                isinstance(auth_data, LoginPassword)
                and users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=security == "starttls")
    if security == "starttls":
        assert tls is not None
        kwargs.update(tls_context=tls.server_context(), require_starttls=True)
    elif security == "tls":
        assert tls is not None
        kwargs.update(ssl_context=tls.server_context())
    controller = _EphemeralPortController(handler, hostname=HOST, port=0, **kwargs)
    controller.start()
    try:
        yield SmtpTestServer(
            host=HOST, port=controller.port, handler=handler, security=security, users=dict(users or {})
        )
    finally:
        controller.stop()
