"""The outbox over a real database (SQLite and PostgreSQL): enqueue in the business transaction, exclusive claims,
retries with backoff, permanent failures, carrier opt-outs, delivery reports that beat the dispatcher's write, the
send policy, pacing, and the chat-facing service."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.messaging.messaging import DeliveryReport
from crm.messaging.outbox import (
    NewOutboxMessage,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    cancel_pending,
    enqueue,
    release_held,
)
from crm.messaging.ports.outbox import Cancel, Decision, Defer, Send
from crm.messaging.ports.repositories import MessagingUnitOfWork
from crm.messaging.ports.sms import SmsPermanentError, SmsTransientError
from crm.organisation.permissions import Actor
from outbound.dispatch import MAYBE_SENT_REASON, ChannelAdapters, ChannelLimit, Dispatcher, RetryPolicy, TokenBucket
from outbound.dispatch_wiring import Sinks
from outbound.email_recording import RecordingEmailSender
from outbound.fax_recording import RecordingFaxSender
from outbound.sms_recording import RecordingSmsSender, SentSms
from scheduler.messaging.outbox import purge_reports
from storage import tables as t
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import migrated_engine
from tests.support.org import ADMIN_TG, Org

PHONE = "+886912345678"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FAST = {channel: ChannelLimit(0, 4) for channel in OutboxChannel}  # unlimited: tests about logic, not pacing


@dataclass
class ConsentLog:
    """A ConsentRecorder that records calls, and proves it runs inside the dispatcher's transaction by writing an
    audit row through the same unit of work."""

    phones: list[str] = field(default_factory=list)

    async def opted_out_by_carrier(self, uow: MessagingUnitOfWork, phone: str) -> None:
        from crm.organisation import audit

        self.phones.append(phone)
        await audit.record(uow, None, "opt_out", "phone", None, {}, {"phone": phone})


@dataclass
class Team:
    org: Org
    manager: Actor
    rep: Actor
    other_rep: Actor
    sms: RecordingSmsSender
    email: RecordingEmailSender
    fax: RecordingFaxSender
    consent: ConsentLog


async def _team(engine: AsyncEngine, clock: ManualClock, **settings: object) -> Team:
    from crm.organisation.defaults import ensure_defaults
    from crm.organisation.identity import TelegramIdentity

    sms, email, fax = RecordingSmsSender(), RecordingEmailSender(), RecordingFaxSender()
    config = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG}), **settings)
    services = build_services(config, engine, clock, sinks=Sinks(sms=sms, email=email, fax=fax))
    await ensure_defaults(services.uow)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert admin is not None
    north = await services.organisation.departments.create(admin, "North", admin.department_id)
    south = await services.organisation.departments.create(admin, "South", admin.department_id)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert admin is not None
    org = Org(services, admin, north.id, south.id, north.id)
    consent = ConsentLog()
    services.messaging.messaging.set_consent(consent)
    return Team(org, await org.join(admin, 3001, "Mia", "manager", north.id),
                await org.join(admin, 3002, "Ned", "rep", north.id),
                await org.join(admin, 3003, "Sue", "rep", south.id), sms, email, fax, consent)


def _dispatcher(team: Team, clock: ManualClock, **kwargs: object) -> Dispatcher:
    options: dict[str, object] = {"limits": FAST, "consent": team.consent, "rng": random.Random(7)}
    options.update(kwargs)
    adapters = ChannelAdapters(sms=team.sms, email=team.email, fax=team.fax)
    return Dispatcher(team.org.services.uow, clock, adapters, **options)  # type: ignore[arg-type]


def _sms(key: str, to: str = PHONE, **kwargs: object) -> NewOutboxMessage:
    return NewOutboxMessage(OutboxChannel.SMS, to, f"hello {key}", requested_by=None, idempotency_key=key,
                            **kwargs)  # type: ignore[arg-type]


async def _get(team: Team, message_id: int) -> OutboxMessage:
    async with team.org.services.uow(write=False) as uow:
        message: OutboxMessage | None = await uow.messaging.outbox.get(message_id)
    assert message is not None
    return message


async def _enqueue(team: Team, *messages: NewOutboxMessage) -> list[OutboxMessage]:
    async with team.org.services.uow() as uow:
        rows = [await enqueue(uow, m) for m in messages]
        await uow.commit()
    return rows


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one())


# ---- writing ----------------------------------------------------------------------------------------------


async def test_enqueue_belongs_to_the_business_transaction(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    async with team.org.services.uow() as uow:
        await enqueue(uow, _sms("rolled-back"))
        # no commit: the business change failed, so the message must not exist either
    assert await _count(engine) == 0

    first, again = await _enqueue(team, _sms("k1"), _sms("k1"))
    assert first.id == again.id and first.status is OutboxStatus.QUEUED
    assert await _count(engine) == 1  # the same idempotency key is one message

    with pytest.raises(ValueError):
        _sms("bad", to="0912345678")  # not E.164
    with pytest.raises(ValueError):
        NewOutboxMessage(OutboxChannel.FAX, PHONE, "", requested_by=None, idempotency_key="f")  # no document


async def test_held_messages_wait_for_release_and_cancel_stops_pending(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    held, other = await _enqueue(team, _sms("h1", held=True, campaign_id=7), _sms("h2", to="+886912000002",
                                                                                    campaign_id=8))
    dispatcher = _dispatcher(team, clock)
    await dispatcher.run_once()
    assert team.sms.bodies_to(PHONE) == [] and (await _get(team, held.id)).status is OutboxStatus.HELD
    assert (await _get(team, other.id)).status is OutboxStatus.SENT

    async with team.org.services.uow() as uow:
        assert await release_held(uow, campaign_id=7) == 1
        await uow.commit()
    later = await _enqueue(team, _sms("h3", campaign_id=9))
    async with team.org.services.uow() as uow:
        assert await cancel_pending(uow, channel=OutboxChannel.SMS, recipient=PHONE, campaign_id=9,
                                    reason="campaign stopped") == 1
        await uow.commit()
    await dispatcher.run_once()
    assert team.sms.bodies_to(PHONE) == ["hello h1"]
    cancelled = await _get(team, later[0].id)
    assert cancelled.status is OutboxStatus.CANCELLED and cancelled.last_error == "campaign stopped"


# ---- claiming -----------------------------------------------------------------------------------------------


async def test_two_workers_on_two_engines_never_claim_the_same_row(engine: AsyncEngine, db_url: str,
                                                                    clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _enqueue(team, *[_sms(f"c{i}", to=f"+8869120000{i:02d}") for i in range(60)])
    second = await migrated_engine(db_url) if engine.dialect.name == "sqlite" else _pg_engine(db_url)
    try:
        factories = [team.org.services.uow, SqlUnitOfWorkFactory(second, clock)]

        async def claim_all(index: int) -> list[int]:
            got: list[int] = []
            while True:
                async with factories[index]() as uow:
                    rows = await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), f"w{index}",
                                                      clock.now() + timedelta(minutes=1), 7)
                    await uow.commit()
                if not rows:
                    return got
                got += [r.id for r in rows]
                await asyncio.sleep(0.02)  # a dispatcher sends between claims; SQLite waiters get their turn

        first, other = await asyncio.gather(claim_all(0), claim_all(1))
    finally:
        await second.dispose()
    assert not set(first) & set(other)
    assert len(first) + len(other) == 60 and first and other  # both got work, nobody got a row twice


def _pg_engine(url: str) -> AsyncEngine:
    from storage.engine import create_engine

    return create_engine(url)


async def test_two_dispatchers_send_each_message_once(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _enqueue(team, *[_sms(f"d{i}", to=f"+8869130000{i:02d}") for i in range(40)])
    one, two = _dispatcher(team, clock, worker="one"), _dispatcher(team, clock, worker="two")
    await asyncio.gather(one.run_once(), two.run_once())
    assert len(team.sms.sent) == 40 and team.sms.duplicate_keys == []


async def test_an_expired_lease_is_claimed_again(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("lease"))
    async with team.org.services.uow() as uow:
        [claimed] = await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), "dead-worker",
                                               clock.now() + timedelta(seconds=30), 10)
        await uow.commit()
    assert claimed.status is OutboxStatus.SENDING
    dispatcher = _dispatcher(team, clock)
    assert await dispatcher.run_once() == 0  # the lease still holds: the worker may be sending it right now
    clock.advance(timedelta(seconds=31))
    assert await dispatcher.run_once() == 1
    assert (await _get(team, row.id)).status is OutboxStatus.SENT
    async with team.org.services.uow() as uow:  # the dead worker wakes up: its claim is gone
        assert not await uow.messaging.outbox.mark_sent(row.id, "dead-worker", provider_id="x", segments=1,
                                                        at=clock.now())
        await uow.commit()


# ---- failures -----------------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base=5, cap=600, max_attempts=8)
    rng = random.Random(1)
    for attempts in range(12):
        delay = policy.delay(attempts, rng=rng)
        ceiling = min(600, 5 * 2 ** attempts)
        assert ceiling * 0.5 <= delay <= ceiling
    assert policy.delay(0, retry_after=42, rng=rng) == 42  # the provider's hint wins when longer


async def test_transient_failure_retries_with_backoff_then_succeeds(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("t1"))
    team.sms.fail_next(SmsTransientError("503 from the provider", code=20500), times=2)
    dispatcher = _dispatcher(team, clock, retry=RetryPolicy(base=10, cap=3600))
    await dispatcher.run_once()
    first = await _get(team, row.id)
    assert first.status is OutboxStatus.QUEUED and first.attempts == 1 and first.last_error == "503 from the provider"
    assert timedelta(seconds=5) <= first.due_at - clock.now() <= timedelta(seconds=10)
    assert await dispatcher.run_once() == 0  # not before its time
    clock.set(first.due_at)
    await dispatcher.run_once()
    second = await _get(team, row.id)
    assert second.attempts == 2 and timedelta(seconds=10) <= second.due_at - clock.now() <= timedelta(seconds=20)
    clock.set(second.due_at)
    await dispatcher.run_once()
    done = await _get(team, row.id)
    assert done.status is OutboxStatus.SENT and done.attempts == 3 and done.provider_id
    assert done.last_error is None and len(team.sms.sent) == 1


async def test_gives_up_after_max_attempts(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("t2"))
    team.sms.fail_for(PHONE, SmsTransientError("rate limited", code=20429))
    dispatcher = _dispatcher(team, clock, retry=RetryPolicy(base=1, cap=1, max_attempts=3))
    for _ in range(3):
        await dispatcher.run_once()
        clock.advance(timedelta(seconds=5))
    failed = await _get(team, row.id)
    assert failed.status is OutboxStatus.FAILED and failed.attempts == 3
    assert failed.last_error == "gave up after 3 attempts: rate limited" and failed.error_code == "20429"


async def test_permanent_failure_keeps_the_providers_reason(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("p1"))
    team.sms.fail_for(PHONE, SmsPermanentError(21211, "Invalid 'To' Phone Number"))
    await _dispatcher(team, clock).run_once()
    failed = await _get(team, row.id)
    assert (failed.status, failed.error_code, failed.last_error) == (
        OutboxStatus.FAILED, "21211", "Invalid 'To' Phone Number")
    assert failed.finished_at == clock.now() and len(team.sms.attempts) == 1


async def test_maybe_sent_is_not_retried_blindly(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("m1"))
    team.sms.fail_next(SmsTransientError("no answer from Twilio: TimeoutError", maybe_sent=True))
    dispatcher = _dispatcher(team, clock)
    await dispatcher.run_once()
    clock.advance(timedelta(hours=1))
    await dispatcher.run_once()
    failed = await _get(team, row.id)
    assert failed.status is OutboxStatus.FAILED and failed.last_error is not None
    assert failed.last_error.startswith(MAYBE_SENT_REASON) and len(team.sms.attempts) == 1


async def test_carrier_opt_out_is_recorded_in_the_same_transaction(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("o1"))
    team.sms.opt_out(PHONE)
    await _dispatcher(team, clock).run_once()
    failed = await _get(team, row.id)
    assert failed.status is OutboxStatus.FAILED and failed.error_code == "21610"
    assert team.consent.phones == [PHONE]
    async with engine.connect() as conn:
        audit = (await conn.execute(select(t.audit_log.c.after).where(t.audit_log.c.action == "opt_out"))).all()
    assert [a.after for a in audit] == [{"phone": PHONE}]

    # The same code in a delivery report (the carrier refused after accepting) reaches the consent records too.
    team.sms.clear_failures()
    [row2] = await _enqueue(team, _sms("o2"))
    await _dispatcher(team, clock).run_once()
    sent = await _get(team, row2.id)
    assert sent.provider_id is not None
    updated = await team.org.services.messaging.messaging.record_delivery(
        DeliveryReport(sent.provider_id, "undelivered", "21610", "Attempt to send to unsubscribed recipient"))
    assert updated is not None and updated.status is OutboxStatus.FAILED
    assert updated.last_error == "Attempt to send to unsubscribed recipient"
    assert team.consent.phones == [PHONE, PHONE]


async def test_delivery_reports_never_move_backwards(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    [row] = await _enqueue(team, _sms("r1"))
    await _dispatcher(team, clock).run_once()
    sid = (await _get(team, row.id)).provider_id
    assert sid is not None
    messaging = team.org.services.messaging.messaging
    delivered = await messaging.record_delivery(DeliveryReport(sid, "delivered"))
    assert delivered is not None and delivered.status is OutboxStatus.DELIVERED
    late = await messaging.record_delivery(DeliveryReport(sid, "failed", "30003", "Unreachable"))
    assert late is not None and late.status is OutboxStatus.DELIVERED  # a late report does not undo delivery
    assert await messaging.record_delivery(DeliveryReport("SM" + "0" * 32, "delivered")) is None


# ---- delivery reports that arrive before the send's outcome is written ---------------------------------------


async def _early_reports(engine: AsyncEngine) -> list[tuple[str, str]]:
    r = t.outbox_early_reports.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(r.provider_id, r.status).order_by(r.id))
        return [(row.provider_id, row.status) for row in rows]


async def _watched_sms(team: Team, key: str) -> OutboxMessage:
    """An SMS the manager sent from chat and watches there (so status changes become notices)."""
    s = team.org.services
    acme = await s.customers.customers.create(team.manager, CustomerDraft(name=f"Acme {key}", phones=(PHONE,)))
    message = await s.messaging.messaging.send_sms(team.manager, "customer", acme.id, "hi", draft_key=key)
    await s.messaging.messaging.watch(team.manager, message.id, 777, 42)
    return message


@pytest.mark.parametrize(("word", "code", "text", "expected"), [
    ("delivered", None, None, OutboxStatus.DELIVERED),
    ("undelivered", "30003", "Unreachable destination handset", OutboxStatus.FAILED),
])
async def test_a_report_before_the_send_is_written_is_applied_by_that_write(
        engine: AsyncEngine, clock: ManualClock, word: str, code: str | None, text: str | None,
        expected: OutboxStatus) -> None:
    team = await _team(engine, clock)
    messaging = team.org.services.messaging.messaging
    message = await _watched_sms(team, f"early-{word}")
    answers: list[OutboxMessage | None] = []
    before: list[object] = []

    async def twilio_calls_back_first(sent: SentSms) -> None:
        # Twilio has accepted the message; the dispatcher has not even seen the answer, let alone written it.
        sid = sent.receipt.provider_id
        answers.append(await messaging.record_delivery(DeliveryReport(sid, "sent")))
        answers.append(await messaging.record_delivery(DeliveryReport(sid, word, code, text)))
        answers.append(await messaging.record_delivery(DeliveryReport(sid, "sent")))  # out of order, as they come
        row = await _get(team, message.id)
        before.extend([row.status, row.provider_id, await _early_reports(engine)])

    team.sms.on_send = twilio_calls_back_first
    await _dispatcher(team, clock).run_once()
    [sent] = team.sms.sent
    sid = sent.receipt.provider_id
    assert answers == [None, None, None]  # no message carried the SID yet
    assert before == [OutboxStatus.SENDING, None, [(sid, expected.value)]]  # only the report that matters is kept

    final = await _get(team, message.id)
    assert final.status is expected and final.provider_id == sid and final.sent_at is not None
    if expected is OutboxStatus.FAILED:
        assert (final.error_code, final.last_error) == (code, text)
    assert await _early_reports(engine) == []  # applied once, then gone

    # The rep's chat is told once: the write that stored the SID also applied the report.
    [notice] = await messaging.take_notices()
    assert notice.message.status is expected
    assert await messaging.take_notices() == []

    # Reports after the write follow the usual rules: nothing moves a final status, nothing is kept.
    other = "failed" if expected is OutboxStatus.DELIVERED else "delivered"
    for late in (DeliveryReport(sid, "sent"), DeliveryReport(sid, other, "30008", "Unknown error")):
        answer = await messaging.record_delivery(late)
        assert answer is not None and answer.status is expected
    assert await _early_reports(engine) == [] and await messaging.take_notices() == []
    assert (await _get(team, message.id)).last_error == text


class _HeldWrite(SqlUnitOfWorkFactory):
    """Units of work whose transaction that stores provider ids stops right before COMMIT until ``release``."""

    def __init__(self, engine: AsyncEngine, clock: ManualClock) -> None:
        super().__init__(engine, clock)
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return _HeldUnitOfWork(self, write=write)


class _HeldUnitOfWork(SqlUnitOfWork):
    def __init__(self, gate: _HeldWrite, *, write: bool) -> None:
        super().__init__(gate.engine, gate._clock, write=write)
        self._gate = gate
        self._stores_ids = False

    async def __aenter__(self) -> _HeldUnitOfWork:
        await super().__aenter__()
        mark_sent_many = self.messaging.outbox.mark_sent_many

        async def marking(*args: object, **kwargs: object) -> object:
            self._stores_ids = True
            return await mark_sent_many(*args, **kwargs)  # type: ignore[arg-type]

        self.messaging.outbox.mark_sent_many = marking  # type: ignore[method-assign,assignment]
        return self

    async def commit(self) -> None:
        if self._stores_ids:
            self._gate.holding.set()
            await self._gate.release.wait()
        await super().commit()


async def _blocked_on_a_lock(engine: AsyncEngine) -> None:
    """Wait until a transaction waits for a lock (PostgreSQL); on SQLite the single writer orders them anyway."""
    if engine.dialect.name != "postgresql":
        await asyncio.sleep(0.1)
        return
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    for _ in range(500):
        async with engine.connect() as conn:
            if (await conn.exec_driver_sql(waiting)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the delivery report did not wait for the write that stores its SID")


async def test_a_report_during_the_write_waits_for_it_and_is_applied_once(engine: AsyncEngine,
                                                                           clock: ManualClock) -> None:
    team = await _team(engine, clock)
    messaging = team.org.services.messaging.messaging
    message = await _watched_sms(team, "during")
    gate = _HeldWrite(engine, clock)
    dispatcher = Dispatcher(gate, clock, ChannelAdapters(sms=team.sms), limits=FAST, consent=team.consent)
    run = asyncio.create_task(dispatcher.run_once())
    await asyncio.wait_for(gate.holding.wait(), 10)  # the SID is written, not committed
    [sent] = team.sms.sent
    report = asyncio.create_task(messaging.record_delivery(DeliveryReport(sent.receipt.provider_id, "delivered")))
    # Without ordering, the report would see no SID, be kept after the write looked for kept reports, and wait
    # for a purge; instead it waits for the write and then finds the row.
    await _blocked_on_a_lock(engine)
    assert not report.done()
    gate.release.set()
    assert await asyncio.wait_for(run, 10) == 1
    applied = await asyncio.wait_for(report, 10)
    assert applied is not None and applied.status is OutboxStatus.DELIVERED and applied.id == message.id
    assert await _early_reports(engine) == []
    [notice] = await messaging.take_notices()  # sending → sent → delivered all committed before this round
    assert notice.message.status is OutboxStatus.DELIVERED
    assert await messaging.take_notices() == []


async def test_an_early_carrier_opt_out_is_recorded_by_the_write_that_applies_it(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    team = await _team(engine, clock)
    messaging = team.org.services.messaging.messaging
    [row] = await _enqueue(team, _sms("early-stop"))

    async def carrier_refuses(sent: SentSms) -> None:
        await messaging.record_delivery(DeliveryReport(sent.receipt.provider_id, "undelivered", "21610",
                                                       "Attempt to send to unsubscribed recipient"))
        assert team.consent.phones == []  # no message yet, so no number to record

    team.sms.on_send = carrier_refuses
    await _dispatcher(team, clock).run_once()
    failed = await _get(team, row.id)
    assert failed.status is OutboxStatus.FAILED and failed.error_code == "21610"
    assert team.consent.phones == [PHONE]
    async with engine.connect() as conn:  # ConsentLog's audit row: written in the dispatcher's transaction
        audit = (await conn.execute(select(t.audit_log.c.after).where(t.audit_log.c.action == "opt_out"))).all()
    assert [a.after for a in audit] == [{"phone": PHONE}]


async def test_unmatched_reports_are_purged_after_a_day(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    messaging = team.org.services.messaging.messaging
    never, late = "SM" + "1" * 32, "SM" + "2" * 32
    assert await messaging.record_delivery(DeliveryReport(never, "delivered")) is None  # its send never recorded
    assert await messaging.record_delivery(DeliveryReport("SM" + "9" * 300, "delivered")) is None  # no row could
    clock.advance(timedelta(hours=23))
    assert await messaging.record_delivery(DeliveryReport(late, "failed", "30005")) is None
    assert await messaging.purge_unmatched_reports() == 0
    assert await _early_reports(engine) == [(never, "delivered"), (late, "failed")]
    clock.advance(timedelta(hours=2))
    await purge_reports(SimpleNamespace(bot_data={"services": team.org.services}))  # type: ignore[arg-type]
    assert await _early_reports(engine) == [(late, "failed")]

    # The younger one still finds its message, also through the one-row mark_sent.
    [row] = await _enqueue(team, _sms("late-sid"))
    async with team.org.services.uow() as uow:
        await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), "w", clock.now() + timedelta(minutes=1), 1)
        assert await uow.messaging.outbox.mark_sent(row.id, "w", provider_id=late, segments=1, at=clock.now())
        await uow.commit()
    failed = await _get(team, row.id)
    assert (failed.status, failed.error_code, failed.last_error) == (OutboxStatus.FAILED, "30005",
                                                                    "failed (error 30005)")
    assert await _early_reports(engine) == []


@dataclass
class ScriptedPolicy:
    decisions: dict[str, Decision]
    asked: list[str] = field(default_factory=list)

    async def decide(self, message: OutboxMessage, now: datetime) -> Decision:
        self.asked.append(message.idempotency_key)
        return self.decisions.get(message.idempotency_key, Send())


async def test_the_send_policy_is_asked_right_before_each_send(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    quiet_until = clock.now() + timedelta(hours=9)
    rows = await _enqueue(team, _sms("ok"), _sms("night", to="+886912000003"), _sms("stop", to="+886912000004"))
    policy = ScriptedPolicy({"night": Defer(quiet_until, "quiet hours"), "stop": Cancel("no consent")})
    dispatcher = _dispatcher(team, clock, policy=policy)
    await dispatcher.run_once()
    ok, night, stop = [await _get(team, r.id) for r in rows]
    assert ok.status is OutboxStatus.SENT
    assert (night.status, night.due_at, night.attempts, night.last_error) == (
        OutboxStatus.QUEUED, quiet_until, 0, "quiet hours")
    assert (stop.status, stop.last_error) == (OutboxStatus.CANCELLED, "no consent")
    assert [s.to for s in team.sms.sent] == [PHONE]
    policy.decisions.pop("night")
    clock.set(quiet_until)
    await dispatcher.run_once()
    assert (await _get(team, night.id)).status is OutboxStatus.SENT
    assert sorted(policy.asked) == ["night", "night", "ok", "stop"]


# ---- pacing ---------------------------------------------------------------------------------------------------


async def test_rate_is_kept_at_ten_per_second(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    stamps: list[float] = []
    team.sms.on_send = lambda sent: stamps.append(time.monotonic())
    await _enqueue(team, *[_sms(f"r{i}", to=f"+8869140000{i:02d}") for i in range(21)])
    limits = {**FAST, OutboxChannel.SMS: ChannelLimit(10, 4)}
    await _dispatcher(team, clock, limits=limits).run_once(budget=10)
    assert len(stamps) == 21
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert 9.0 <= rate <= 11.0, rate


async def test_token_bucket_paces_and_pauses_with_a_fake_clock() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(100, now=lambda: now[0], sleep=sleep)
    for _ in range(1001):
        await bucket.acquire()
    assert 9.9 <= now[0] <= 10.0  # 1000 tokens after the first at 100/s
    bucket.pause(30)  # a 429 with Retry-After: 30 stops the whole channel
    before = now[0]
    await bucket.acquire()
    assert now[0] - before >= 30


# ---- the chat-facing service -------------------------------------------------------------------------------


async def test_rep_sms_is_held_manager_sms_is_queued_and_audited(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    mine = await s.customers.customers.create(team.rep, CustomerDraft(name="Acme", phones=("0912 345 678",),
                                                            email="buyer@acme.example"))
    held = await s.messaging.messaging.send_sms(team.rep, "customer", mine.id, "  Your quote is ready  ",
                                                draft_key="a1")
    assert (held.status, held.recipient, held.body, held.requested_by) == (
        OutboxStatus.HELD, PHONE, "Your quote is ready", team.rep.staff_id)
    again = await s.messaging.messaging.send_sms(team.rep, "customer", mine.id, "Your quote is ready", draft_key="a1")
    assert again.id == held.id  # a double-pressed Send queues it once
    direct = await s.messaging.messaging.send_sms(team.manager, "customer", mine.id, "再次感謝您的訂單", draft_key="b1")
    assert direct.status is OutboxStatus.QUEUED
    async with engine.connect() as conn:
        actions = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.entity_id)
                                      .where(t.audit_log.c.entity == "outbox").order_by(t.audit_log.c.id))).all()
    assert [tuple(a) for a in actions] == [("hold", held.id), ("hold", held.id), ("send", direct.id)]

    with pytest.raises(NotFound):  # Sue (another department) may not even learn that Acme exists
        await s.messaging.messaging.send_sms(team.other_rep, "customer", mine.id, "hi", draft_key="c1")
    with pytest.raises(ValidationFailed) as too_long:
        await s.messaging.messaging.send_sms(team.rep, "customer", mine.id, "x" * 1601, draft_key="c2")
    assert too_long.value.key == "messaging.sms_too_long"
    with pytest.raises(ValidationFailed):
        await s.messaging.messaging.send_sms(team.rep, "customer", mine.id, "hi", to="+886912999999", draft_key="c3")


async def test_email_and_fax_from_the_service_reach_the_adapters(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    acme = await s.customers.customers.create(team.rep, CustomerDraft(name="Acme", email="buyer@acme.example"))
    mail = await s.messaging.messaging.send_email(team.rep, "customer", acme.id, subject="報價單 Quote",
                                                  body="Attached.",
                                        attachments=[("報價單.pdf", "application/pdf", PDF)], draft_key="e1")
    fax = await s.messaging.messaging.send_fax(team.rep, "customer", acme.id, to="02 2345 6789",
                                     document=("quote.pdf", "application/pdf", PDF), cover_text="For Mr. Lin",
                                     draft_key="f1")
    assert mail.attachment_names == ("報價單.pdf",) and fax.recipient == "+886223456789"
    with pytest.raises(ValidationFailed):
        await s.messaging.messaging.send_fax(team.rep, "customer", acme.id, to="02 2345 6789",
                                   document=("note.txt", "text/plain", b"hello"), draft_key="f2")
    with pytest.raises(ValidationFailed):
        await s.messaging.messaging.send_fax(team.rep, "customer", acme.id, to="12", document=("q.pdf",
                                                                                               "application/pdf", PDF),
                                   draft_key="f3")
    await _dispatcher(team, clock).run_once()
    email = team.email.single()
    assert email.subject == "報價單 Quote" and email.attachments[0].content == PDF
    assert email.idempotency_key == mail.idempotency_key
    sent_fax = team.fax.single()
    assert (sent_fax.to, sent_fax.cover_text, sent_fax.document.content) == ("+886223456789", "For Mr. Lin", PDF)


async def test_lists_follow_the_communications_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    acme = await s.customers.customers.create(team.rep, CustomerDraft(name="Acme", phones=(PHONE,)))
    sues = await s.customers.customers.create(team.other_rep, CustomerDraft(name="South Co", phones=("+886912000009",)))
    ned_msg = await s.messaging.messaging.send_sms(team.rep, "customer", acme.id, "from Ned", draft_key="n1")
    clock.advance(timedelta(minutes=1))
    mia_msg = await s.messaging.messaging.send_sms(team.manager, "customer", acme.id, "from Mia", draft_key="m1")
    sue_msg = await s.messaging.messaging.send_sms(team.other_rep, "customer", sues.id, "from Sue", draft_key="s1")
    assert [m.id for m in await s.messaging.messaging.recent_by_user(team.rep)] == [ned_msg.id]
    # Ned's scope is his own: the card shows his messages to Acme; Mia (department tree) sees both.
    assert [m.id for m in await s.messaging.messaging.recent_for_customer(team.rep, acme.id)] == [ned_msg.id]
    assert [m.id for m in await s.messaging.messaging.recent_for_customer(team.manager, acme.id)] == [mia_msg.id,
                                                                                                      ned_msg.id]
    with pytest.raises(NotFound):
        await s.messaging.messaging.get(team.rep, sue_msg.id)
    with pytest.raises(NotFound):
        await s.messaging.messaging.recent_for_customer(team.rep, sues.id)
    assert (await s.messaging.messaging.get(team.org.admin, sue_msg.id)).body == "from Sue"
    with pytest.raises(NotFound):  # watching someone else's message is refused too
        await s.messaging.messaging.watch(team.manager, ned_msg.id, 1, 1)


async def test_channels_without_settings_refuse_with_the_settings_named(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    config = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG}))
    services = build_services(config, engine, clock)  # nothing configured, no sinks
    from crm.organisation.defaults import ensure_defaults
    from crm.organisation.identity import TelegramIdentity

    await ensure_defaults(services.uow)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert admin is not None
    acme = await services.customers.customers.create(admin, CustomerDraft(name="Acme", phones=(PHONE,),
                                                                          email="a@acme.example"))
    with pytest.raises(DomainError) as sms:
        await services.messaging.messaging.send_sms(admin, "customer", acme.id, "hi", draft_key="x1")
    assert sms.value.key == "messaging.not_configured_sms"
    assert "TWILIO_ACCOUNT_SID" in sms.value.params["settings"]
    with pytest.raises(DomainError) as mail:
        await services.messaging.messaging.prepare(admin, OutboxChannel.EMAIL, "customer", acme.id)
    assert mail.value.key == "messaging.not_configured_email" and "SMTP_HOST" in mail.value.params["settings"]
    with pytest.raises(DomainError) as fax:
        await services.messaging.messaging.prepare(admin, OutboxChannel.FAX, "customer", acme.id)
    assert "FAX_GATEWAY" in fax.value.params["settings"]
    assert await _count(engine) == 0


async def test_permission_is_checked_before_anything(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    reviewer = await team.org.join(team.org.admin, 3009, "Rita", "reviewer", team.org.north)
    acme = await team.org.services.customers.customers.create(team.rep, CustomerDraft(name="Acme", phones=(PHONE,)))
    with pytest.raises(PermissionDenied):
        await team.org.services.messaging.messaging.send_sms(reviewer, "customer", acme.id, "hi", draft_key="r1")


async def test_notices_are_taken_once_per_change(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    acme = await s.customers.customers.create(team.manager, CustomerDraft(name="Acme", phones=(PHONE,)))
    sent = await s.messaging.messaging.send_sms(team.manager, "customer", acme.id, "hi", draft_key="w1")
    await s.messaging.messaging.watch(team.manager, sent.id, 777, 42)
    assert await s.messaging.messaging.take_notices() == []  # still queued: nothing new to show
    await _dispatcher(team, clock).run_once()
    [notice] = await s.messaging.messaging.take_notices()
    assert notice.message.status is OutboxStatus.SENT and notice.message.notify_message_id == 42
    assert await s.messaging.messaging.take_notices() == []
    await s.messaging.messaging.notice_failed(sent.id)  # the push failed: shown again next round
    assert [n.message.id for n in await s.messaging.messaging.take_notices()] == [sent.id]


def _ids(rows: Sequence[OutboxMessage]) -> list[int]:
    return [r.id for r in rows]
