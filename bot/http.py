"""The HTTP endpoint served alongside the bot (Starlette on uvicorn, in the bot's event loop).

Routes:
- ``POST /telegram`` — Telegram webhook (only with TELEGRAM_WEBHOOK=1): the secret header is compared in constant
  time, then the update is stored (bot/update_inbox.py) and answered 200 only once it is; a worker handles the
  stored updates in order, and an update_id seen before is dropped. Long polling stores the same way.
- ``POST /twilio/sms`` — an SMS a customer sent us; the reply (if any) goes back as TwiML.
- ``POST /twilio/status`` — delivery reports for the SMS we sent (StatusCallback).
  Both Twilio routes check ``X-Twilio-Signature`` first: a missing or wrong one gets 403 and nothing is stored;
  without TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL to check it, they answer 503.
  Every body is read up to MAX_WEBHOOK_BYTES, counted as it arrives (a chunked body declares no length): 413.
- ``GET /calendar/<token>.ics`` — a person's calendar feed (crm/office/calendar.py); 404 for any other token.
- ``GET /healthz`` — the database answers; ``GET /metrics`` — Prometheus text.

``run(settings)`` is the whole `crmbot run` process: the bot (polling or webhook), the job queue and this server in
one event loop, stopped gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as xml_escape

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.constants import UpdateType
from telegram.ext import Application, TypeHandler
from twilio.request_validator import RequestValidator

from bot.update_inbox import UpdateInbox, poll
from crm.messaging.messaging import DeliveryReport
from outbound.dispatch_metrics import CONTENT_TYPE_LATEST, OutboxMetrics
from storage.inbound_updates import InboundUpdates

if TYPE_CHECKING:
    from bot.settings import Settings
    from crm.services import Services

__all__ = ["HttpServer", "build_http_app", "count_updates", "read_body", "run", "twiml"]

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1_000_000  # Telegram updates are a few KB; Twilio forms smaller still
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

AnyApp = Application[Any, Any, Any, Any, Any, Any]


def twiml(reply: str | None) -> str:
    """A TwiML answer: one message back, or none. Text is escaped (and characters XML forbids dropped)."""
    if not reply:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    text = xml_escape(_XML_UNSAFE.sub("", reply))
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{text}</Message></Response>'


async def read_body(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    """The request body, or 413 as soon as more than ``limit`` bytes arrived. Content-Length alone proves
    nothing: a chunked request has none, and a client may send more than it declared."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, "too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, "too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _metrics_of(services: Services) -> OutboxMetrics:
    metrics = getattr(services.messaging.outbox_worker, "metrics", None)
    return metrics if isinstance(metrics, OutboxMetrics) else OutboxMetrics()


# The kinds of update the handlers act on, and no more: Telegram then does not send reactions, member changes
# and the like for the bot to receive, parse and drop (the list travels with every long poll, so it stays short).
ALLOWED_UPDATES = [UpdateType.MESSAGE, UpdateType.CALLBACK_QUERY]


def count_updates(app: AnyApp, metrics: OutboxMetrics) -> None:
    """Count every update (polling or webhook) before anything else sees it."""

    from bot.app import CrmApplication

    if isinstance(app, CrmApplication):  # counted as it arrives, without a handler group of its own
        app.on_update.append(metrics.count_update)
        return

    async def _count(update: object, context: object) -> None:
        metrics.count_update()

    app.add_handler(TypeHandler(Update, _count), group=-2)


class _TwilioGate:
    """Twilio's signature: HMAC-SHA1 with the auth token over the public URL and the sorted POST parameters."""

    def __init__(self, auth_token: str | None, public_base_url: str | None) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._base = public_base_url
        self.configured = self._validator is not None and self._base is not None
        if not self.configured:
            # Said once here: a line per refused request would let anyone fill the log by posting to these routes.
            log.warning("Twilio webhooks (/twilio/*) are refused with 503: TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL "
                        "are needed to check their signature")

    async def form(self, request: Request) -> dict[str, str] | None:
        """The POST parameters if the request is signed by Twilio, else None (and the caller answers 403)."""
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature or self._validator is None or self._base is None:
            return None
        # Twilio posts url-encoded forms only; parsing the bounded body here keeps the multipart parser (and its
        # unbounded reads) away from requests nobody has authenticated yet.
        body = await read_body(request)
        try:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
        url = self._base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not self._validator.validate(url, params, signature):
            log.warning("Twilio webhook with a wrong signature refused (%s)", request.url.path)
            return None
        return params


