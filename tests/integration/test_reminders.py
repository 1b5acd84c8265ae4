"""Reminder delivery and the morning agenda over a real database (SQLite and PostgreSQL): due-while-down fires on
start marked late, claims are exclusive between workers with separate engines (and between real processes),
an expired lease is claimed again, and each user gets one agenda a day whatever the number of workers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.app import OFFLINE_TOKEN, Runtime, build_application, build_services, start_offline
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.organisation.permissions import Actor
from crm.services import Services
from scheduler.followups.agenda import send_due_agendas
from scheduler.followups.reminders import ChatPacer, ReminderDispatcher
from storage import tables as t
from storage.engine import create_engine
from tests.fakes.bot_api import ChatMessage, FakeBotApi, RateLimit
from tests.fakes.bot_api_http import serve_bot_api
from tests.support.org import ADMIN_TG, Org, make_org

TAIPEI = ZoneInfo("Asia/Taipei")
ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs()
NED, SUE = 3002, 3003


def _settings() -> Settings:
    return Settings(admin_telegram_ids=frozenset({ADMIN_TG}), _env_file=None)


async def _team(engine: AsyncEngine, clock: ManualClock) -> tuple[Org, Actor, Actor, Target, Target]:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, NED, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, SUE, "Sue", "rep", org.south)
    await org.services.organisation.staff.set_locale(sue, "zh-Hant")  # jobs have no Telegram language to go by
    acme = await org.services.customers.customers.create(ned, CustomerDraft(name="Acme Trading"))
    wang = await org.services.customers.customers.create(sue, CustomerDraft(name="王記食品"))
    return org, ned, sue, Target(EntityKind.CUSTOMER, acme.id), Target(EntityKind.CUSTOMER, wang.id)


def _fake_api(**limits: object) -> FakeBotApi:
    api = FakeBotApi(token=OFFLINE_TOKEN, **limits)  # type: ignore[arg-type]
    api.add_user(ADMIN_TG, "Ada")
    api.add_user(NED, "Ned")
    api.add_user(SUE, "Sue", language_code="zh-hant")
    return api


async def _bot(api: FakeBotApi) -> Bot:
    bot = Bot(api.token, request=api, get_updates_request=api.updates_request())
    await bot.initialize()
    return bot


def _dispatcher(services: Services, bot: Bot, **kwargs: object) -> ReminderDispatcher:
    return ReminderDispatcher(services.followups.reminders, bot, CATALOGS, pacer=ChatPacer(burst=10_000), **kwargs)  # type: ignore[arg-type]


def _pushed_ids(messages: Sequence[ChatMessage]) -> list[int]:
    """The follow-up behind each reminder push, read from its Done button."""
    ids = []
    for message in messages:
        for button in message.buttons:
            data = button.callback_data or ""
            if data.startswith("fu:done:"):
                ids.append(int(data.split(":")[2]))
    return ids


async def _states(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.followups.c.remind_state))
        return Counter(r.remind_state for r in rows)


async def _plan_many(engine: AsyncEngine, owners: Sequence[tuple[Actor, Target]], count: int,
                     due: datetime) -> list[int]:
    """Many follow-ups at once, written straight to the table: the service path is covered above."""
    rows = [{"customer_id": owners[n % len(owners)][1].id, "owner_id": owners[n % len(owners)][0].staff_id,
             "text": f"task {n}", "due_at": due + timedelta(seconds=n), "status": "open", "remind_state": "pending",
             "reminded_late": False, "created_at": due} for n in range(count)]
    async with engine.begin() as conn:
        await conn.execute(insert(t.followups), rows)
        return list((await conn.execute(select(t.followups.c.id).where(t.followups.c.text.like("task %")))).scalars())


@asynccontextmanager
async def _second_services(engine: AsyncEngine, clock: ManualClock) -> AsyncIterator[Services]:
    """Another "process": its own engine (connection pool) on the same database."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield build_services(_settings(), other, clock)
    finally:
        await other.dispose()


