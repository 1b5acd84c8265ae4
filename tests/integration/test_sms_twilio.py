"""TwilioSmsSender against the local Twilio-compatible server, which checks every request against
Twilio's OpenAPI spec; plus a contract shared with RecordingSmsSender, the fake used elsewhere."""

import asyncio
import base64
import email.utils
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from twilio.request_validator import RequestValidator

from crm.messaging.ports.sms import (
    OutgoingSms,
    SmsError,
    SmsNotConfigured,
    SmsPermanentError,
    SmsRecipientOptedOut,
    SmsSender,
    SmsTransientError,
)
from crm.messaging.sms_text import count_segments
from outbound.sms_recording import RecordingSmsSender
from outbound.sms_twilio import TwilioSmsSender, map_twilio_error, rebase_twilio_url
from tests.support.twilio_api_server import TwilioApiServer

FROM = "+15005550006"
TO = "+886912345678"
SERVICE = "MG" + "ab" * 16
CALLBACK = "https://crm.example.com/webhooks/twilio/status?outbox=42"
PROVIDER_ID = re.compile(r"SM[0-9a-f]{32}")

_keys = iter(range(1_000_000))


def sms(to: str = TO, body: str = "Hello from the CRM", callback: str | None = None) -> OutgoingSms:
    return OutgoingSms(to=to, body=body, idempotency_key=f"outbox-{next(_keys)}", status_callback_url=callback)


@pytest.fixture
async def server() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:  # fails the test on exit if any request broke the spec
        yield server


