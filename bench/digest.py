"""Managers' digests on a big database: ``python -m bench.digest --customers 100000 --interactions 1000000``.

On one SQLite database (customers imported through the importer, so phone lookups work as in the bot; leads,
interactions, follow-ups and expenses written straight into their tables, spread over the last 120 days among
40 reps in 8 departments) it prints:

- one digest's wall time, computed as the bot computes it (``DigestService.compose`` in the worker's separate
  process, every section's SQL aggregates on its own connection there), and its CPU time (this process's and the
  worker process's): a department manager's and the admin's (everything), daily, weekly and monthly (those two
  with their trend and the chart), each counted both ways in the same run: scanning the tables (as before
  migration 0028) and from the per-hour counters. Target: ≤ 1 s.
- a rep's phone lookup every 20 ms (``CustomerService.search``, timed from when it was due), idle before and
  after, and while the digests of 50 managers due at 08:30 are claimed, computed and pushed (to a recording bot)
  by the scheduler's own ``send_due_digests`` — twice: as the bot does it (the worker's process), and computed in
  a worker thread of this process as before (``storage.offloop.RUN_APART = False``), for comparison in the same
  run. Target: p95 ≤ 2× the lower of the two idle p95s. The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from unittest import mock
from zoneinfo import ZoneInfo

from telegram import Bot

from bench.data import customer_table, customers, fresh_engine
from bench.search import _ms
from bot.app import build_services
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.digests.schedule import Frequency
from crm.organisation.defaults import ensure_defaults
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services
from outbound.digest_chart import MatplotlibTrendChart
from scheduler.digests.digests import send_due_digests
from storage import offloop
from storage.customers import group as customers_group
from storage.customers.digest import SqlCustomerDigestRepository
from storage.customers.spreadsheets import write_csv
from storage.engine import create_engine
from storage.migrate import upgrade

ADMIN_TG = 1
TAIPEI = ZoneInfo("Asia/Taipei")
MONDAY = datetime(2026, 11, 30, 8, 30, tzinfo=TAIPEI)  # every daily digest and the weekly ones are due
DAYS = 120
DEPARTMENTS, REPS, MANAGERS = 8, 40, 50
WEEKLY_MANAGERS = 10


@dataclass
class Team:
    services: Services
    admin: Actor
    reps: list[Actor] = field(default_factory=list)
    managers: list[Actor] = field(default_factory=list)


async def _team(services: Services) -> Team:
    await ensure_defaults(services.uow)
    org = services.organisation
    admin = await org.identity.actor_for(TelegramIdentity(ADMIN_TG, "Admin"))
    assert admin is not None
    departments = [(await org.departments.create(admin, f"Sales {n}", admin.department_id)).id
                   for n in range(DEPARTMENTS)]
    roles = {r.name: r.id for r in await org.roles.list(admin)}
    team = Team(services, admin)
    for n in range(REPS + MANAGERS):
        role, number = ("rep", n) if n < REPS else ("manager", n - REPS)
        invite = await org.invites.create(admin, roles[role], departments[number % DEPARTMENTS])
        identity = TelegramIdentity(1000 + n, f"{role.title()} {number:02d}")
        await org.invites.accept(invite.code, identity)
        actor = await org.identity.actor_for(identity)
        assert actor is not None
        (team.reps if role == "rep" else team.managers).append(actor)
    return team


def _stamp(moment: datetime) -> str:
    """How SQLAlchemy stores storage.types.UTCDateTime on SQLite: naive UTC text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill(path: Path, reps: Sequence[int], interactions: int, now: datetime, seed: int) -> dict[str, int]:
    """Leads, interactions, follow-ups and expenses, in bulk with the standard library's sqlite3: data generation
    is not what is measured."""
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    span = int((now - start).total_seconds())

    def moment() -> datetime:
        return start + timedelta(seconds=rng.randrange(span))

    db = sqlite3.connect(path)
    try:
        customer_ids = [row[0] for row in db.execute("SELECT id FROM customers")]
        db.executemany("UPDATE customers SET owner_id = ?, created_at = ? WHERE id = ?",
                       [(rng.choice(reps), _stamp(moment()), cid) for cid in customer_ids])
        leads = len(customer_ids) // 5
        db.executemany("INSERT INTO leads (name, phones, owner_id, status, created_at, updated_at) "
                       "VALUES (?, '[]', ?, 'new', ?, ?)",
                       [(f"Lead {n}", rng.choice(reps), stamp, stamp)
                        for n in range(leads) for stamp in (_stamp(moment()),)])
        owner_of = dict(db.execute("SELECT id, owner_id FROM customers"))
        rows: list[tuple[Any, ...]]
        for first in range(0, interactions, 100_000):
            rows = []
            for _ in range(min(100_000, interactions - first)):
                cid = rng.choice(customer_ids)
                stamp = _stamp(moment())
                rows.append((cid, owner_of[cid], stamp, stamp))
            db.executemany("INSERT INTO interactions (customer_id, author_id, kind, text, occurred_at, created_at) "
                           "VALUES (?, ?, 'call', 'talked about the order', ?, ?)", rows)
        followups = interactions // 5
        rows = []
        for _ in range(followups):
            cid = rng.choice(customer_ids)
            due = moment() + timedelta(days=7)
            done = due + timedelta(hours=rng.randrange(1, 72)) if rng.random() < 0.7 else None
            status = "done" if done is not None and done < now else "open"
            rows.append((cid, owner_of[cid], _stamp(due), status, _stamp(due - timedelta(days=3)),
                         _stamp(done) if status == "done" and done else None))
        db.executemany("INSERT INTO followups (customer_id, owner_id, text, due_at, status, remind_state, "
                       "reminded_late, created_at, completed_at) VALUES (?, ?, 'call back', ?, ?, 'sent', 0, ?, ?)",
                       rows)
        category = db.execute("SELECT id FROM expense_categories ORDER BY id LIMIT 1").fetchone()[0]
        expenses = interactions // 20
        rows = []
        for _ in range(expenses):
            created = moment()
            pending = rng.random() < 0.1
            rows.append((rng.choice(reps), category, f"{rng.randrange(100, 500_000) / 100:.2f}",
                         rng.choice(("TWD", "TWD", "TWD", "USD", "CNY")), created.date().isoformat(),
                         "submitted" if pending else "approved",
                         None if pending else _stamp(created + timedelta(days=1)),
                         _stamp(created), _stamp(created)))
        db.executemany("INSERT INTO expenses (staff_id, category_id, amount, currency, spent_on, status, decided_at, "
                       "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"customers": len(customer_ids), "leads": leads, "interactions": interactions,
                "follow-ups": followups, "expenses": expenses}
    finally:
        db.close()


