"""Reminder drain: ``python -m bench.reminders --count 10000``.

COUNT follow-ups fall due in the same minute for USERS reps (rows written straight to a fresh SQLite database in
a temporary folder, or --database-url). The real ReminderDispatcher (scheduler/reminders.py) then claims and
pushes them through an ExtBot with the bot's own rate limiter (bot/rate_limit.py) to the in-process Bot API
fake, which enforces Telegram's ~30 messages/s and answers 429 beyond it. With --workers 2 two dispatchers with
separate engines race for the same rows, as two bot processes on one database would.

Printed: achieved messages/s and total time against a baseline — the same limiter and fake sending plain
messages with no database at all — the 429 answers the fake gave (each retried by the limiter), and the checks:
lost = due reminders never pushed, doubled = reminders pushed more than once (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot

from bot.app import OFFLINE_TOKEN
from bot.i18n import Catalogs
from bot.rate_limit import TelegramRateLimiter
from crm.core.clock import SystemClock
from crm.followups.reminders import ReminderService
from crm.organisation.defaults import ensure_defaults
from scheduler.followups.reminders import DispatchStats, ReminderDispatcher
from storage import tables as t
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes.bot_api import FakeBotApi, RateLimit

FIRST_USER = 700_000
TELEGRAM_BULK_LIMIT = 30  # messages per second, bot-wide


async def _seed(engine: AsyncEngine, users: int, count: int, due_from: datetime) -> None:
    """USERS reps with a customer each, and COUNT follow-ups due within one minute, spread across the reps."""
    clock = SystemClock()
    await upgrade(engine)
    await ensure_defaults(SqlUnitOfWorkFactory(engine, clock))
    now = clock.now()
    async with engine.begin() as conn:
        role = (await conn.execute(select(t.roles.c.id).where(t.roles.c.name == "rep"))).scalar_one()
        root = (await conn.execute(select(t.departments.c.id).where(t.departments.c.parent_id.is_(None)))).scalar_one()
        await conn.execute(insert(t.staff), [
            {"name": f"Rep {n}", "telegram_user_id": FIRST_USER + n, "role_id": role, "department_id": root,
             "locale": ("en", "zh-Hant", "zh-Hans")[n % 3], "timezone": "Asia/Taipei", "active": True,
             "created_at": now} for n in range(users)])
        staff = (await conn.execute(select(t.staff.c.id, t.staff.c.telegram_user_id)
                                    .where(t.staff.c.telegram_user_id >= FIRST_USER)
                                    .order_by(t.staff.c.telegram_user_id))).all()
        await conn.execute(insert(t.customers), [
            {"name": f"客戶 Customer {n}", "owner_id": s.id, "phones": [], "tags": [], "created_at": now,
             "updated_at": now} for n, s in enumerate(staff)])
        customers = (await conn.execute(select(t.customers.c.id, t.customers.c.owner_id)
                                        .order_by(t.customers.c.id))).all()
        rows = []
        for n in range(count):
            customer = customers[n % len(customers)]
            rows.append({"customer_id": customer.id, "owner_id": customer.owner_id, "text": f"follow-up {n}",
                         "due_at": due_from + timedelta(milliseconds=n * 60_000 // max(count, 1)),
                         "status": "open", "remind_state": "pending", "reminded_late": False, "created_at": now})
        for start in range(0, len(rows), 2000):
            await conn.execute(insert(t.followups), rows[start:start + 2000])


def _api(users: int) -> FakeBotApi:
    api = FakeBotApi(token=OFFLINE_TOKEN, global_limit=RateLimit(TELEGRAM_BULK_LIMIT, 1.0))
    for n in range(users):
        api.add_user(FIRST_USER + n, f"Rep {n}")
    return api


async def _bot(api: FakeBotApi) -> ExtBot[int]:
    bot: ExtBot[int] = ExtBot(api.token, request=api, get_updates_request=api.updates_request(),
                               rate_limiter=TelegramRateLimiter(max_retries=3))
    await bot.initialize()
    return bot


async def _baseline(users: int, count: int) -> float:
    """Plain messages through the same limiter and fake, no database: what the transport alone achieves."""
    api = _api(users)
    bot = await _bot(api)
    started = time.perf_counter()
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> None:
        async with gate:
            await bot.send_message(FIRST_USER + n % users, f"baseline {n}")

    await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    await bot.shutdown()
    return count / elapsed


async def _drain(url: str, api: FakeBotApi, workers: int, catalogs: Catalogs) -> tuple[DispatchStats, float]:
    engines = [create_engine(url) for _ in range(workers)]
    clock = SystemClock()
    dispatchers = [ReminderDispatcher(ReminderService(SqlUnitOfWorkFactory(e, clock), clock), await _bot(api),
                                      catalogs) for e in engines]
    total = DispatchStats()
    started = time.perf_counter()
    # One run_once claims and pushes until nothing is due; loop in case a worker stopped for flood control.
    while True:
        results = await asyncio.gather(*(d.run_once() for d in dispatchers))
        for stats in results:
            total.add(stats)
        async with engines[0].connect() as conn:
            left = (await conn.execute(select(func.count()).select_from(t.followups)
                                       .where(t.followups.c.remind_state.in_(("pending", "claimed"))))).scalar_one()
        if not left:
            break
        await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - started
    for dispatcher in dispatchers:
        await dispatcher.bot.shutdown()
    for engine in engines:
        await engine.dispose()
    return total, elapsed


def _pushed(api: FakeBotApi) -> Counter[int]:
    pushed: Counter[int] = Counter()
    for message in api.sent_messages():
        for button in message.buttons:
            data = button.callback_data or ""
            if data.startswith("fu:done:"):
                pushed[int(data.split(":")[2])] += 1
    return pushed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders due in the same minute")
    parser.add_argument("--users", type=int, default=500, help="reps they belong to")
    parser.add_argument("--workers", type=int, default=1, help="dispatchers with separate engines (processes)")
    parser.add_argument("--baseline", type=int, default=300, help="plain messages for the baseline run (0: skip)")
    parser.add_argument("--database-url", help="an EMPTY database to use instead of a temporary SQLite file")
    args = parser.parse_args(argv)
    if args.count < 1 or args.users < 1 or args.workers < 1:
        parser.error("--count, --users and --workers must be positive")

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        engine = create_engine(url)
        seed_started = time.perf_counter()
        await _seed(engine, args.users, args.count, datetime.now(UTC) - timedelta(seconds=59))
        await engine.dispose()
        print(f"seeded {args.count} reminders due within one minute for {args.users} reps "
              f"in {time.perf_counter() - seed_started:.1f} s ({url.split(':')[0]})")

        baseline = await _baseline(args.users, min(args.baseline, args.count)) if args.baseline else 0.0
        api = _api(args.users)
        stats, elapsed = await _drain(url, api, args.workers, Catalogs())

        pushed = _pushed(api)
        engine = create_engine(url)
        async with engine.connect() as conn:
            due_ids = set((await conn.execute(select(t.followups.c.id))).scalars())
            states = Counter((await conn.execute(select(t.followups.c.remind_state))).scalars())
        await engine.dispose()
    lost = len(due_ids - set(pushed))
    doubled = sum(1 for n in pushed.values() if n > 1)
    throttled = sum(1 for call in api.calls if call.error and "Too Many Requests" in call.error)
    rate = sum(pushed.values()) / elapsed
    print(f"workers={args.workers}  sent={stats.sent}  late={stats.late}  failed={stats.failed}  "
          f"deferred={stats.deferred}  released={stats.released}  lost_claims={stats.lost_claims}")
    print(f"total time {elapsed:.1f} s   achieved {rate:.1f} msg/s   (Telegram bulk limit {TELEGRAM_BULK_LIMIT} msg/s)")
    if baseline:
        print(f"baseline (limiter + fake, no database) {baseline:.1f} msg/s   ratio {rate / baseline:.2f}")
    print(f"429 answers from the fake: {throttled} (each retried by the rate limiter)")
    print(f"rows: {dict(states)}")
    print(f"lost={lost}  doubled={doubled}")
    return 0 if lost == 0 and doubled == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