def make_sender(server: TwilioApiServer, **overrides: object) -> TwilioSmsSender:
    settings: dict[str, object] = {
        "account_sid": server.account_sid,
        "auth_token": server.auth_token,
        "from_number": FROM,
        "api_base_url": server.base_url,
        "timeout": 5.0,
    }
    settings.update(overrides)
    return TwilioSmsSender(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def sender(server: TwilioApiServer) -> AsyncIterator[TwilioSmsSender]:
    sender = make_sender(server)
    yield sender
    await sender.aclose()


# sending


async def test_send_succeeds_and_the_request_matches_the_spec(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    receipt = await sender.send(sms(body="Your quote is ready"))

    assert PROVIDER_ID.fullmatch(receipt.provider_id)
    assert receipt.status == "queued"
    assert receipt.segments == 1
    [request] = server.requests
    assert request.violations == []
    assert request.path == f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"
    assert request.form == {"To": [TO], "From": [FROM], "Body": ["Your quote is ready"]}
    assert server.messages[receipt.provider_id]["status"] == "queued"


async def test_status_callback_url_is_passed_through(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    receipt = await sender.send(sms(callback=CALLBACK))

    assert server.requests[-1].param("StatusCallback") == CALLBACK
    # ... and the callback Twilio would send back is signed like Twilio signs it
    webhook = server.status_callback_request(receipt.provider_id, "delivered")
    assert webhook.url == CALLBACK
    assert webhook.params["MessageSid"] == receipt.provider_id
    assert webhook.params["MessageStatus"] == "delivered"
    assert RequestValidator(server.auth_token).validate(webhook.url, webhook.params, webhook.signature)
    assert not RequestValidator("another token").validate(webhook.url, webhook.params, webhook.signature)


async def test_chinese_body_is_sent_intact(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    body = (
        "王先生您好：明天下午3點與陳經理見面，地址 台北市信義區松仁路100號 😀 {name} 100% a+b&c=d\n"
        "期待與您見面，謝謝！退订回复TD"
    )
    receipt = await sender.send(sms(body=body))

    assert server.requests[-1].param("Body") == body
    assert server.messages[receipt.provider_id]["body"] == body
    assert receipt.segments == count_segments(body).segments == 2


async def test_with_messaging_service_instead_of_from(server: TwilioApiServer) -> None:
    async with make_sender(server, from_number=None, messaging_service_sid=SERVICE) as sender:
        await sender.send(sms())

    form = server.requests[-1].form
    assert form["MessagingServiceSid"] == [SERVICE]
    assert "From" not in form


async def test_with_messaging_service_and_a_chosen_sender(server: TwilioApiServer) -> None:
    async with make_sender(server, messaging_service_sid=SERVICE, validity_period=3600) as sender:
        await sender.send(sms())

    form = server.requests[-1].form
    assert (form["MessagingServiceSid"], form["From"], form["ValidityPeriod"]) == ([SERVICE], [FROM], ["3600"])


async def test_message_can_be_fetched_back_in_spec_shape(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    receipt = await sender.send(sms())
    async with httpx.AsyncClient(base_url=server.base_url, auth=(server.account_sid, server.auth_token)) as http:
        answer = await http.get(f"/2010-04-01/Accounts/{server.account_sid}/Messages/{receipt.provider_id}.json")
    assert answer.status_code == 200
    assert answer.json()["to"] == TO  # and the server checked its own answer against the spec


# errors


async def test_opted_out_recipient(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.opt_out(TO)
    with pytest.raises(SmsRecipientOptedOut) as info:
        await sender.send(sms())
    assert info.value.code == 21610
    assert "unsubscribed" in info.value.reason
    assert server.messages == {}


async def test_invalid_number_is_permanent(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.fail_for(TO, code=21211)
    with pytest.raises(SmsPermanentError) as info:
        await sender.send(sms())
    assert type(info.value) is SmsPermanentError
    assert info.value.code == 21211
    assert info.value.reason == "Invalid 'To' Phone Number"


@pytest.mark.parametrize(
    ("to", "error", "code"),
    [
        ("+15005550001", SmsPermanentError, 21211),
        ("+15005550002", SmsPermanentError, 21612),
        ("+15005550003", SmsPermanentError, 21408),
        ("+15005550004", SmsRecipientOptedOut, 21610),
        ("+15005550009", SmsPermanentError, 21614),
    ],
)
async def test_twilio_magic_numbers(
    sender: TwilioSmsSender, to: str, error: type[SmsPermanentError], code: int
) -> None:
    with pytest.raises(error) as info:
        await sender.send(sms(to=to))
    assert info.value.code == code


async def test_full_sender_queue_is_transient(server: TwilioApiServer) -> None:
    async with make_sender(server, from_number="+15005550008") as sender:
        with pytest.raises(SmsTransientError) as info:
            await sender.send(sms())
    assert info.value.code == 21611


async def test_unknown_sender_number_is_a_configuration_problem(server: TwilioApiServer) -> None:
    async with make_sender(server, from_number="+15005550007") as sender:
        with pytest.raises(SmsNotConfigured) as info:
            await sender.send(sms())
    assert info.value.code == 21606


async def test_rate_limit_is_transient_with_retry_after(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.rate_limit(TO, retry_after=7, times=1)
    with pytest.raises(SmsTransientError) as info:
        await sender.send(sms())
    assert info.value.retry_after == 7.0
    assert info.value.code == 20429
    assert info.value.maybe_sent is False
    # once the limit has passed, the same sender works again
    assert PROVIDER_ID.fullmatch((await sender.send(sms())).provider_id)


async def test_retry_after_as_http_date(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.rate_limit(TO, retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))
    with pytest.raises(SmsTransientError) as info:
        await sender.send(sms())
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 31


async def test_rate_limit_without_retry_after(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.rate_limit(TO, retry_after=None)
    with pytest.raises(SmsTransientError) as info:
        await sender.send(sms())
    assert info.value.retry_after is None


async def test_retry_after_is_not_mixed_up_between_concurrent_sends(
    server: TwilioApiServer, sender: TwilioSmsSender
) -> None:
    limited = ["+886911000001", "+886911000002", "+886911000003"]
    for seconds, number in enumerate(limited, start=1):
        server.rate_limit(number, retry_after=seconds)
    results = await asyncio.gather(
        *(sender.send(sms(to=number)) for number in [*limited, TO, "+886911000009"]), return_exceptions=True
    )
    retry_afters = [r.retry_after for r in results[:3] if isinstance(r, SmsTransientError)]
    assert retry_afters == [1.0, 2.0, 3.0]
    assert all(not isinstance(r, BaseException) for r in results[3:])


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_transient(server: TwilioApiServer, sender: TwilioSmsSender, status: int) -> None:
    server.fail_for(TO, code=20500, status=status, times=1)
    with pytest.raises(SmsTransientError) as info:
        await sender.send(sms())
    assert info.value.maybe_sent is False


async def test_server_error_without_twilio_body_is_transient(server: TwilioApiServer, sender: TwilioSmsSender) -> None:
    server.fail_for(TO, code=None, status=502, message="Bad Gateway")
    with pytest.raises(SmsTransientError, match="Bad Gateway"):
        await sender.send(sms())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_is_transient_and_nothing_was_sent() -> None:
    sender = TwilioSmsSender(
        account_sid="AC" + "0" * 32, auth_token="secret", from_number=FROM,
        api_base_url=f"http://127.0.0.1:{_closed_port()}",
    )  # fmt: skip
    try:
        with pytest.raises(SmsTransientError) as info:
            await sender.send(sms())
    finally:
        await sender.aclose()
    assert info.value.maybe_sent is False
    assert info.value.retry_after is None


async def test_timeout_is_transient_and_maybe_sent(server: TwilioApiServer) -> None:
    server.delay_for(TO, 5)
    async with make_sender(server, timeout=0.3) as sender:
        with pytest.raises(SmsTransientError) as info:
            await sender.send(sms())
    assert info.value.maybe_sent is True
    # which is why: the provider did create the message
    assert len(server.messages) == 1


async def test_wrong_auth_token_is_a_configuration_problem(server: TwilioApiServer) -> None:
    async with make_sender(server, auth_token="not-the-token") as sender:
        with pytest.raises(SmsNotConfigured) as info:
            await sender.send(sms())
    assert info.value.code == 20003


async def test_auth_token_never_appears_in_logs(server: TwilioApiServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = server.auth_token
    basic = base64.b64encode(f"{server.account_sid}:{token}".encode()).decode()
    server.opt_out("+886911111111")
    server.rate_limit("+886922222222", retry_after=3)
    server.fail_for("+886933333333", code=20500, status=500)
    errors: list[SmsError] = []
    async with make_sender(server) as sender:
        await sender.send(sms(callback=CALLBACK))
        for number in ["+886911111111", "+886922222222", "+886933333333"]:
            try:
                await sender.send(sms(to=number))
            except SmsError as exc:
                errors.append(exc)
        assert token not in repr(sender)
    async with make_sender(server, auth_token=token[::-1]) as wrong:
        with pytest.raises(SmsNotConfigured) as info:
            await wrong.send(sms())
        errors.append(info.value)

    assert len(errors) == 4
    assert caplog.records, "expected the sends to be logged"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (token, token[::-1], basic):
        assert secret not in logged
        assert all(secret not in f"{e!s} {e!r} {vars(e)}" for e in errors)
    # recipients are masked in our own log lines
    assert "+886911111111" not in "".join(r.getMessage() for r in caplog.records if r.name == "outbound.sms_twilio")


async def test_aclose_closes_the_session_and_a_later_send_reopens_it(server: TwilioApiServer) -> None:
    sender = make_sender(server)
    await sender.send(sms())
    http = sender._http
    assert http is not None
    await sender.aclose()
    assert http.session.closed
    await sender.send(sms())
    await sender.aclose()
    assert len(server.created) == 2


# configuration


@pytest.mark.parametrize(
    "overrides",
    [
        {"account_sid": "not-a-sid"},
        {"auth_token": ""},
        {"from_number": None, "messaging_service_sid": None},
        {"messaging_service_sid": "MG123"},
        {"api_base_url": "http://sms-gateway.example.com"},  # basic auth in clear text
        {"api_base_url": "ftp://127.0.0.1"},
        {"validity_period": 0},
        {"timeout": 0},
    ],
)
def test_bad_configuration_is_refused_up_front(overrides: dict[str, object]) -> None:
    settings: dict[str, object] = {"account_sid": "AC" + "0" * 32, "auth_token": "t", "from_number": FROM}
    settings.update(overrides)
    with pytest.raises(SmsNotConfigured):
        TwilioSmsSender(**settings)  # type: ignore[arg-type]


def test_repr_hides_the_token() -> None:
    sender = TwilioSmsSender(account_sid="AC" + "0" * 32, auth_token="s3cr3t-token", from_number=FROM)
    assert "s3cr3t-token" not in repr(sender)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/2010-04-01/Accounts/AC1/Messages.json",
        ),
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5",
            "https://sms.example.com/twilio/",
            "https://sms.example.com/twilio/2010-04-01/Accounts/AC1/Messages.json?PageSize=5",
        ),
        (
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "http://localhost:9000",
            "http://localhost:9000/2010-04-01/Accounts/AC1/Messages.json",
        ),
        ("https://example.com/other", "http://127.0.0.1:1", "https://example.com/other"),
    ],
)
def test_rebase_twilio_url(url: str, base: str, expected: str) -> None:
    assert rebase_twilio_url(url, base) == expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 21610, SmsRecipientOptedOut),
        (400, 21211, SmsPermanentError),
        (400, 21614, SmsPermanentError),
        (400, 21408, SmsPermanentError),
        (400, 21612, SmsPermanentError),
        (400, 21617, SmsPermanentError),
        (400, None, SmsPermanentError),
        (429, 20429, SmsTransientError),
        (400, 21611, SmsTransientError),
        (500, 20500, SmsTransientError),
        (503, None, SmsTransientError),
        (401, 20003, SmsNotConfigured),
        (404, 20404, SmsNotConfigured),
        (400, 21212, SmsNotConfigured),
        (400, 21606, SmsNotConfigured),
    ],
)
def test_error_mapping(status: int, code: int | None, expected: type[SmsError]) -> None:
    error = map_twilio_error(status, code, "message", retry_after=2.0)
    assert type(error) is expected
    if isinstance(error, SmsTransientError):
        assert error.retry_after == 2.0
    if isinstance(error, SmsPermanentError):
        assert error.code == (code if code is not None else status)


# the local server really does check requests against the spec


async def _raw_post(server: TwilioApiServer, path: str, data: dict[str, str], *, auth: bool = True) -> httpx.Response:
    credentials = (server.account_sid, server.auth_token) if auth else None
    async with httpx.AsyncClient(base_url=server.base_url, auth=credentials) as http:
        return await http.post(path, data=data)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"To": TO, "From": FROM, "Body": "x", "Bogus": "1"}, "'Bogus' was unexpected"),
        ({"To": TO, "From": FROM, "Body": "x", "ValidityPeriod": "soon"}, "ValidityPeriod: 'soon' is not of type"),
        ({"To": TO, "From": FROM, "Body": "x", "SmartEncoded": "yes"}, "SmartEncoded: 'yes' is not of type"),
        ({"To": TO, "From": FROM, "Body": "x", "StatusCallback": "not a url"}, "is not a 'uri'"),
        ({"To": TO, "From": FROM, "Body": "x", "MessagingServiceSid": "MG1"}, "MessagingServiceSid"),
        ({"To": TO, "From": FROM, "Body": "x", "ContentRetention": "forever"}, "is not one of"),
        ({"From": FROM, "Body": "x"}, "'To' is a required property"),
    ],
)
async def test_spec_violations_are_rejected_and_recorded(
    server: TwilioApiServer, data: dict[str, str], problem: str
) -> None:
    answer = await _raw_post(server, f"/2010-04-01/Accounts/{server.account_sid}/Messages.json", data)
    assert answer.status_code == 400
    assert problem in answer.json()["message"]
    assert any(problem in v for v in server.violations)
    assert server.messages == {}
    server.violations.clear()


