"""SmtpEmailSender against a real SMTP server (aiosmtpd) on loopback: what arrives is what was meant."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm.messaging.ports.email import (
    Attachment,
    EmailAddress,
    EmailNotConfigured,
    EmailPermanentError,
    EmailTransientError,
    OutgoingEmail,
    message_id_for,
)
from outbound.email_smtp import SmtpEmailSender, SmtpSecurity, UnconfiguredEmailSender
from tests.support.smtp_server import SmtpTestServer, TlsFiles, running_smtp_server, tls_files

# aiosmtpd warns when AUTH is offered without STARTTLS: intended here (plain AUTH and implicit TLS servers).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

SENT_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
FROM = EmailAddress("sales@crm.example.com", "業務部 Sales")
PDF = b"%PDF-1.4\n% fake but byte-exact\n\x00\x01\x02\xff\n%%EOF\n"


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def auth_server() -> Iterator[SmtpTestServer]:
    with running_smtp_server(users={"crm": "s3cret-pässword"}) as server:
        yield server


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return tls_files(tmp_path)


def sender_for(
    server: SmtpTestServer,
    *,
    security: SmtpSecurity = "none",
    username: str | None = None,
    password: str | None = None,
    tls: TlsFiles | None = None,
    timeout: float = 5.0,
) -> SmtpEmailSender:
    return SmtpEmailSender(
        server.host,
        server.port,
        mail_from=FROM,
        username=username,
        password=password,
        security=security,
        timeout=timeout,
        tls_context=tls.client_context() if tls else None,
        clock=lambda: SENT_AT,
    )


def quote_email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "to": [EmailAddress("wang@example.com", "王小明"), EmailAddress("li@example.cn", "李雷")],
        "subject": "報價單 Quotation #42 — 请查收",
        "text": "王先生您好，\n\n附件是報價單。\nRegards,\n業務部",
        "html": "<p>王先生您好，</p><p>附件是<b>報價單</b>。</p>",
        "attachments": [
            Attachment("報價單-42.pdf", PDF, "application/pdf"),
            Attachment("notes.txt", "line 1\nline 2 中文\n".encode(), "text/plain"),
        ],
        "reply_to": EmailAddress("rep.chen@crm.example.com", "陳業務"),
        "idempotency_key": "outbox:42",
        "headers": {"X-Crm-Quote": "42"},
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


async def test_what_arrives_is_what_was_meant(smtp_server: SmtpTestServer) -> None:
    email = quote_email()

    receipt = await sender_for(smtp_server).send(email)

    got = smtp_server.single()
    assert got.mail_from == "sales@crm.example.com"
    assert got.rcpt_tos == ["wang@example.com", "li@example.cn"]
    headers, _, _ = got.data.partition(b"\r\n\r\n")
    assert headers.isascii(), "non-ASCII names and subjects must be RFC 2047 encoded in the headers"

    msg = got.message
    assert msg["Subject"] == "報價單 Quotation #42 — 请查收"
    (sender,) = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("業務部 Sales", "sales@crm.example.com")
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("王小明", "wang@example.com"),
        ("李雷", "li@example.cn"),
    ]
    assert msg["Reply-To"].addresses[0].display_name == "陳業務"
    assert msg["Date"].datetime == SENT_AT
    assert msg["Message-ID"] == receipt.message_id == message_id_for("outbox:42", "crm.example.com")
    assert receipt.message_id.endswith("@crm.example.com>")
    assert msg["X-Crm-Quote"] == "42"
    assert msg["List-Unsubscribe"] is None

    assert msg.get_content_type() == "multipart/mixed"
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert text_part.get_content() == "王先生您好，\n\n附件是報價單。\nRegards,\n業務部\n"
    assert html_part.get_content().strip() == "<p>王先生您好，</p><p>附件是<b>報價單</b>。</p>"

    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(attachments) == {"報價單-42.pdf", "notes.txt"}
    assert attachments["報價單-42.pdf"].get_content_type() == "application/pdf"
    assert attachments["報價單-42.pdf"].get_content() == PDF
    assert attachments["notes.txt"].get_content() == "line 1\nline 2 中文\n"


async def test_plain_ascii_email_without_html_or_attachments(smtp_server: SmtpTestServer) -> None:
    await sender_for(smtp_server).send(
        OutgoingEmail(to=[EmailAddress("bob@example.com")], subject="Hi", text="Hello Bob", idempotency_key="k1")
    )

    msg = smtp_server.single().message
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Hello Bob\n"
    assert msg["To"] == "bob@example.com"


async def test_a_retry_carries_the_same_message_id(smtp_server: SmtpTestServer) -> None:
    sender = sender_for(smtp_server)
    smtp_server.handler.reply_to_data("451 4.3.0 Try again later")

    with pytest.raises(EmailTransientError) as failed:
        await sender.send(quote_email())
    assert failed.value.code == 451
    first = await sender.send(quote_email())
    again = await sender.send(quote_email())
    other = await sender.send(quote_email(idempotency_key="outbox:43"))

    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert ids == [first.message_id, first.message_id, other.message_id]
    assert again.message_id == first.message_id != other.message_id


async def test_bulk_mail_carries_one_click_unsubscribe(smtp_server: SmtpTestServer) -> None:
    url = "https://crm.example.com/u/abc123?l=zh-TW"
    await sender_for(smtp_server).send(quote_email(list_unsubscribe=url))
    await sender_for(smtp_server).send(
        quote_email(list_unsubscribe="mailto:unsubscribe@crm.example.com?subject=unsubscribe")
    )

    one_click, by_mail = (r.message for r in smtp_server.received)
    assert one_click["List-Unsubscribe"] == f"<{url}>"
    assert one_click["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert by_mail["List-Unsubscribe"] == "<mailto:unsubscribe@crm.example.com?subject=unsubscribe>"
    assert by_mail["List-Unsubscribe-Post"] is None


async def test_all_recipients_refused_is_permanent(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.refuse("wang@example.com", "550 5.1.1 No such user")
    smtp_server.handler.refuse("li@example.cn", "553 5.1.3 Bad address")

    with pytest.raises(EmailPermanentError) as refused:
        await sender_for(smtp_server).send(quote_email())

    assert refused.value.code == 550
    assert "wang@example.com" in refused.value.reason
    assert smtp_server.received == []


async def test_some_recipients_refused_is_reported_in_the_receipt(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.refuse("li@example.cn")

    receipt = await sender_for(smtp_server).send(quote_email())

    assert receipt.refused_recipients == ("li@example.cn",)
    assert smtp_server.single().rcpt_tos == ["wang@example.com"]


async def test_recipient_greylisted_is_transient(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.refuse("wang@example.com", "450 4.2.0 Greylisted, come back later")

    with pytest.raises(EmailTransientError) as greylisted:
        await sender_for(smtp_server).send(quote_email(to=[EmailAddress("wang@example.com")]))

    assert greylisted.value.code == 450


async def test_data_rejected_with_5xx_is_permanent(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.reply_to_data("554 5.6.0 Message content rejected")

    with pytest.raises(EmailPermanentError) as rejected:
        await sender_for(smtp_server).send(quote_email())

    assert rejected.value.code == 554


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_server_down_is_transient() -> None:
    sender = SmtpEmailSender("127.0.0.1", unused_port(), mail_from=FROM, security="none", timeout=2)

    with pytest.raises(EmailTransientError):
        await sender.send(quote_email())


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung MTA)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_server_that_never_answers_is_transient(silent_server: int) -> None:
    sender = SmtpEmailSender("127.0.0.1", silent_server, mail_from=FROM, security="none", timeout=0.5)

    with pytest.raises(EmailTransientError):
        await sender.send(quote_email())


async def test_auth_logs_in_and_never_logs_the_password(
    auth_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    sender = sender_for(auth_server, username="crm", password="s3cret-pässword")
    caplog.set_level(logging.DEBUG)

    await sender.send(quote_email())

    assert auth_server.single().authenticated_as == "crm"
    assert "s3cret" not in caplog.text
    assert "s3cret" not in repr(sender)


async def test_wrong_password_is_permanent(auth_server: SmtpTestServer) -> None:
    with pytest.raises(EmailPermanentError) as denied:
        await sender_for(auth_server, username="crm", password="wrong").send(quote_email())

    assert denied.value.code == 535
    assert "wrong" not in str(denied.value)
    assert auth_server.received == []


async def test_missing_credentials_on_an_auth_server_is_permanent(auth_server: SmtpTestServer) -> None:
    with pytest.raises(EmailPermanentError) as denied:
        await sender_for(auth_server).send(quote_email())

    assert denied.value.code == 530


async def test_starttls_with_auth(tls: TlsFiles) -> None:
    with running_smtp_server(users={"crm": "pw"}, security="starttls", tls=tls) as server:
        await sender_for(server, security="starttls", username="crm", password="pw", tls=tls).send(quote_email())

        got = server.single()
        assert got.over_tls
        assert got.authenticated_as == "crm"


async def test_starttls_refuses_an_untrusted_certificate(tls: TlsFiles) -> None:
    with running_smtp_server(security="starttls", tls=tls) as server:
        with pytest.raises(EmailTransientError):
            await sender_for(server, security="starttls").send(quote_email())  # default trust store
        assert server.received == []


async def test_server_requiring_starttls_rejects_a_plain_sender(tls: TlsFiles) -> None:
    with running_smtp_server(security="starttls", tls=tls) as server:
        with pytest.raises(EmailPermanentError) as rejected:
            await sender_for(server, security="none").send(quote_email())
        assert rejected.value.code == 530


async def test_implicit_tls(tls: TlsFiles) -> None:
    with running_smtp_server(users={"crm": "pw"}, security="tls", tls=tls) as server:
        await sender_for(server, security="tls", username="crm", password="pw", tls=tls).send(quote_email())

        got = server.single()
        assert got.over_tls
        assert got.authenticated_as == "crm"


async def test_not_configured() -> None:
    with pytest.raises(EmailNotConfigured):
        SmtpEmailSender("", mail_from=FROM)
    with pytest.raises(EmailNotConfigured):
        await UnconfiguredEmailSender().send(quote_email())


def test_header_injection_is_rejected_before_sending() -> None:
    with pytest.raises(ValueError, match="single line"):
        quote_email(subject="Hello\r\nBcc: victim@example.com")
    with pytest.raises(ValueError, match="cannot be overridden"):
        quote_email(headers={"Message-ID": "<x@y>"})
    with pytest.raises(ValueError, match="https URL or mailto"):
        quote_email(list_unsubscribe="http://insecure.example.com/u")
