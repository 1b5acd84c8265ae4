"""Outbox benchmark: an SMS campaign through the real dispatcher and database, at configured rates.

    python -m bench.outbox                        # 10,000 recipients at 10/s and at 100/s, then the overhead run
    python -m bench.outbox --count 1000 --rates 10,100
    python -m bench.outbox --database-url postgresql+asyncpg://postgres@127.0.0.1/bench   # (wiped)

For each rate: the campaign is enqueued (one transaction), then the dispatcher sends it through the SMS port's
recording fake (no network, so the figures are the dispatcher's own) and the achieved rate is measured between the
first and the last send; it must be within ±10% of the configured one. The overhead run sends without a rate
limit and compares with a baseline in the same process: the same fake called directly, without the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from bench.data import fresh_engine
from crm.core.clock import SystemClock
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, enqueue
from crm.messaging.ports.sms import OutgoingSms
from outbound.dispatch import ChannelAdapters, ChannelLimit, Dispatcher
from outbound.sms_recording import RecordingSmsSender, SentSms
from storage.engine import create_engine
from storage.tables import metadata
from storage.uow import SqlUnitOfWorkFactory

TOLERANCE = 0.10


def _number(i: int) -> str:
    return f"+8869{i:08d}"


async def _fresh_database(url: str | None, directory: Path, name: str) -> str:
    if url is None:
        url = f"sqlite+aiosqlite:///{directory / name}.db"
    engine = await fresh_engine(url)
    if engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "alembic_version")
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    return url


async def _campaign(url: str, count: int, rate: float, concurrency: int) -> tuple[float, float, float, int]:
    """Enqueue ``count`` SMS, send them at ``rate`` (0 = unlimited). Returns (enqueue s, send s, achieved/s, sent)."""
    engine = create_engine(url)
    clock = SystemClock()
    uow = SqlUnitOfWorkFactory(engine, clock)
    started = time.perf_counter()
    async with uow() as unit:
        for i in range(count):
            body = f"Spring sale, 20% off. Reply STOP ({i})"
            await enqueue(unit, NewOutboxMessage(OutboxChannel.SMS, _number(i), body, campaign_id=1, topic="promotions",
                                                 requested_by=None, idempotency_key=f"bench:{rate}:{i}"))
        await unit.commit()
    enqueued = time.perf_counter() - started

    stamps: list[float] = []

    def stamp(sent: SentSms) -> None:
        stamps.append(time.perf_counter())

    sender = RecordingSmsSender(on_send=stamp)
    dispatcher = Dispatcher(uow, clock, ChannelAdapters(sms=sender),
                            limits={OutboxChannel.SMS: ChannelLimit(rate, concurrency)},
                            lease=timedelta(minutes=5))
    started = time.perf_counter()
    while len(stamps) < count:
        if await dispatcher.run_once(budget=30) == 0:
            break
    elapsed = time.perf_counter() - started
    await engine.dispose()
    achieved = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    if sender.duplicate_keys:
        raise SystemExit(f"duplicate sends: {sender.duplicate_keys[:5]}")
    return enqueued, elapsed, achieved, len(stamps)


async def _baseline(count: int) -> float:
    """The fake adapter alone: what sending costs without the outbox."""
    sender = RecordingSmsSender()
    started = time.perf_counter()
    for i in range(count):
        await sender.send(OutgoingSms(to=_number(i), body=f"Spring sale, 20% off. Reply STOP ({i})",
                                      idempotency_key=f"base:{i}"))
    return time.perf_counter() - started


async def main(count: int, rates: list[float], concurrency: int, database_url: str | None, overhead: bool) -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        backend = "PostgreSQL" if database_url and database_url.startswith("postgresql") else "SQLite"
        print(f"outbox benchmark: {count} SMS per run, {backend}, concurrency {concurrency}")
        for rate in rates:
            url = await _fresh_database(database_url, directory, f"rate{rate:g}")
            enqueued, elapsed, achieved, sent = await _campaign(url, count, rate, concurrency)
            deviation = achieved / rate - 1
            ok = abs(deviation) <= TOLERANCE and sent == count
            failures += not ok
            print(f"  rate {rate:g}/s: enqueued {count} in {enqueued:.2f}s ({count / enqueued:,.0f}/s); sent {sent} "
                  f"in {elapsed:.1f}s; achieved {achieved:.2f}/s ({deviation:+.1%}) {'OK' if ok else 'FAIL'}")
        if overhead:
            url = await _fresh_database(database_url, directory, "overhead")
            _, elapsed, achieved, sent = await _campaign(url, count, 0, concurrency)
            base = await _baseline(count)
            per_message = (elapsed - base) / count * 1000
            print(f"  unlimited: sent {sent} in {elapsed:.2f}s = {achieved:,.0f}/s; adapter alone {base:.3f}s; "
                  f"dispatcher overhead {per_message:.2f} ms/message (x{elapsed / base:.0f} the bare adapter)")
    return 1 if failures else 0


def _rates(value: str) -> list[float]:
    return [float(part) for part in value.split(",") if part.strip()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="recipients per run (default 10000)")
    parser.add_argument("--rates", type=_rates, default=[10.0, 100.0], help="comma-separated msg/s (default 10,100)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", help="PostgreSQL to use instead of a temporary SQLite file (it is wiped)")
    parser.add_argument("--no-overhead", action="store_true", help="skip the unlimited-rate overhead run")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.count, args.rates, args.concurrency, args.database_url,
                                      not args.no_overhead)))