def build_http_app(app: AnyApp, *, metrics: OutboxMetrics | None = None, inbox: UpdateInbox | None = None) -> Starlette:
    """The routes; ``inbox`` receives webhook updates (made here from the runtime's database when not given)."""
    settings: Settings = app.bot_data["settings"]
    services: Services = app.bot_data["services"]
    metrics = metrics or _metrics_of(services)
    twilio = _TwilioGate(settings.twilio_auth_token, settings.public_base_url)
    secret = (settings.webhook_secret or "").encode()
    if settings.telegram_webhook and inbox is None:
        inbox = UpdateInbox(app, InboundUpdates(app.bot_data["runtime"].engine))

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # Constant time: the comparison must not tell an attacker how much of the secret they guessed.
        if not secret or not hmac.compare_digest(given, secret):
            return PlainTextResponse("forbidden", status_code=403)
        body = await read_body(request)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                return PlainTextResponse("bad update", status_code=400)
            update = Update.de_json(data, app.bot)
        except Exception:  # PTB's parsers assume the Bot API's shapes; any other shape fails wherever it differs
            log.info("webhook body that is not a Telegram update refused")
            return PlainTextResponse("bad update", status_code=400)
        assert inbox is not None
        # Answered only once stored: Telegram delivers again until it gets a 2xx, so nothing is lost in between.
        if not await inbox.receive(data["update_id"], body.decode(), update):
            log.info("webhook update %s delivered again; already stored", data["update_id"])
        return Response(status_code=200)

    async def inbound_sms(request: Request) -> Response:
        if not twilio.configured:
            return PlainTextResponse("not configured", status_code=503)
        params = await twilio.form(request)
        if params is None:
            return PlainTextResponse("forbidden", status_code=403)
        reply = await services.messaging.inbound_sms(params.get("From", ""), params.get("To", ""), params.get("Body",
                                                                                                              ""))
        return Response(twiml(reply), media_type="application/xml")

    async def status_callback(request: Request) -> Response:
        if not twilio.configured:
            return PlainTextResponse("not configured", status_code=503)
        params = await twilio.form(request)
        if params is None:
            return PlainTextResponse("forbidden", status_code=403)
        provider_id = params.get("MessageSid") or params.get("SmsSid") or ""
        status = params.get("MessageStatus") or params.get("SmsStatus") or ""
        if provider_id and status:
            found = await services.messaging.messaging.record_delivery(DeliveryReport(
                provider_id, status, params.get("ErrorCode") or None, params.get("ErrorMessage") or None))
            if found is None:
                # Usually the dispatcher has not written the send's outcome yet; see record_delivery.
                log.info("delivery report %s for %s before any message carries that id", status, provider_id)
        return Response(twiml(None), media_type="application/xml")

    async def healthz(request: Request) -> Response:
        try:
            async with services.uow(write=False) as uow:
                await uow.organisation.state.version()
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up", "bot": app.running})

    async def calendar_feed(request: Request) -> Response:
        # A token nobody holds (never made, reset, its person gone) is a plain 404: nothing tells them apart.
        feed = await services.office.calendar.feed(str(request.path_params.get("token", "")))
        if feed is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(feed, media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300"})

    async def metrics_endpoint(request: Request) -> Response:
        async with services.uow(write=False) as uow:
            metrics.set_depth(await uow.messaging.outbox.depth())
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/twilio/sms", inbound_sms, methods=["POST"]),
        Route("/twilio/status", status_callback, methods=["POST"]),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
    ]
    if settings.telegram_webhook:
        routes.append(Route("/telegram", telegram_webhook, methods=["POST"]))
    asgi = Starlette(routes=routes)
    asgi.state.telegram_inbox = inbox
    return asgi


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the bot process owns SIGINT/SIGTERM and stops us in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """uvicorn running as a task in the current event loop."""

    def __init__(self, asgi: Starlette, host: str, port: int) -> None:
        # log_config=None: uvicorn's records go through the root logger's handlers (and their redaction,
        # bot/log_redaction.py) instead of handlers of its own.
        config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", lifespan="off",
                                access_log=False, server_header=False, log_config=None)
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self._port = port

    async def _serve(self) -> None:
        # uvicorn calls sys.exit() when it cannot bind; out of a task, SystemExit would stop the whole loop.
        with contextlib.suppress(SystemExit):
            await self._server.serve()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._serve())
        while not self._server.started:
            if self._task.done():
                raise RuntimeError(f"the HTTP endpoint could not start on {self._server.config.host}:"
                                   f"{self._server.config.port} (port in use?)")
            await asyncio.sleep(0.01)
        self._port = int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS picked when asked for port 0)."""
        return self._port

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None


async def run(settings: Settings) -> None:
    """`crmbot run`: bot + jobs + HTTP endpoint in one loop until SIGINT/SIGTERM."""
    from bot.app import build_application, build_runtime

    app = build_application(build_runtime(settings))
    services: Services = app.bot_data["services"]
    metrics = _metrics_of(services)
    count_updates(app, metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    inbox = UpdateInbox(app, InboundUpdates(app.bot_data["runtime"].engine))
    poller: asyncio.Task[None] | None = None
    server = HttpServer(build_http_app(app, metrics=metrics, inbox=inbox), settings.http_host, settings.http_port)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await server.start()
        log.info("HTTP endpoint on %s:%s", settings.http_host, server.port)
        if settings.telegram_webhook:
            url = f"{settings.public_base_url}/telegram"
            await app.bot.set_webhook(url, secret_token=settings.webhook_secret, allowed_updates=ALLOWED_UPDATES)
            log.info("receiving updates by webhook at %s", url)
        else:
            await app.bot.delete_webhook()
            # Our own getUpdates loop rather than PTB's Updater: it stores each batch before acknowledging it.
            poller = asyncio.create_task(poll(app, inbox, list(ALLOWED_UPDATES), stop), name="long-polling")
            log.info("receiving updates by long polling from %s", settings.telegram_api_base_url)
        await app.start()
        await inbox.start()  # with what an earlier process stored and did not handle
        await stop.wait()
        log.info("stopping")
    finally:
        # As PTB's own run_polling: no more updates coming in, then the application, then shutdown.
        if poller is not None:
            poller.cancel()  # a batch it fetched is stored or not acknowledged: the next start has it either way
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await server.stop()  # no new webhook updates from here on
        await inbox.stop()
        if app.running:
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
