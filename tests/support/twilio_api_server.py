"""A local Twilio-compatible API server for tests, checking every request against Twilio's OpenAPI spec.

    async with TwilioApiServer() as server:   # fails on exit if any request broke the spec
        sender = TwilioSmsSender(account_sid=server.account_sid, auth_token=server.auth_token,
                                 from_number="+15005550006", api_base_url=server.base_url)
        server.fail_for("+886912345678", code=21610)
        ...

It implements ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` and ``GET
.../Messages/{Sid}.json``. Each request is matched against the spec (``tests/specs/
twilio_api_v2010.json``, kept in the repository, or ``$CRM_TWILIO_OPENAPI_SPEC``): path, method, path and
query parameters, and the form body (parameter names, types, formats, required ones) with
``jsonschema``. A request that breaks the spec gets a 400 and is recorded in ``violations``; so is a
response of this server that breaks it, and leaving the ``async with`` then fails the test (clear
``violations`` after provoking one on purpose). HTTP Basic auth is checked like Twilio does (401, code
20003).

Error behaviour follows Twilio's: scripted per recipient (``fail_for``), plus Twilio's test-account
magic numbers (``To`` +15005550001 invalid 21211, ...02 unroutable 21612, ...03 no geo permission
21408, ...04 opted out 21610, ...09 not a mobile 21614; ``From`` +15005550001 invalid 21212,
...07 not owned 21606, ...08 queue full 21611). ``sign`` and the ``*_request`` helpers build signed
webhook requests (status callbacks, inbound messages) as Twilio would send them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email.utils
import functools
import json
import os
import re
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from jsonschema import Draft202012Validator, FormatChecker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from crm.messaging.sms_text import count_segments

__all__ = [
    "DEFAULT_SPEC_PATH",
    "OpenApiSpec",
    "RecordedRequest",
    "SignedWebhook",
    "TwilioApiServer",
]

DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "twilio_api_v2010.json"
TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "test-auth-token-" + "9f8e7d6c5b4a" * 2

TWILIO_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number is not currently reachable via SMS",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
MAGIC_TO = {"+15005550001": 21211, "+15005550002": 21612, "+15005550003": 21408, "+15005550004": 21610,
            "+15005550009": 21614}  # fmt: skip
MAGIC_FROM = {"+15005550001": 21212, "+15005550007": 21606, "+15005550008": 21611}


# ---------------------------------------------------------------------------------------------------
# OpenAPI 3.0 -> JSON Schema, and request / response checks


def _check_phone_number(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(
        re.fullmatch(r"\+[1-9][0-9]{1,14}", value)  # E.164
        or re.fullmatch(r"[a-z][a-z-]*:\S+", value)  # channel address, e.g. whatsapp:+1555...
        or re.fullmatch(r"[0-9]{3,8}", value)  # short code
        or re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", value)  # alphanumeric sender ID
    )


def _check_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    host = parts.hostname or ""
    # Twilio: "URL must contain a valid hostname and underscores are not allowed".
    return bool(parts.scheme and host) and "_" not in host and not re.search(r"\s", value)


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_rfc2822(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("phone-number")(_check_phone_number)
    checker.checks("uri")(_check_uri)
    checker.checks("date-time")(_check_date_time)
    checker.checks("date-time-rfc-2822")(_check_rfc2822)
    checker.checks("currency")(lambda value: not isinstance(value, str) or bool(re.fullmatch(r"[A-Z]{3}", value)))
    checker.checks("uri-map")(lambda value: value is None or isinstance(value, dict))
    return checker


_SKIPPED_KEYWORDS = {"description", "example", "examples", "nullable", "readOnly", "writeOnly", "deprecated",
                     "discriminator", "xml", "externalDocs", "title"}  # fmt: skip


class SpecViolationError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: Mapping[str, Any]
    path_params: dict[str, str]


class OpenApiSpec:
    """Just enough of an OpenAPI 3.0 validator for form-encoded Twilio requests and JSON responses."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        routes = []
        for template in document["paths"]:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+?)", re.escape(template))
            routes.append((template.count("{"), re.compile(pattern), template))
        # Literal segments beat parameters when two templates match.
        self._routes = sorted(routes, key=lambda route: route[0])
        self._checker = _format_checker()

    @classmethod
    @functools.cache
    def load(cls, path: Path) -> OpenApiSpec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    # schema conversion

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            pointer = node["$ref"]
            if not pointer.startswith("#/"):
                raise ValueError(f"external $ref not supported: {pointer}")
            target: Any = self.document
            for part in pointer[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def json_schema(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """An OpenAPI 3.0 schema object as JSON Schema: refs inlined, ``nullable`` as a null type."""
        node = self.resolve(node)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key.startswith("x-") or key in _SKIPPED_KEYWORDS:
                continue
            if key == "properties":
                out[key] = {name: self.json_schema(sub) for name, sub in value.items()}
            elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
                out[key] = self.json_schema(value)
            elif key in ("allOf", "anyOf", "oneOf"):
                out[key] = [self.json_schema(sub) for sub in value]
            else:
                out[key] = value
        if node.get("x-twilio", {}).get("ignoreFormat"):
            out.pop("format", None)
        if node.get("nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out

    def _errors(self, schema: Mapping[str, Any], instance: object, where: str) -> list[str]:
        validator = Draft202012Validator(schema, format_checker=self._checker)
        found = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(part) for part in error.absolute_path)
            found.append(f"{where}{'/' + path if path else ''}: {error.message}")
        return found

    # requests

    def find_operation(self, method: str, path: str) -> Operation:
        matched_path = False
        for _, pattern, template in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            matched_path = True
            operation = self.document["paths"][template].get(method.lower())
            if operation is not None:
                return Operation(method.upper(), template, operation, match.groupdict())
        if matched_path:
            raise SpecViolationError(405, f"{method} {path}: method not in the spec for this path")
        raise SpecViolationError(404, f"{method} {path}: path not in the spec")

    def request_violations(
        self,
        operation: Operation,
        query: list[tuple[str, str]],
        content_type: str | None,
        body: bytes,
    ) -> tuple[list[str], dict[str, list[str]]]:
        """Check one request; return the violations and the decoded form body."""
        violations: list[str] = []
        parameters = [self.resolve(p) for p in operation.spec.get("parameters", [])]
        for parameter in parameters:
            if parameter["in"] == "path":
                value = operation.path_params.get(parameter["name"], "")
                violations += self._errors(
                    self.json_schema(parameter.get("schema", {})), value, f"path parameter {parameter['name']}"
                )
        query_specs = {p["name"]: p for p in parameters if p["in"] == "query"}
        query_values: dict[str, list[str]] = {}
        for name, value in query:
            query_values.setdefault(name, []).append(value)
        for name, values in query_values.items():
            if name not in query_specs:
                violations.append(f"query parameter {name}: not in the spec")
                continue
            schema = self.json_schema(query_specs[name].get("schema", {}))
            violations += self._errors(schema, _coerce(schema, values), f"query parameter {name}")
        for name, parameter in query_specs.items():
            if parameter.get("required") and name not in query_values:
                violations.append(f"query parameter {name}: required but missing")

        form: dict[str, list[str]] = {}
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if body:
                violations.append("request body: the spec defines none for this operation")
            return violations, form
        request_body = self.resolve(request_body)
        media_type = (content_type or "").split(";")[0].strip().lower()
        content = request_body.get("content", {})
        if media_type not in content:
            violations.append(f"Content-Type {media_type or '(none)'}: spec allows {', '.join(content)}")
            return violations, form
        if media_type != "application/x-www-form-urlencoded":
            violations.append(f"Content-Type {media_type}: this server only checks form bodies")
            return violations, form
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            violations.append(f"request body: not a UTF-8 form body ({exc})")
            return violations, form
        for name, value in pairs:
            form.setdefault(name, []).append(value)
        if not form and request_body.get("required"):
            violations.append("request body: required but empty")
        schema = self.json_schema(content[media_type]["schema"])
        schema["additionalProperties"] = False  # an unknown parameter is a mistake, not an extension
        properties = schema.get("properties", {})
        instance: dict[str, object] = {}
        for name, values in form.items():
            prop = properties.get(name)
            if prop is None:
                instance[name] = values[0]
            elif _types(prop) == {"array"}:
                instance[name] = [_coerce(prop.get("items", {}), [v]) for v in values]
            elif len(values) > 1:
                violations.append(f"form parameter {name}: given {len(values)} times, the spec allows one")
                instance[name] = _coerce(prop, values[:1])
            else:
                instance[name] = _coerce(prop, values)
        violations += self._errors(schema, instance, "form")
        return violations, form

    def response_violations(self, operation: Operation, status: int, body: object) -> list[str]:
        responses = operation.spec.get("responses", {})
        spec = responses.get(str(status)) or responses.get("default")
        if spec is None:
            return [f"response {status}: status not in the spec ({', '.join(responses)})"]
        schema = self.resolve(spec).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        return self._errors(self.json_schema(schema), body, f"response {status}")


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return {k for k in kind if k != "null"}
    return {kind} if isinstance(kind, str) else set()


def _coerce(schema: Mapping[str, Any], values: list[str]) -> object:
    """A form value in the type its schema names; left as a string when it does not parse, so the
    schema check reports it."""
    value = values[0]
    kinds = _types(schema)
    if "integer" in kinds and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if "number" in kinds:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


# ---------------------------------------------------------------------------------------------------
# the server


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    status: int = 0
    violations: list[str] = field(default_factory=list)

    def param(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class ScriptedError:
    status: int
    code: int | None
    message: str
    retry_after: str | None
    remaining: int | None


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook request as Twilio would send it: POST ``params`` (form-encoded) to ``url`` with ``headers``."""

    url: str
    params: dict[str, str]
    signature: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Twilio-Signature": self.signature, "Content-Type": "application/x-www-form-urlencoded"}


class _PromptServer(uvicorn.Server):
    """Stops as soon as asked, rather than at its next 0.1 s tick: tests start and stop many."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stop_requested = asyncio.Event()

    async def main_loop(self) -> None:
        await self.on_tick(0)
        await self.stop_requested.wait()


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC).replace(microsecond=0))


class TwilioApiServer:
    """See the module docstring. Use as ``async with``; ``base_url`` is valid inside."""

    def __init__(
        self,
        *,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        spec_path: Path | None = None,
        magic_numbers: bool = True,
        fail_on_violations: bool = True,
    ) -> None:
        path = spec_path or Path(os.environ.get("CRM_TWILIO_OPENAPI_SPEC", DEFAULT_SPEC_PATH))
        if not path.is_file():
            raise FileNotFoundError(f"Twilio OpenAPI spec not found at {path} (set CRM_TWILIO_OPENAPI_SPEC)")
        self.spec = OpenApiSpec.load(path)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.magic_numbers = magic_numbers
        self.fail_on_violations = fail_on_violations
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self._errors: dict[str, list[ScriptedError]] = {}
        self._delays: dict[str, float] = {}
        self._closing = asyncio.Event()
        self._server: _PromptServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # lifecycle

    async def __aenter__(self) -> TwilioApiServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, log_level="warning", access_log=False,
            timeout_graceful_shutdown=2,
        )  # fmt: skip
        self._server = _PromptServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the local Twilio API server did not start")
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self._closing.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.stop_requested.set()
            await self._task
        if self.fail_on_violations and exc_type is None:
            self.assert_no_violations()

    # scripting

    def fail_for(
        self,
        to: str,
        *,
        code: int | None,
        status: int = 400,
        message: str | None = None,
        retry_after: float | str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer message creation to ``to`` with a Twilio error: ``times`` times (None: always)."""
        text = message or TWILIO_ERROR_MESSAGES.get(code or 0, f"HTTP {status} error")
        retry = None if retry_after is None else str(retry_after)
        self._errors.setdefault(to, []).append(ScriptedError(status, code, text, retry, times))

    def opt_out(self, to: str) -> None:
        self.fail_for(to, code=21610)

    def rate_limit(self, to: str, *, retry_after: float | str | None = 1, times: int | None = 1) -> None:
        self.fail_for(to, code=20429, status=429, retry_after=retry_after, times=times)

    def delay_for(self, to: str, seconds: float) -> None:
        """Create the message, then wait ``seconds`` before answering (to make a client time out)."""
        self._delays[to] = seconds

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        message = self.messages[sid]
        message["status"] = status
        message["error_code"] = error_code
        message["date_updated"] = _rfc2822(datetime.now(UTC))

    def reset(self) -> None:
        self.requests.clear()
        self.violations.clear()
        self.messages.clear()
        self._errors.clear()
        self._delays.clear()

    def assert_no_violations(self) -> None:
        assert not self.violations, "requests broke Twilio's OpenAPI spec:\n" + "\n".join(self.violations)

    @property
    def created(self) -> list[RecordedRequest]:
        """Message-creation requests that were accepted."""
        return [r for r in self.requests if r.method == "POST" and r.status == 201]

    # webhooks

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """X-Twilio-Signature for a webhook POST of ``params`` to ``url``, signed with this account's token."""
        return str(RequestValidator(self.auth_token).compute_signature(url, dict(params)))

    def _signed(self, url: str, params: dict[str, str]) -> SignedWebhook:
        return SignedWebhook(url, params, self.sign(url, params))

    def status_callback_request(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> SignedWebhook:
        """The status callback Twilio would send for message ``sid`` (to its StatusCallback unless ``url``)."""
        message = self.messages[sid]
        target = url or message.get("_status_callback")
        if not target:
            raise ValueError(f"message {sid} has no StatusCallback")
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "MessageSid": sid, "SmsSid": sid,
            "MessageStatus": status, "SmsStatus": status, "To": message["to"],
        }  # fmt: skip
        if message.get("from"):
            params["From"] = message["from"]
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self._signed(target, params)

    def inbound_message_request(self, url: str, *, from_: str, to: str, body: str) -> SignedWebhook:
        """The webhook Twilio would send for an SMS from ``from_`` to our number ``to``."""
        sid = _sid("SM")
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "MessageSid": sid, "SmsSid": sid,
            "SmsMessageSid": sid, "SmsStatus": "received", "From": from_, "To": to, "Body": body,
            "NumMedia": "0", "NumSegments": str(max(1, count_segments(body).segments)),
        }  # fmt: skip
        return self._signed(url, params)

    # request handling

    def _authenticated(self, request: Request) -> bool | None:
        """None: no Basic credentials at all; else whether they are this account's."""
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user == self.account_sid and password == self.auth_token

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
            form={},
        )
        self.requests.append(record)
        response = await self._answer(request, body, record)
        record.status = response.status_code
        return response

    def _violation(self, record: RecordedRequest, problems: Iterable[str], status: int = 400) -> Response:
        problems = list(problems)
        record.violations += problems
        self.violations += [f"{record.method} {record.path}: {p}" for p in problems]
        return self._twilio_error(status, None, "OpenAPI violation: " + "; ".join(problems))

    @staticmethod
    def _twilio_error(status: int, code: int | None, message: str, headers: dict[str, str] | None = None) -> Response:
        content: dict[str, object] = {"code": code, "message": message, "status": status}
        if code is not None:
            content["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
        return JSONResponse(content, status_code=status, headers=headers)

    async def _answer(self, request: Request, body: bytes, record: RecordedRequest) -> Response:
        try:
            operation = self.spec.find_operation(request.method, request.url.path)
        except SpecViolationError as exc:
            return self._violation(record, [str(exc)], exc.status)
        problems, record.form = self.spec.request_violations(
            operation, record.query, request.headers.get("content-type"), body
        )
        authenticated = self._authenticated(request)
        if authenticated is None:
            problems.append("no HTTP Basic credentials (the spec requires accountSid_authToken)")
        if problems:
            return self._violation(record, problems)
        if not authenticated:
            return self._twilio_error(401, 20003, TWILIO_ERROR_MESSAGES[20003])
        if operation.path_params.get("AccountSid") != self.account_sid:
            return self._twilio_error(404, 20404, TWILIO_ERROR_MESSAGES[20404])

        if (operation.method, operation.template) == ("POST", "/2010-04-01/Accounts/{AccountSid}/Messages.json"):
            status, content, headers = await self._create_message(record)
        elif (operation.method, operation.template) == ("GET", "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"):
            status, content, headers = self._fetch_message(operation.path_params["Sid"])
        else:
            self.violations.append(f"{record.method} {record.path}: valid, but this server does not implement it")
            return self._twilio_error(501, None, "not implemented by the local Twilio API server")
        if status < 300:
            problems = self.spec.response_violations(operation, status, content)
            if problems:
                self.violations += [f"{record.method} {record.path} (server's own answer): {p}" for p in problems]
            return JSONResponse({k: v for k, v in content.items() if not k.startswith("_")}, status, headers)
        return self._twilio_error(status, content.get("code"), content["message"], headers)

    def _scripted_error(self, to: str, from_: str | None) -> ScriptedError | None:
        for error in self._errors.get(to, []):
            if error.remaining is not None:
                error.remaining -= 1
                if error.remaining <= 0:
                    self._errors[to].remove(error)
            return error
        if self.magic_numbers:
            code = MAGIC_TO.get(to) or MAGIC_FROM.get(from_ or "")
            if code is not None:
                return ScriptedError(400, code, TWILIO_ERROR_MESSAGES[code], None, None)
        return None

    async def _create_message(self, record: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        to = record.param("To") or ""
        from_ = record.param("From")
        service = record.param("MessagingServiceSid")
        text = record.param("Body")
        error = self._scripted_error(to, from_)
        if error is not None:
            headers = {"Retry-After": error.retry_after} if error.retry_after is not None else {}
            return error.status, {"code": error.code, "message": error.message}, headers
        if not from_ and not service:
            return 400, {"code": 21603, "message": TWILIO_ERROR_MESSAGES[21603]}, {}
        if not text and not record.form.get("MediaUrl") and not record.param("ContentSid"):
            return 400, {"code": 21602, "message": TWILIO_ERROR_MESSAGES[21602]}, {}
        if text and len(text) > 1600:
            return 400, {"code": 21617, "message": TWILIO_ERROR_MESSAGES[21617]}, {}
        sid = _sid("SM")
        now = _rfc2822(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        message: dict[str, Any] = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": text or "",
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": from_, "messaging_service_sid": service,
            "num_media": str(len(record.form.get("MediaUrl", []))),
            "num_segments": str(count_segments(text or "").segments), "price": None, "price_unit": "USD",
            "sid": sid, "status": "queued", "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to, "uri": uri, "_status_callback": record.param("StatusCallback"),
        }  # fmt: skip
        self.messages[sid] = message
        delay = self._delays.get(to)
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        return 201, message, {}

    def _fetch_message(self, sid: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        message = self.messages.get(sid)
        if message is None:
            return 404, {"code": 20404, "message": TWILIO_ERROR_MESSAGES[20404]}, {}
        return 200, message, {}