@pytest.mark.parametrize(
    ("method", "path", "status", "problem"),
    [
        ("POST", "/2010-04-01/Accounts/AC123/Messages.json", 400, "path parameter AccountSid"),
        ("POST", "/2010-04-01/Accounts/{sid}/Texts.json", 404, "path not in the spec"),
        ("PUT", "/2010-04-01/Accounts/{sid}/Messages.json", 405, "method not in the spec"),
    ],
)
async def test_unknown_paths_and_methods_are_violations(
    server: TwilioApiServer, method: str, path: str, status: int, problem: str
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, auth=(server.account_sid, server.auth_token)) as http:
        answer = await http.request(method, path.format(sid=server.account_sid), data={"To": TO})
    assert answer.status_code == status
    assert any(problem in v for v in server.violations)
    server.violations.clear()


async def test_missing_credentials_are_a_violation(server: TwilioApiServer) -> None:
    answer = await _raw_post(
        server, f"/2010-04-01/Accounts/{server.account_sid}/Messages.json", {"To": TO, "Body": "x"}, auth=False
    )
    assert answer.status_code == 400
    assert any("Basic" in v for v in server.violations)
    server.violations.clear()


async def test_a_violation_fails_the_test_when_the_server_stops() -> None:
    with pytest.raises(AssertionError, match="broke Twilio's OpenAPI spec"):
        async with TwilioApiServer() as server:
            path = f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"
            await _raw_post(server, path, {"To": TO, "From": FROM, "Body": "x", "Bogus": "1"})