async def test_reminder_due_while_down_fires_on_start_marked_late(engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, _, acme, _ = await _team(engine, clock)
    missed = await org.services.followups.followups.plan(ned, acme, clock.now() + timedelta(hours=1),
                                                         "send the <quote>")
    future = await org.services.followups.followups.plan(ned, acme, clock.now() + timedelta(days=2), "visit")
    clock.advance(timedelta(hours=3))  # the bot was down when the reminder fell due

    settings = _settings()
    runtime = Runtime(settings, engine, build_services(settings, engine, clock), CATALOGS)
    api = _fake_api()
    app = build_application(runtime, request=api, get_updates_request=api.updates_request(), rate_limiter=False)
    pushed_event = asyncio.Event()
    api.subscribe(lambda event: pushed_event.set() if event.chat_id == NED else None)
    await start_offline(app)  # the reminder job runs at once on start
    try:
        await asyncio.wait_for(pushed_event.wait(), 10)
    finally:
        await app.stop()
        await app.shutdown()
    pushed = api.sent_messages(NED)
    assert _pushed_ids(pushed) == [missed.id]
    text = pushed[0].text or ""
    assert "(late)" in text and "send the <quote>" in text and "Acme Trading" in text
    assert "Thu 26 Nov 11:00 (Asia/Taipei)" in text  # due time in Ned's zone
    assert [b.callback_data for b in pushed[0].buttons] == [
        f"fu:done:{missed.id}", f"fu:snz:{missed.id}:1h", f"fu:snz:{missed.id}:tomorrow", f"fu:snz:{missed.id}:week",
        f"fu:rs:{missed.id}", f"cu:open:{acme.id}"]
    stored = await org.services.followups.followups.get(ned, missed.id)
    assert stored.remind_state == "sent" and stored.reminded_late and stored.reminded_at == clock.now()
    assert (await org.services.followups.followups.get(ned, future.id)).remind_state == "pending"


async def test_on_time_reminder_is_not_late_and_goes_out_once(engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, sue, acme, wang = await _team(engine, clock)
    mine = await org.services.followups.followups.plan(ned, acme, clock.now() + timedelta(minutes=10), "call back")
    hers = await org.services.followups.followups.plan(sue, wang, clock.now() + timedelta(minutes=10), "回電")
    api = _fake_api()
    dispatcher = _dispatcher(org.services, await _bot(api))
    assert (await dispatcher.run_once()).sent == 0  # nothing due yet
    clock.advance(timedelta(minutes=10, seconds=5))
    stats = await dispatcher.run_once()
    assert stats.sent == 2 and stats.late == 0
    assert (await dispatcher.run_once()).sent == 0
    assert _pushed_ids(api.sent_messages(NED)) == [mine.id]
    assert _pushed_ids(api.sent_messages(SUE)) == [hers.id]
    sue_text = api.sent_messages(SUE)[0].text or ""
    assert "提醒" in sue_text and "延遲" not in sue_text and "11月26日（週四）10:10（Asia/Taipei）" in sue_text


async def test_two_workers_with_separate_engines_deliver_each_reminder_exactly_once(
        engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, sue, acme, wang = await _team(engine, clock)
    made = await _plan_many(engine, [(ned, acme), (sue, wang)], 150, clock.now() + timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    api = _fake_api(global_limit=None)
    async with _second_services(engine, clock) as other:
        first = _dispatcher(org.services, await _bot(api), batch=7)
        second = _dispatcher(other, await _bot(api), batch=7)
        assert first.worker != second.worker
        one, two = await asyncio.gather(first.run_once(), second.run_once())
    assert one.sent + two.sent == len(made)
    assert one.sent > 0 and two.sent > 0, (one, two)  # both really took part
    pushed = _pushed_ids(api.sent_messages(NED)) + _pushed_ids(api.sent_messages(SUE))
    assert sorted(pushed) == sorted(made)  # none lost, none doubled
    assert await _states(engine) == Counter({"sent": len(made)})


_WORKER_SCRIPT = """
import asyncio, json, os, sys, time
from telegram import Bot
from bot.i18n import Catalogs
from crm.core.clock import SystemClock
from crm.followups.reminders import ReminderService
from scheduler.followups.reminders import ChatPacer, ReminderDispatcher
from storage.engine import create_engine
from storage.uow import SqlUnitOfWorkFactory

async def main():
    engine = create_engine(os.environ["WORKER_DB"])
    clock = SystemClock()
    bot = Bot(os.environ["WORKER_TOKEN"], base_url=os.environ["WORKER_BASE"])
    await bot.initialize()
    dispatcher = ReminderDispatcher(ReminderService(SqlUnitOfWorkFactory(engine, clock), clock), bot, Catalogs(),
                                    batch=5, pacer=ChatPacer(burst=10**6))
    print("ready", flush=True)  # both workers start together: wait for the test's "go"
    sys.stdin.readline()
    sent, idle = 0, 0
    while idle < 3:
        stats = await dispatcher.run_once()
        sent += stats.sent
        idle = idle + 1 if stats.sent == 0 else 0
        await asyncio.sleep(0.05)
    await bot.shutdown()
    await engine.dispose()
    print(json.dumps({"worker": dispatcher.worker, "sent": sent}))

asyncio.run(main())
"""


async def test_two_real_processes_deliver_each_reminder_exactly_once(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("processes sharing one database is the PostgreSQL deployment; SQLite is covered in-process above")
    clock = ManualClock(datetime.now(UTC))  # the worker processes run on the system clock
    _, ned, sue, acme, wang = await _team(engine, clock)
    made = await _plan_many(engine, [(ned, acme), (sue, wang)], 60, clock.now() - timedelta(minutes=1))
    api = _fake_api(global_limit=None)
    async with serve_bot_api(api) as base_url:
        env = {**os.environ, "WORKER_DB": engine.url.render_as_string(hide_password=False),
               "WORKER_TOKEN": api.token, "WORKER_BASE": base_url}
        procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", _WORKER_SCRIPT, cwd=str(ROOT), env=env,
                                                      stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                      stderr=asyncio.subprocess.PIPE)
                 for _ in range(2)]
        for proc in procs:
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 60)  # "ready"
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate(b"go\n") for p in procs)), 60)
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert results[0]["worker"] != results[1]["worker"]
    assert all(r["sent"] > 0 for r in results), results  # they really raced
    assert sum(r["sent"] for r in results) == len(made)
    pushed = _pushed_ids(api.sent_messages(NED)) + _pushed_ids(api.sent_messages(SUE))
    assert sorted(pushed) == sorted(made)
    assert await _states(engine) == Counter({"sent": len(made)})


