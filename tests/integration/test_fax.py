"""Fax gateways end to end: email-to-fax through a real SMTP server, the HTTP gateway against a local server."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from crm.messaging.ports.email import EmailAddress, EmailNotConfigured, EmailPermanentError, EmailTransientError
from crm.messaging.ports.fax import (
    FaxDocument,
    FaxNotConfigured,
    FaxPermanentError,
    FaxTransientError,
    InvalidFaxNumber,
    OutgoingFax,
    normalize_fax_number,
)
from outbound.email_recording import RecordingEmailSender
from outbound.email_smtp import SmtpEmailSender
from outbound.fax import EmailFaxGateway, HttpFaxGateway, UnconfiguredFaxSender
from outbound.fax_recording import RecordingFaxSender
from tests.support.smtp_server import SmtpTestServer, running_smtp_server

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n\x00\xff binary \x89\n%%EOF\n"
TOKEN = "fax-token-123"


def a_fax(**overrides: object) -> OutgoingFax:
    fields: dict[str, object] = {
        "to": "+886212345678",
        "document": FaxDocument("報價單-42.pdf", PDF),
        "cover_text": "致 王經理：報價單共 1 頁。",
        "idempotency_key": "fax-outbox:7",
    }
    fields.update(overrides)
    return OutgoingFax(**fields)  # type: ignore[arg-type]


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(02) 2720-8889", "TW", "+886227208889"),
        ("02-2720-8889", "tw", "+886227208889"),
        ("+886 2 2720 8889", None, "+886227208889"),
        ("＋８８６ ２ ２７２０ ８８８９", None, "+886227208889"),  # full-width digits, as typed on a CJK IME
        ("021 6888 8888", "CN", "+862168888888"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("011 886 2 2720 8889", "US", "+886227208889"),
    ],
)
def test_normalize_fax_number(raw: str, region: str | None, e164: str) -> None:
    assert normalize_fax_number(raw, region) == e164


@pytest.mark.parametrize(("raw", "region"), [("", "TW"), ("12", "TW"), ("not a number", "US"), ("2 1234 5678", None)])
def test_normalize_fax_number_rejects(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidFaxNumber):
        normalize_fax_number(raw, region)


def test_outgoing_fax_insists_on_e164_and_pdf() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        a_fax(to="02 1234 5678")
    with pytest.raises(ValueError, match="PDF"):
        FaxDocument("x.pdf", b"GIF89a")


# -- email-to-fax ----------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with running_smtp_server() as server:
        yield server


def email_fax_gateway(server: SmtpTestServer) -> EmailFaxGateway:
    smtp = SmtpEmailSender(
        server.host,
        server.port,
        mail_from=EmailAddress("fax@crm.example.com", "CRM 傳真"),
        security="none",
        timeout=5,
    )
    return EmailFaxGateway(smtp, "{number}@fax.example.net")


async def test_email_gateway_mails_the_pdf_to_the_number_address(smtp_server: SmtpTestServer) -> None:
    receipt = await email_fax_gateway(smtp_server).send(a_fax())

    got = smtp_server.single()
    assert got.rcpt_tos == ["886212345678@fax.example.net"]
    msg = got.message
    assert msg["To"].addresses[0].addr_spec == "886212345678@fax.example.net"
    assert msg["Subject"] == "Fax to +886212345678"
    assert receipt.provider_id == msg["Message-ID"]
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "致 王經理：報價單共 1 頁。"
    (pdf,) = msg.iter_attachments()
    assert pdf.get_filename() == "報價單-42.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == PDF


async def test_email_gateway_retry_keeps_the_message_id(smtp_server: SmtpTestServer) -> None:
    gateway = email_fax_gateway(smtp_server)
    smtp_server.handler.reply_to_data("452 4.3.1 Insufficient system storage")

    with pytest.raises(FaxTransientError) as busy:
        await gateway.send(a_fax())
    first = await gateway.send(a_fax())
    second = await gateway.send(a_fax())

    assert busy.value.status == 452
    assert first.provider_id == second.provider_id


async def test_email_gateway_number_refused_is_permanent(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.refuse("886212345678@fax.example.net", "550 5.1.1 Number not in service")

    with pytest.raises(FaxPermanentError) as refused:
        await email_fax_gateway(smtp_server).send(a_fax())

    assert refused.value.status == 550


async def test_email_gateway_maps_email_errors() -> None:
    email_sender = RecordingEmailSender()
    gateway = EmailFaxGateway(email_sender, "fax+{number}@gw.example.org", subject_template="PIN 1234 {e164}")
    email_sender.fail_next(EmailTransientError("try later", code=421), EmailPermanentError(554, "no"), None)

    with pytest.raises(FaxTransientError):
        await gateway.send(a_fax())
    with pytest.raises(FaxPermanentError):
        await gateway.send(a_fax())
    await gateway.send(a_fax(cover_text=None))

    sent = email_sender.single()
    assert [r.address for r in sent.to] == ["fax+886212345678@gw.example.org"]
    assert sent.subject == "PIN 1234 +886212345678"
    assert sent.text == ""
    email_sender.fail_next(EmailNotConfigured("no smtp"))
    with pytest.raises(FaxNotConfigured):
        await gateway.send(a_fax())


def test_email_gateway_template_must_hold_the_number() -> None:
    with pytest.raises(FaxNotConfigured):
        EmailFaxGateway(RecordingEmailSender(), "fax@fax.example.net")
    with pytest.raises(ValueError):
        EmailFaxGateway(RecordingEmailSender(), "{number} at fax.example.net")


# -- HTTP gateway ----------------------------------------------------------------------------------


@dataclass
class ReceivedFax:
    headers: dict[str, str]
    fields: dict[str, str]
    files: dict[str, tuple[str | None, str, bytes]]  # name -> (filename, content type, bytes)


@dataclass
class FakeFaxApi:
    """A fax provider's API: POST /v1/faxes, multipart ``to`` + ``file``, bearer token."""

    token: str = TOKEN
    received: list[ReceivedFax] = field(default_factory=list)
    scripted: list[Response] = field(default_factory=list)
    id_key: str = "id"

    async def create_fax(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "invalid token"}, status_code=401)
        if self.scripted:
            return self.scripted.pop(0)
        fax = parse_multipart(request.headers, await request.body())
        if "to" not in fax.fields or "file" not in fax.files:
            return JSONResponse({"error": "to and file are required"}, status_code=400)
        self.received.append(fax)
        return JSONResponse({self.id_key: f"fx_{len(self.received)}", "status": "queued"}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/faxes", self.create_fax, methods=["POST"])])


def parse_multipart(headers: object, body: bytes) -> ReceivedFax:
    """Read a multipart/form-data body with the stdlib MIME parser (no python-multipart needed)."""
    header_map = {k.lower(): v for k, v in headers.items()}  # type: ignore[attr-defined]
    raw = f"Content-Type: {header_map['content-type']}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage) and parsed.is_multipart()
    fields: dict[str, str] = {}
    files: dict[str, tuple[str | None, str, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode()
        else:
            files[name] = (filename, part.get_content_type(), payload)
    return ReceivedFax(headers=header_map, fields=fields, files=files)


@pytest.fixture
def fax_api() -> FakeFaxApi:
    return FakeFaxApi()


@pytest.fixture
async def fax_api_url(fax_api: FakeFaxApi) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(fax_api.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "local fax API did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1/faxes"
    server.should_exit = True
    await task


async def test_http_gateway_posts_number_and_pdf(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    receipt = await HttpFaxGateway(fax_api_url, TOKEN, timeout=5).send(a_fax())

    assert receipt.provider_id == "fx_1"
    (got,) = fax_api.received
    assert got.headers["authorization"] == f"Bearer {TOKEN}"
    assert got.headers["idempotency-key"] == "fax-outbox:7"
    assert got.fields == {"to": "+886212345678", "cover_text": "致 王經理：報價單共 1 頁。"}
    filename, content_type, content = got.files["file"]
    assert (filename, content_type, content) == ("報價單-42.pdf", "application/pdf", PDF)


async def test_http_gateway_shared_client_fax_id_and_no_cover(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    fax_api.id_key = "fax_id"
    async with httpx.AsyncClient() as client:
        gateway = HttpFaxGateway(fax_api_url, TOKEN, client=client, cover_text_field=None)
        receipt = await gateway.send(a_fax())

    assert receipt.provider_id == "fx_1"
    assert fax_api.received[0].fields == {"to": "+886212345678"}


async def test_http_gateway_without_an_id_in_the_answer(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    fax_api.scripted.append(PlainTextResponse("accepted", status_code=202))

    receipt = await HttpFaxGateway(fax_api_url, TOKEN).send(a_fax())

    assert receipt.provider_id is None


async def test_http_gateway_bad_token_is_permanent(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    with pytest.raises(FaxPermanentError) as denied:
        await HttpFaxGateway(fax_api_url, "wrong-token").send(a_fax())

    assert denied.value.status == 401
    assert "wrong-token" not in str(denied.value)
    assert fax_api.received == []


async def test_http_gateway_rejected_request_is_permanent(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    fax_api.scripted.append(JSONResponse({"error": "invalid number"}, status_code=422))

    with pytest.raises(FaxPermanentError) as rejected:
        await HttpFaxGateway(fax_api_url, TOKEN).send(a_fax())

    assert rejected.value.status == 422
    assert "invalid number" in rejected.value.reason


async def test_http_gateway_unavailable_is_transient(fax_api: FakeFaxApi, fax_api_url: str) -> None:
    fax_api.scripted.append(JSONResponse({"error": "maintenance"}, status_code=503))
    fax_api.scripted.append(PlainTextResponse("slow down", status_code=429, headers={"Retry-After": "7"}))
    gateway = HttpFaxGateway(fax_api_url, TOKEN)

    with pytest.raises(FaxTransientError) as unavailable:
        await gateway.send(a_fax())
    with pytest.raises(FaxTransientError) as throttled:
        await gateway.send(a_fax())
    await gateway.send(a_fax())

    assert (unavailable.value.status, unavailable.value.retry_after) == (503, None)
    assert (throttled.value.status, throttled.value.retry_after) == (429, 7.0)
    assert len(fax_api.received) == 1


async def test_http_gateway_down_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    with pytest.raises(FaxTransientError):
        await HttpFaxGateway(f"http://127.0.0.1:{port}/v1/faxes", TOKEN, timeout=2).send(a_fax())


async def test_http_gateway_needs_url_and_token() -> None:
    with pytest.raises(FaxNotConfigured):
        HttpFaxGateway("", TOKEN)
    with pytest.raises(FaxNotConfigured):
        HttpFaxGateway("http://127.0.0.1:1/", "")
    assert TOKEN not in repr(HttpFaxGateway("http://127.0.0.1:1/", TOKEN))
    with pytest.raises(FaxNotConfigured):
        await UnconfiguredFaxSender().send(a_fax())


async def test_recording_fax_sender_scripts_failures() -> None:
    fake = RecordingFaxSender()
    fake.fail_next(FaxTransientError("busy", status=503))

    with pytest.raises(FaxTransientError):
        await fake.send(a_fax())
    receipt = await fake.send(a_fax())

    assert receipt.provider_id == "fake-fax-1"
    assert fake.single().to == "+886212345678"
    assert len(fake.attempts) == 2