def _forget_runs(path: Path, settings: bool = True) -> None:
    """The digests sent (and, with ``settings``, the frequencies chosen) by an earlier run, or round, forgotten."""
    db = sqlite3.connect(path)
    try:
        db.execute("DELETE FROM digest_sends")
        if settings:
            db.execute("DELETE FROM digest_settings")
        db.commit()
    finally:
        db.close()


@dataclass
class RecordingBot:
    """Where the scheduler's deliver() sends: counts what would have gone to Telegram."""

    messages: int = 0
    photos: int = 0

    async def _post(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        self.messages += 1
        return {"chat": {"id": data["chat_id"]}, "message_id": self.messages}

    async def send_photo(self, chat_id: int, photo: bytes, **_: Any) -> Any:
        self.photos += 1
        return type("Message", (), {"chat": type("Chat", (), {"id": chat_id}), "message_id": 0})


async def _lookups(services: Services, actor: Actor, phones: Sequence[str], until: asyncio.Future[Any] | None,
                   count: int = 0) -> list[float]:
    samples: list[float] = []
    index = 0
    due = time.perf_counter()
    while (until is not None and not until.done()) or (until is None and len(samples) < count):
        due += 0.02
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        start = min(due, time.perf_counter())
        await services.customers.customers.search(actor, phones[index % len(phones)])
        samples.append(time.perf_counter() - start)
        index += 1
    return samples


def _cpu() -> float:
    """CPU seconds of this process and of the worker's processes (the digest is computed in one of those; Linux's
    /proc, to the clock tick)."""
    used = time.process_time()
    pool = offloop._pool  # started by the first digest
    tick = os.sysconf("SC_CLK_TCK")
    for pid in getattr(pool, "_processes", None) or {}:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return used


async def _timed(services: Services, actor: Actor, frequency: Frequency, rounds: int = 3
                 ) -> tuple[float, float, int]:
    """Median wall and CPU seconds (the bot's loop is idle meanwhile: the CPU is the digest's)."""
    times, cpu = [], []
    sections = 0
    for _ in range(rounds):
        started, used = time.perf_counter(), _cpu()
        made = await services.digests.digests.compose(actor, frequency, MONDAY.date())
        times.append(time.perf_counter() - started)
        cpu.append(_cpu() - used)
        sections = len(made.sections)
    return statistics.median(times), statistics.median(cpu), sections


def _row(what: str, samples: Sequence[float], tail: str = "") -> None:
    p50, p95, top = _ms(samples)
    print(f"  {what:<34} n={len(samples):5d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {top:7.1f} ms{tail}")


async def _rush(services: Services, rep: Actor, phones: Sequence[str], path: Path
                ) -> tuple[list[float], int, int, float, float]:
    """08:30: the 50 managers' digests claimed, computed and pushed by the scheduler's job while the rep looks
    phones up. The lookups' times, digests sent, charts, wall and CPU seconds (both processes)."""
    await asyncio.to_thread(_forget_runs, path, False)  # the claims of a round before: everyone is due again
    bot = RecordingBot()
    started, used = time.perf_counter(), _cpu()
    job = asyncio.ensure_future(send_due_digests(services, cast(Bot, bot), Catalogs()))
    busy = await _lookups(services, rep, phones, job)
    return busy, job.result(), bot.photos, time.perf_counter() - started, _cpu() - used


@contextlib.contextmanager
def _in_a_thread() -> Iterator[None]:
    """``run_apart`` jobs in a worker thread of this process, as digests were computed before."""
    offloop.RUN_APART = False
    try:
        yield
    finally:
        offloop.RUN_APART = True


def _scanning() -> Any:
    """The digest's counts made by scanning the tables, as before the per-hour counters (the same queries the
    counters are tested against)."""
    return mock.patch.object(customers_group, "SqlCustomerDigestRepository",
                             functools.partial(SqlCustomerDigestRepository, counters=False))


def _chart_cpu(rounds: int = 10) -> float:
    chart = MatplotlibTrendChart()
    points = [f"11-{d:02d}" for d in range(1, 15)]
    lines = [("New customers", [800 + 3 * n for n in range(14)]), ("Interactions", [8000 + 50 * n for n in range(14)])]
    chart.render("Trend", points, lines)
    used = []
    for _ in range(rounds):
        started = time.process_time()
        chart.render("Trend", points, lines)
        used.append(time.process_time() - started)
    return statistics.median(used)


async def _existing(services: Services) -> Team:
    """A database this bench built earlier in the same --folder: its people, found by their Telegram ids."""
    org = services.organisation
    admin = await org.identity.actor_for(TelegramIdentity(ADMIN_TG, "Admin"))
    people = [await org.identity.actor_for(TelegramIdentity(1000 + n, "")) for n in range(REPS + MANAGERS)]
    if admin is None or any(p is None for p in people):
        raise SystemExit("this folder's database was not built by this bench")
    found = [p for p in people if p is not None]
    return Team(services, admin, found[:REPS], found[REPS:])


async def run(customer_count: int, interactions: int, folder: Path) -> None:
    path = folder / "digest.db"
    reuse = path.exists()
    engine = await fresh_engine(f"sqlite+aiosqlite:///{path}") if not reuse else create_engine(
        f"sqlite+aiosqlite:///{path}")
    clock = ManualClock(MONDAY - timedelta(days=1))
    services = build_services(Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG})), engine, clock)
    built = time.perf_counter()
    data = customers(customer_count, owners=["Admin"], seed=7)
    if reuse:
        started = time.perf_counter()
        await upgrade(engine)  # a database kept from before a migration (0028 fills the counters from the tables)
        print(f"sqlite: migrated to the head in {time.perf_counter() - started:.1f} s")
        team = await _existing(services)
        await asyncio.to_thread(_forget_runs, path)
        print(f"sqlite: the database built earlier in {folder}")
    else:
        team = await _team(services)
        sheet = customer_table(data)
        await services.customers.importing.import_file(team.admin, write_csv(sheet[0], sheet[1:]), "seed.csv",
                                                       skip_invalid=True)
        counts = await asyncio.to_thread(_fill, path, [r.staff_id for r in team.reps], interactions,
                                         MONDAY.astimezone(UTC), 11)
        print(f"sqlite: {', '.join(f'{n:,} {what}' for what, n in counts.items())} over {DAYS} days, "
              f"{REPS} reps and {MANAGERS} managers in {DEPARTMENTS} departments "
              f"(generated in {time.perf_counter() - built:.0f} s)")
    clock.set(MONDAY)
    phones = [c.phones[0] for c in data[:500] if c.phones]
    # 100,000 generated customers would stay alive in this process, which a bot never holds: drop them, and keep
    # what setting up left out of the garbage collector's full passes, which would land inside the timed lookups.
    del data
    gc.collect()
    gc.freeze()

    manager = team.managers[0]
    started = time.perf_counter()
    await services.digests.digests.compose(manager, Frequency.WEEKLY, MONDAY.date())
    print(f"first weekly digest of the process (imports matplotlib): {time.perf_counter() - started:.1f} s")
    print(f"the trend chart alone (2 lines, 14 points): CPU {_chart_cpu() * 1000:.0f} ms")
    print("one digest, median of 3 (wall, and CPU of both processes): as the bot computes it, in the worker's process "
          "from the counters; and in a worker thread of this process (as before), from the counters and scanning "
          "the tables:")
    for who, actor in (("department manager", manager), ("admin (everything)", team.admin)):
        for frequency in (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY):
            seconds, cpu, sections = await _timed(services, actor, frequency)
            with _in_a_thread():
                threaded, threaded_cpu, _ = await _timed(services, actor, frequency)
                with _scanning():  # patched in this process: the worker's process would not see it
                    scanned, scanned_cpu, _ = await _timed(services, actor, frequency)
            verdict = "ok" if seconds <= 1.0 else "OVER the 1 s target"
            print(f"  {who:<20} {frequency.value:<7} process {seconds * 1000:5.0f} ms (CPU {cpu * 1000:4.0f}, "
                  f"{sections} sections) {verdict:<5}  thread {threaded * 1000:5.0f} ms (CPU "
                  f"{threaded_cpu * 1000:4.0f})  thread scanning {scanned * 1000:5.0f} ms "
                  f"(CPU {scanned_cpu * 1000:4.0f})")

    for actor in team.managers[:WEEKLY_MANAGERS]:
        await services.digests.digests.set_frequency(actor, Frequency.WEEKLY)
    await services.digests.digests.set_frequency(team.admin, Frequency.OFF)
    rep = team.admin
    print("a phone lookup every 20 ms (CustomerService.search):")
    # The first pass over the phones reads their pages from disk (a 500 MB database): the idle baseline of earlier
    # runs, taken then, was up to 65× the one after the digests. Every measured round below repeats lookups warm.
    _row("first pass over the phones (cold)", await _lookups(services, rep, phones, None, len(phones)),
         "   (not compared)")
    idle = await _lookups(services, rep, phones, None, 300)
    _row("idle, before", idle)
    in_process = await _rush(services, rep, phones, path)
    with _in_a_thread():  # the same digests computed in a worker thread of this process, as before
        in_thread = await _rush(services, rep, phones, path)
    # Idle again afterwards: on a shared machine one idle baseline can be unlucky either way.
    after = await _lookups(services, rep, phones, None, 300)
    _row("idle, after", after)
    lower = min(_ms(idle)[1], _ms(after)[1])
    for how, (busy, sent, photos, took, cpu) in (("in the worker's process", in_process),
                                                ("in a worker thread (before)", in_thread)):
        ratio = _ms(busy)[1] / lower
        _row(f"during 50 digests, {how}", busy,
             f"   p95 {ratio:.1f}× the lower idle p95 ({'ok' if ratio <= 2 else 'OVER the 2× target'})")
        print(f"  {'':<34} ({sent} digests sent, {photos} charts, in {took:.1f} s: {took / max(sent, 1) * 1000:.0f} "
              f"ms each; CPU {cpu:.1f} s)")
    niceness = [os.getpriority(os.PRIO_PROCESS, pid) for pid in getattr(offloop._pool, "_processes", None) or {}]
    print(f"  (load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores; the worker's process at niceness {niceness}, this one at "
          f"{os.getpriority(os.PRIO_PROCESS, 0)})")
    await engine.dispose()


def folder_main(run: Callable[[int, int, Path], Coroutine[Any, Any, None]], description: str | None,
                argv: Sequence[str] | None) -> int:
    """The command line of a benchmark over customers and interactions, kept in a folder or a temp dir (this
    one's and bench.kpi's)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=None,
                        help="keep the database here, and use the one kept there before (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.folder is not None:
        args.folder.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.customers, args.interactions, args.folder))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.customers, args.interactions, Path(folder)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return folder_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