async def test_expired_lease_is_claimed_again_and_the_dead_worker_cannot_mark_it(
        engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, _, acme, _ = await _team(engine, clock)
    followup = await org.services.followups.followups.plan(ned, acme, clock.now() + timedelta(minutes=1), "call")
    clock.advance(timedelta(minutes=2))
    dead = await org.services.followups.reminders.claim("dead-worker", 10)  # claims, then "crashes" before pushing
    assert [r.followup.id for r in dead.reminders] == [followup.id]
    api = _fake_api()
    survivor = _dispatcher(org.services, await _bot(api))
    assert (await survivor.run_once()).sent == 0  # still leased to the dead worker
    clock.advance(org.services.followups.reminders.lease + timedelta(seconds=1))
    stats = await survivor.run_once()
    assert stats.sent == 1 and stats.late == 1
    assert _pushed_ids(api.sent_messages(NED)) == [followup.id]
    assert not await org.services.followups.reminders.sent("dead-worker", dead.reminders[0])
    assert (await org.services.followups.followups.get(ned, followup.id)).remind_state == "sent"


async def test_blocked_user_inactive_owner_and_trashed_customer(engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, sue, acme, wang = await _team(engine, clock)
    s = org.services
    for_ned = await s.followups.followups.plan(ned, acme, clock.now() + timedelta(minutes=1), "ned's")
    for_sue = await s.followups.followups.plan(sue, wang, clock.now() + timedelta(minutes=1), "sue's")
    other = await s.customers.customers.create(ned, CustomerDraft(name="Binned Ltd"))
    binned = await s.followups.followups.plan(ned, Target(EntityKind.CUSTOMER, other.id),
                                              clock.now() + timedelta(minutes=1),
                                    "binned")
    await s.customers.customers.delete(org.admin, other.id)
    # Deactivation with open work is refused by StaffService; an owner can still end up inactive (data from
    # before that rule, a direct database change), and the dispatcher must hold their reminders, not send them.
    async with engine.begin() as conn:
        await conn.execute(update(t.staff).where(t.staff.c.id == sue.staff_id).values(active=False))
    clock.advance(timedelta(minutes=2))
    api = _fake_api()
    api.block(NED)
    dispatcher = _dispatcher(s, await _bot(api))
    stats = await dispatcher.run_once()
    assert (stats.sent, stats.failed, stats.parked) == (0, 1, 2)
    assert (await s.followups.followups.get(ned, for_ned.id)).remind_state == "failed"  # not retried
    assert (await s.followups.followups.agenda(ned)).overdue[0].id == for_ned.id  # but still on the agenda

    # Sue is reactivated; her parked reminder comes back after the hourly re-check, as does the restored customer's.
    async with engine.begin() as conn:
        await conn.execute(update(t.staff).where(t.staff.c.id == sue.staff_id).values(active=True))
    await s.customers.customers.restore(org.admin, other.id)
    api.block(NED, False)
    assert (await dispatcher.run_once()).sent == 0
    clock.advance(s.followups.reminders.park_for + timedelta(seconds=1))
    stats = await dispatcher.run_once()
    assert stats.sent == 2
    assert _pushed_ids(api.sent_messages(SUE)) == [for_sue.id]
    assert _pushed_ids(api.sent_messages(NED)) == [binned.id]


async def test_flood_control_defers_and_nothing_is_lost(engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, sue, acme, wang = await _team(engine, clock)
    made = await _plan_many(engine, [(ned, acme), (sue, wang)], 8, clock.now() + timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    api = _fake_api(global_limit=RateLimit(5, 1.0))  # no rate limiter in front: Telegram answers 429
    dispatcher = _dispatcher(org.services, await _bot(api), concurrency=1)
    first = await dispatcher.run_once()
    assert first.sent == 5 and first.deferred == 1 and first.sent + first.deferred + first.released == 8
    await asyncio.sleep(1.1)  # Telegram's retry_after
    clock.advance(timedelta(seconds=3))
    second = await dispatcher.run_once()
    assert first.sent + second.sent == 8
    pushed = _pushed_ids(api.sent_messages(NED)) + _pushed_ids(api.sent_messages(SUE))
    assert sorted(pushed) == sorted(made)


async def _agendas(engine: AsyncEngine, clock: ManualClock, services: Services, api: FakeBotApi) -> int:
    async with _second_services(engine, clock) as other:
        bots = [await _bot(api), await _bot(api)]
        counts = await asyncio.gather(send_due_agendas(services, bots[0], CATALOGS),
                                      send_due_agendas(other, bots[1], CATALOGS))
    return sum(counts)


async def test_morning_agenda_once_per_day_per_user_with_two_workers(engine: AsyncEngine, clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=TAIPEI))
    org, ned, sue, acme, wang = await _team(engine, clock)
    s = org.services
    await s.followups.followups.plan(ned, acme, datetime(2026, 11, 26, 15, 0, tzinfo=TAIPEI), "send <quote>")
    await s.followups.followups.plan(ned, acme, datetime(2026, 11, 27, 15, 0, tzinfo=TAIPEI), "tomorrow's")
    overdue = await s.followups.followups.plan(sue, wang, datetime(2026, 11, 26, 7, 30, tzinfo=TAIPEI), "回電")
    assert await s.followups.agenda.set_time(sue, "9:15") == "09:15"
    api = _fake_api(global_limit=None)

    assert await _agendas(engine, clock, s, api) == 0  # 07:00: too early for everyone
    clock.set(datetime(2026, 11, 26, 8, 31, tzinfo=TAIPEI))
    assert await _agendas(engine, clock, s, api) == 1  # Ned (08:30 default); Sue waits for 09:15
    assert await _agendas(engine, clock, s, api) == 0
    ned_agenda = api.sent_messages(NED)
    assert len(ned_agenda) == 1
    text = ned_agenda[0].text or ""
    assert "Good morning" in text and "send <quote>" in text and "Acme Trading" in text and "tomorrow's" not in text
    clock.set(datetime(2026, 11, 26, 9, 20, tzinfo=TAIPEI))
    assert await _agendas(engine, clock, s, api) == 1
    sue_text = api.sent_messages(SUE)[0].text or ""
    assert "早安" in sue_text and "已逾期（1）" in sue_text and "回電" in sue_text
    assert any(b.callback_data == f"fu:view:{overdue.id}" for b in api.sent_messages(SUE)[0].buttons)

    # The next day: once more each (Ned's follow-up of today is now overdue; Sue's is still overdue).
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TAIPEI))
    assert await _agendas(engine, clock, s, api) == 2
    assert await _agendas(engine, clock, s, api) == 0
    assert len(api.sent_messages(NED)) == 2 and len(api.sent_messages(SUE)) == 2

    # Off means off; an empty agenda sends nothing.
    assert await s.followups.agenda.set_time(ned, "off") == "off"
    assert await s.followups.agenda.get_time(ned) == "off"
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=TAIPEI))
    await s.followups.followups.complete(sue, overdue.id)
    assert await _agendas(engine, clock, s, api) == 0
    assert len(api.sent_messages(NED)) == 2 and len(api.sent_messages(SUE)) == 2
    async with engine.connect() as conn:
        sent_on = dict((await conn.execute(select(t.staff.c.id, t.staff.c.agenda_sent_on))).all())
    assert sent_on[sue.staff_id] == datetime(2026, 11, 28).date() and sent_on[ned.staff_id].day == 27


async def test_agenda_claim_is_atomic_under_contention(engine: AsyncEngine, clock: ManualClock) -> None:
    org, ned, *_ = await _team(engine, clock)
    async with engine.begin() as conn:
        await conn.execute(update(t.staff).values(agenda_sent_on=None))
    async with _second_services(engine, clock) as other:
        due = next(d for d in await org.services.followups.reminders.agendas_due() if d.staff_id == ned.staff_id)
        wins = await asyncio.gather(*(svc.followups.reminders.claim_agenda(due) for svc in [org.services, other] * 4))
    assert sum(wins) == 1


@pytest.mark.parametrize("value", ["12:00", "off"])
async def test_agenda_time_is_audited(engine: AsyncEngine, clock: ManualClock, value: str) -> None:
    org, ned, *_ = await _team(engine, clock)
    await org.services.followups.agenda.set_time(ned, value)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.after).where(t.audit_log.c.entity == "staff",
                                                                     t.audit_log.c.actor_id == ned.staff_id))).all()
    assert {"agenda_time": value} in [r.after for r in rows]
