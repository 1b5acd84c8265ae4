"""SMS through Twilio's Messages API, with the official ``twilio`` client used asynchronously.

``api_base_url`` points the client at a Twilio-compatible provider or at the local test server:
the client's ``region``/``edge`` settings only change the ``*.twilio.com`` host name, so the
rewrite happens in a small ``AsyncTwilioHttpClient`` subclass instead.

Requests are never retried here: Twilio has no idempotency key on message creation, so a retry
after an ambiguous failure could send the text twice. The caller (the outbox) decides, using the
exception's ``retry_after`` and ``maybe_sent``.
"""

from __future__ import annotations

import base64
import contextvars
import email.utils
import ipaddress
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from crm.messaging.ports.sms import (
    OPTED_OUT_ERROR_CODE,
    OutgoingSms,
    SmsError,
    SmsNotConfigured,
    SmsPermanentError,
    SmsReceipt,
    SmsRecipientOptedOut,
    SmsSender,
    SmsTransientError,
)

__all__ = ["RebasingAsyncTwilioHttpClient", "TwilioSmsSender", "map_twilio_error", "rebase_twilio_url"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
# api.twilio.com, and api.<edge>.<region>.twilio.com / api.<region>.twilio.com.
_TWILIO_API_HOST = re.compile(r"api(\.[a-z0-9-]+){0,2}\.twilio\.com", re.IGNORECASE)

# Twilio error codes that mean "our configuration is wrong", not "this message is wrong".
_NOT_CONFIGURED_CODES = frozenset(
    {
        20003,  # authentication failed
        20005,  # account not active
        20404,  # resource (here: the account) not found
        21212,  # invalid From number
        21603,  # From (or MessagingServiceSid) missing
        21606,  # From is not a message-capable number of this account
        21659,  # From is not a Twilio number
        21701,  # Messaging Service not found
        21703,  # Messaging Service has no senders
        21704,  # Messaging Service has no senders
    }
)
# Twilio error codes that mean "not now": rate limits and full send queues.
_TRANSIENT_CODES = frozenset(
    {
        20429,  # too many concurrent requests
        21611,  # the From number's queue is full
        14107,  # send rate limit exceeded
    }
)


def rebase_twilio_url(url: str, api_base_url: str) -> str:
    """Move a Twilio API URL onto ``api_base_url`` (scheme, host, port and path prefix); other URLs are kept."""
    parts = urlsplit(url)
    if not _TWILIO_API_HOST.fullmatch(parts.hostname or ""):
        return url
    base = urlsplit(api_base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _ResponseInfo:
    headers: Mapping[str, str] | None = None


# Set by ``TwilioSmsSender.send`` for the duration of one request, so that response headers
# (Retry-After), which ``TwilioRestException`` does not carry, can be read back safely even when
# several sends run concurrently on one client.
_current_response: contextvars.ContextVar[_ResponseInfo | None] = contextvars.ContextVar(
    "twilio_current_response", default=None
)


class RebasingAsyncTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """``AsyncTwilioHttpClient`` that can send Twilio API requests to another base URL.

    It also applies the client-wide ``timeout`` to every request: the parent class passes only the
    per-request timeout to aiohttp, so without this a request would have none at all.
    """

    def __init__(self, *, api_base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.api_base_url = api_base_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the parent class's signature
        allow_redirects: bool = False,
    ) -> Response:
        if self.api_base_url:
            url = rebase_twilio_url(url, self.api_base_url)
        if auth is not None:
            # aiohttp deprecates its ``auth`` argument; send the same header ourselves. The parent
            # class leaves headers named "authorization" out of its log.
            headers = {**(headers or {}), "Authorization": _basic_auth(*auth)}
        response: Response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        info = _current_response.get()
        if info is not None:
            info.headers = response.headers
        return response


def _basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Read Retry-After: seconds, or an HTTP date."""
    if not headers:
        return None
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


def map_twilio_error(status: int, code: int | None, message: str, retry_after: float | None = None) -> SmsError:
    """Translate a Twilio API error (HTTP status, Twilio error code) into the port's exception."""
    if code == OPTED_OUT_ERROR_CODE:
        return SmsRecipientOptedOut(message or "recipient has opted out", code)
    if status == 429 or code in _TRANSIENT_CODES:
        return SmsTransientError(message, retry_after, code=code)
    if status >= 500:
        return SmsTransientError(message, retry_after, code=code)
    if status in (401, 403) or code in _NOT_CONFIGURED_CODES:
        return SmsNotConfigured(message, code)
    return SmsPermanentError(code if code is not None else status, message)


def _mask(number: str) -> str:
    """+886912345678 -> +88691*****78: enough to tell numbers apart in logs, not enough to dial."""
    return number[:6] + "*" * max(0, len(number) - 8) + number[-2:] if len(number) > 8 else "***"


def _decimal(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _int(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


class TwilioSmsSender(SmsSender):
    """Sends SMS with Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

    Give ``from_number``, ``messaging_service_sid``, or both (then Twilio uses that number from the
    service's pool). ``validity_period`` (seconds, 1-36000) makes Twilio drop a message still
    queued after that long, rather than deliver it hours late. The HTTP session is opened on first
    use, inside the running event loop, and closed by ``aclose()``.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str | None = None,
        region: str | None = None,
        edge: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        validity_period: int | None = None,
    ) -> None:
        if not _ACCOUNT_SID.fullmatch(account_sid or ""):
            raise SmsNotConfigured("Twilio account SID must look like AC followed by 32 hex digits")
        if not auth_token:
            raise SmsNotConfigured("Twilio auth token is missing")
        if not from_number and not messaging_service_sid:
            raise SmsNotConfigured("Twilio needs a from_number or a messaging_service_sid")
        if messaging_service_sid and not _MESSAGING_SERVICE_SID.fullmatch(messaging_service_sid):
            raise SmsNotConfigured("Twilio messaging service SID must look like MG followed by 32 hex digits")
        if validity_period is not None and not 1 <= validity_period <= 36000:
            raise SmsNotConfigured("Twilio validity_period must be between 1 and 36000 seconds")
        if timeout <= 0:
            raise SmsNotConfigured("timeout must be positive")
        if api_base_url:
            base = urlsplit(api_base_url)
            if base.scheme not in ("http", "https") or not base.hostname:
                raise SmsNotConfigured(f"api_base_url must be an absolute http(s) URL, got {api_base_url!r}")
            if base.scheme == "http" and not _is_loopback(base.hostname):
                # Basic auth in clear text would give the auth token away.
                raise SmsNotConfigured("api_base_url must use https unless it is a loopback address")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.api_base_url = api_base_url
        self.region = region
        self.edge = edge
        self.timeout = timeout
        self.validity_period = validity_period
        self._http: RebasingAsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def __repr__(self) -> str:
        return (
            f"TwilioSmsSender(account_sid={self.account_sid!r}, auth_token='***', "
            f"from_number={self.from_number!r}, messaging_service_sid={self.messaging_service_sid!r}, "
            f"api_base_url={self.api_base_url!r})"
        )

    def _get_client(self) -> Client:
        if self._client is None:
            self._http = RebasingAsyncTwilioHttpClient(api_base_url=self.api_base_url, timeout=self.timeout)
            client = Client(self.account_sid, self._auth_token, http_client=self._http)
            # Only our settings count: the client would otherwise pick these up from TWILIO_* variables.
            client.region = self.region
            client.edge = self.edge
            self._client = client
        return self._client

    async def send(self, message: OutgoingSms) -> SmsReceipt:
        client = self._get_client()
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.from_number:
            params["from_"] = self.from_number
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if message.status_callback_url:
            params["status_callback"] = message.status_callback_url
        if self.validity_period is not None:
            params["validity_period"] = self.validity_period

        info = _ResponseInfo()
        token = _current_response.set(info)
        try:
            created = await client.messages.create_async(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = map_twilio_error(int(exc.status), _int(exc.code), _error_text(exc), _retry_after(info.headers))
            logger.warning(
                "SMS to %s not sent (key %s): HTTP %s, Twilio code %s: %s -> %s",
                _mask(message.to), message.idempotency_key, exc.status, exc.code, error.reason,
                type(error).__name__,
            )  # fmt: skip
            raise error from exc
        # aiohttp's errors are not chained: some carry the request headers, Authorization included.
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # Could not connect: the request never left, so a retry cannot send twice.
            raise self._failed(message, "cannot reach Twilio", exc, maybe_sent=False) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have been processed; only the answer is missing.
            raise self._failed(message, "no answer from Twilio", exc, maybe_sent=True) from None
        except json.JSONDecodeError as exc:
            raise self._failed(message, "unreadable answer from Twilio", exc, maybe_sent=True) from None
        except TwilioException as exc:
            raise SmsNotConfigured(f"Twilio client error: {exc}") from exc
        finally:
            _current_response.reset(token)

        receipt = SmsReceipt(
            provider_id=str(created.sid),
            status=str(created.status or "queued"),
            segments=_int(created.num_segments),
            price=_decimal(created.price),
            price_unit=created.price_unit,
        )
        logger.info(
            "SMS to %s accepted as %s (key %s, status %s, %s segment(s))",
            _mask(message.to), receipt.provider_id, message.idempotency_key, receipt.status, receipt.segments,
        )  # fmt: skip
        return receipt

    def _failed(self, message: OutgoingSms, what: str, exc: BaseException, *, maybe_sent: bool) -> SmsTransientError:
        detail = str(exc)
        reason = f"{what}: {type(exc).__name__}" + (f": {detail}" if detail else "")
        logger.warning(
            "SMS to %s not sent (key %s): %s (maybe sent: %s)",
            _mask(message.to), message.idempotency_key, reason, maybe_sent,
        )  # fmt: skip
        return SmsTransientError(reason, maybe_sent=maybe_sent)

    async def aclose(self) -> None:
        """Close the HTTP session; a later ``send`` opens a new one."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> TwilioSmsSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _error_text(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioServiceException):
        return exc.detail or exc.title or f"HTTP {exc.status}"
    text = str(exc.msg or "")
    # twilio-python prefixes the API message with its own "Unable to create record: ".
    return text.removeprefix("Unable to create record: ") or f"HTTP {exc.status}"