# one contract, two implementations: the fake must fail where the real adapter fails


@dataclass
class Harness:
    sender: SmsSender
    opt_out: Callable[[str], None]
    rate_limit_once: Callable[[str, float], None]


@pytest.fixture(params=["twilio", "recording"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "twilio":
        async with TwilioApiServer() as server:
            sender = make_sender(server)
            yield Harness(
                sender,
                opt_out=server.opt_out,
                rate_limit_once=lambda number, seconds: server.rate_limit(number, retry_after=seconds, times=1),
            )
            await sender.aclose()
    else:
        fake = RecordingSmsSender()
        yield Harness(
            fake,
            opt_out=fake.opt_out,
            rate_limit_once=lambda number, seconds: fake.fail_for(
                number, SmsTransientError("Too Many Requests", seconds, code=20429), times=1
            ),
        )


@pytest.mark.parametrize("body", ["Hi there", "王先生您好，明天見 😀", "x" * 200])
async def test_contract_success(harness: Harness, body: str) -> None:
    receipt = await harness.sender.send(sms(body=body, callback=CALLBACK))
    assert PROVIDER_ID.fullmatch(receipt.provider_id)
    assert receipt.status == "queued"
    assert receipt.segments == count_segments(body).segments


async def test_contract_opt_out(harness: Harness) -> None:
    harness.opt_out(TO)
    with pytest.raises(SmsRecipientOptedOut) as info:
        await harness.sender.send(sms())
    assert info.value.code == 21610
    with pytest.raises(SmsRecipientOptedOut):
        await harness.sender.send(sms())
    await harness.sender.send(sms(to="+886900000000"))  # others still get theirs


async def test_contract_rate_limited_once_then_sent(harness: Harness) -> None:
    harness.rate_limit_once(TO, 3)
    with pytest.raises(SmsTransientError) as info:
        await harness.sender.send(sms())
    assert info.value.retry_after == 3.0
    assert not info.value.maybe_sent
    await harness.sender.send(sms())


async def test_recording_sender_records_and_calls_back() -> None:
    lines: list[str] = []
    fake = RecordingSmsSender(on_send=lambda sent: lines.append(sent.describe()))
    message = sms(body="明天見")
    await fake.send(message)
    await fake.send(message)
    assert lines == [f"📱 SMS to {TO} : 明天見"] * 2
    assert fake.bodies_to(TO) == ["明天見", "明天見"]
    assert fake.duplicate_keys == [message.idempotency_key]


async def test_recording_sender_async_callback_and_fail_next() -> None:
    seen: list[str] = []

    async def on_send(sent: object) -> None:
        seen.append("sent")

    fake = RecordingSmsSender(on_send=on_send)
    fake.fail_next(SmsTransientError("network down"))
    with pytest.raises(SmsTransientError):
        await fake.send(sms())
    await fake.send(sms())
    assert seen == ["sent"]
    assert len(fake.attempts) == 2 and len(fake.failed) == 1 and len(fake.sent) == 1
    fake.opt_out(TO)
    fake.clear_failures(TO)
    await fake.send(sms())
