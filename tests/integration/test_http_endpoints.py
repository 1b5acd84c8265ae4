"""The HTTP endpoint: Telegram webhook secret, Twilio signatures (valid, wrong, missing), delivery reports applied to
the outbox, TwiML replies, /healthz and /metrics — against the real Application, the Twilio adapter talking to the
local Twilio-compatible server, and a real database."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from bot.http import HttpServer, build_http_app, count_updates, twiml
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.messaging.outbox import OutboxMessage, OutboxStatus
from crm.messaging.ports.sms import OutgoingSms, SmsReceipt, SmsSender
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services
from outbound.dispatch import Dispatcher
from outbound.dispatch_metrics import OutboxMetrics
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, running_bot
from tests.support.twilio_api_server import TwilioApiServer

PUBLIC = "https://crm.example.com"
SECRET = "s3cret_Token-for-tests"
PHONE = "+886912345678"
OUR_NUMBER = "+15005550006"


@dataclass
class RecordingInbound:
    """The inbound-SMS port: remembers what arrived and answers with a fixed reply."""

    reply: str | None
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, from_e164: str, to_e164: str, body: str) -> str | None:
        self.calls.append((from_e164, to_e164, body))
        return self.reply


@dataclass
class Endpoint:
    bot: BotHarness
    twilio: TwilioApiServer
    http: httpx.AsyncClient
    asgi: Starlette
    metrics: OutboxMetrics
    admin: Actor


@asynccontextmanager
async def endpoint(engine: AsyncEngine, clock: ManualClock, **settings: object) -> AsyncIterator[Endpoint]:
    async with TwilioApiServer() as twilio:
        config = {"twilio_account_sid": twilio.account_sid, "twilio_auth_token": twilio.auth_token,
                  "twilio_from_number": OUR_NUMBER, "twilio_api_base_url": twilio.base_url,
                  "public_base_url": PUBLIC, "telegram_webhook": True, "webhook_secret": SECRET,
                  "outbox_tick_seconds": 60, **settings}
        async with running_bot(engine, clock, **config) as bot:
            worker = bot.services.messaging.outbox_worker
            metrics = worker.metrics
            count_updates(bot.app, metrics)
            asgi = build_http_app(bot.app)
            admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
            assert admin is not None
            transport = httpx.ASGITransport(app=asgi)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
                try:
                    yield Endpoint(bot, twilio, http, asgi, metrics, admin)
                finally:
                    if asgi.state.telegram_inbox is not None:
                        await asgi.state.telegram_inbox.stop()
            await worker.adapters.sms.aclose()


async def _sent_sms(ep: Endpoint) -> OutboxMessage:
    services: Services = ep.bot.services
    acme = await services.customers.customers.create(ep.admin, CustomerDraft(name="Acme", phones=(PHONE,)))
    queued = await services.messaging.messaging.send_sms(ep.admin, "customer", acme.id, "Your order shipped",
                                                         draft_key="h1")
    for _ in range(50):
        await services.messaging.outbox_worker.run_once()
        message = await services.messaging.messaging.get(ep.admin, queued.id)
        if message.status is OutboxStatus.SENT:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("the SMS was not sent")


async def _count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# ---- Twilio -------------------------------------------------------------------------------------------------


async def test_status_callback_signed_by_twilio_is_applied(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        sent = await _sent_sms(ep)
        [create] = ep.twilio.created
        assert create.param("StatusCallback") == f"{PUBLIC}/twilio/status"  # Twilio will report back to us
        assert sent.provider_id in ep.twilio.messages

        webhook = ep.twilio.status_callback_request(sent.provider_id or "", "delivered")
        answer = await ep.http.post("/twilio/status", data=webhook.params, headers=webhook.headers)
        assert answer.status_code == 200
        assert (await ep.bot.services.messaging.messaging.get(ep.admin, sent.id)).status is OutboxStatus.DELIVERED


async def test_a_status_callback_before_the_send_is_recorded_is_not_lost(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        services: Services = ep.bot.services
        worker = services.messaging.outbox_worker
        assert isinstance(worker, Dispatcher)  # the test swaps the dispatcher's SMS adapter
        adapter = worker.adapters.sms
        assert adapter is not None
        twilio: SmsSender = adapter  # narrowed for CallbackFirst.send below
        answers: list[int] = []

        class CallbackFirst:
            """The Twilio adapter, with Twilio's callback arriving before the dispatcher has the API's answer."""

            async def send(self, message: OutgoingSms) -> SmsReceipt:
                receipt = await twilio.send(message)
                webhook = ep.twilio.status_callback_request(receipt.provider_id, "delivered")
                answer = await ep.http.post("/twilio/status", data=webhook.params, headers=webhook.headers)
                answers.append(answer.status_code)
                return receipt

        worker.adapters.sms = CallbackFirst()
        try:
            acme = await services.customers.customers.create(ep.admin, CustomerDraft(name="Acme", phones=(PHONE,)))
            queued = await services.messaging.messaging.send_sms(ep.admin, "customer", acme.id, "Shipped",
                                                                 draft_key="e1")
            for _ in range(50):
                await worker.run_once()
                message = await services.messaging.messaging.get(ep.admin, queued.id)
                if message.status not in (OutboxStatus.QUEUED, OutboxStatus.SENDING):
                    break
                await asyncio.sleep(0.05)
        finally:
            worker.adapters.sms = twilio
        assert answers == [200]
        assert message.status is OutboxStatus.DELIVERED and message.provider_id in ep.twilio.messages
        assert await _count(ep.bot.runtime.engine, t.outbox_early_reports) == 0


async def test_wrong_or_missing_signature_is_refused_before_anything_is_stored(engine: AsyncEngine,
                                                                               clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        sent = await _sent_sms(ep)
        webhook = ep.twilio.status_callback_request(sent.provider_id or "", "failed", error_code=30003)
        forged = dict(webhook.params, MessageStatus="delivered")  # signed for "failed", sent as "delivered"
        attempts = [
            (forged, webhook.headers),
            (webhook.params, {**webhook.headers, "X-Twilio-Signature": "AAAA" + webhook.signature[4:]}),
            (webhook.params, {"Content-Type": "application/x-www-form-urlencoded"}),
        ]
        for params, headers in attempts:
            answer = await ep.http.post("/twilio/status", data=params, headers=headers)
            assert answer.status_code == 403
        # Signed for another URL (a replay against a different endpoint) is refused too.
        other = ep.twilio.status_callback_request(sent.provider_id or "", "delivered", url=f"{PUBLIC}/elsewhere")
        assert (await ep.http.post("/twilio/status", data=other.params, headers=other.headers)).status_code == 403
        assert (await ep.bot.services.messaging.messaging.get(ep.admin, sent.id)).status is OutboxStatus.SENT

        inbound = RecordingInbound("thanks")
        ep.bot.services.messaging.inbound_sms = inbound
        message = ep.twilio.inbound_message_request(f"{PUBLIC}/twilio/sms", from_=PHONE, to=OUR_NUMBER, body="STOP")
        audit_rows = await _count(ep.bot.runtime.engine, t.audit_log)
        bad = await ep.http.post("/twilio/sms", data=dict(message.params, Body="START"), headers=message.headers)
        assert bad.status_code == 403 and inbound.calls == []
        assert await _count(ep.bot.runtime.engine, t.audit_log) == audit_rows


async def test_inbound_sms_reply_is_escaped_twiml(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        reply = "You're <unsubscribed> from A&B \"news\". 回覆 START 重新訂閱\x07"
        inbound = RecordingInbound(reply)
        ep.bot.services.messaging.inbound_sms = inbound
        message = ep.twilio.inbound_message_request(f"{PUBLIC}/twilio/sms", from_=PHONE, to=OUR_NUMBER, body="退訂")
        answer = await ep.http.post("/twilio/sms", data=message.params, headers=message.headers)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
        assert inbound.calls == [(PHONE, OUR_NUMBER, "退訂")]
        assert "&lt;unsubscribed&gt;" in answer.text and "A&amp;B" in answer.text
        root = ET.fromstring(answer.content)
        assert root.tag == "Response" and root.findtext("Message") == reply.replace("\x07", "")

        inbound.reply = None  # nothing to say: an empty Response, so Twilio sends nothing back
        quiet = ep.twilio.inbound_message_request(f"{PUBLIC}/twilio/sms", from_=PHONE, to=OUR_NUMBER, body="hi")
        answer = await ep.http.post("/twilio/sms", data=quiet.params, headers=quiet.headers)
        assert ET.fromstring(answer.content).find("Message") is None


async def test_the_sms_programme_answers_stop_through_the_endpoint(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        message = ep.twilio.inbound_message_request(f"{PUBLIC}/twilio/sms", from_=PHONE, to=OUR_NUMBER, body="STOP")
        answer = await ep.http.post("/twilio/sms", data=message.params, headers=message.headers)
        assert answer.status_code == 200
        assert ET.fromstring(answer.content).tag == "Response"


def test_twiml_is_well_formed_for_any_text() -> None:
    for text in ("", "plain", "<script>&", "]]><x>", "\x00\x1f ok"):
        root = ET.fromstring(twiml(text))
        assert root.tag == "Response"


# ---- Telegram webhook ----------------------------------------------------------------------------------------


async def test_telegram_webhook_checks_the_secret(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        ada = ep.bot.user(ADMIN_ID, "Ada")
        update = ep.bot.api.text(ada.user, "/help", enqueue=False)
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
            assert (await ep.http.post("/telegram", json=update, headers=headers)).status_code == 403
        assert ep.bot.api.sent_messages(ada.user) == []

        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert (await ep.http.post("/telegram", content=b"{not json", headers=good)).status_code == 400
        assert (await ep.http.post("/telegram", json=update, headers=good)).status_code == 200
        for _ in range(100):  # the running Application takes it from its update queue, as with polling
            if ep.bot.api.sent_messages(ada.user):
                break
            await asyncio.sleep(0.02)
        assert ep.bot.api.sent_messages(ada.user), "the webhook update was not handled"
        text = (await ep.http.get("/metrics")).text
        assert "crmbot_updates_handled_total 1.0" in text


async def test_no_webhook_route_when_polling(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock, telegram_webhook=False) as ep:
        answer = await ep.http.post("/telegram", json={}, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 404


# ---- health and metrics --------------------------------------------------------------------------------------


async def test_healthz_and_metrics(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        health = await ep.http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        sent = await _sent_sms(ep)
        webhook = ep.twilio.status_callback_request(sent.provider_id or "", "delivered")
        await ep.http.post("/twilio/status", data=webhook.params, headers=webhook.headers)
        metrics = await ep.http.get("/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'crmbot_outbox_messages{channel="sms",status="delivered"} 1.0' in text
        assert 'crmbot_outbox_messages{channel="email",status="queued"} 0.0' in text
        assert 'crmbot_outbox_send_seconds_count{channel="sms"} 1.0' in text
        assert 'crmbot_outbox_results_total{channel="sms",result="sent"} 1.0' in text


async def test_real_server_on_loopback(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        server = HttpServer(ep.asgi, "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                assert (await client.get("/healthz")).json()["database"] == "up"
                assert (await client.post("/twilio/status", data={"MessageSid": "SMx"})).status_code == 403
        finally:
            await server.stop()
        other = HttpServer(ep.asgi, "127.0.0.1", 0)
        await other.start()
        try:
            taken = HttpServer(ep.asgi, "127.0.0.1", other.port)
            with pytest.raises(RuntimeError, match="could not start"):
                await taken.start()
        finally:
            await other.stop()
