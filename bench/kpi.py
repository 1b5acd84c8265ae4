"""A manager's team review for a quarter: ``python -m bench.kpi --customers 100000 --interactions 1000000``.

On one SQLite database built as the digest benchmark builds it (bench/digest.py: customers through the importer,
1,000,000 interactions and 200,000 follow-ups over the last 120 days among 40 reps in 8 departments; here a
quarter of the interactions are visits) it prints:

- the wall time of ``ReviewService.team`` for the quarter (2026 Q4, two months of data), computed as the bot does
  it: every KPI source's grouped aggregate and the ranking chart in the worker's separate process
  (``Worker.run_apart``), on its own connection. For a department manager and for the admin (everyone). Target:
  ≤ 1 s. The CPU figure is this process's own: what the bot's process spends while the worker computes.
- another user's phone lookup every 20 ms (``CustomerService.search``), idle and while 20 managers' team reviews
  run one after another, the p95 of each and their ratio (idle measured before and after, the lower one used).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, timedelta
from pathlib import Path

from bench.data import customer_table, customers, fresh_engine
from bench.digest import (
    DAYS,
    DEPARTMENTS,
    MANAGERS,
    MONDAY,
    REPS,
    Team,
    _existing,
    _fill,
    _lookups,
    _team,
    folder_main,
)
from bench.search import _ms
from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.hr.model import PeriodKind
from crm.hr.periods import containing
from crm.organisation.permissions import Actor
from crm.services import Services
from storage.customers.spreadsheets import write_csv
from storage.engine import create_engine

QUARTER = containing(PeriodKind.QUARTER, date(2026, 11, 30))
BUSY_MANAGERS = 20


def _visits(path: Path) -> int:
    """A quarter of the calls become visits, so the visits measure reads the kind from its index."""
    db = sqlite3.connect(path)
    try:
        db.execute("UPDATE interactions SET kind = 'visit' WHERE id % 4 = 0")
        db.commit()
        db.execute("ANALYZE")
        return int(db.execute("SELECT count(*) FROM interactions WHERE kind = 'visit'").fetchone()[0])
    finally:
        db.close()


async def _timed(services: Services, actor: Actor, rounds: int = 3) -> tuple[float, float, int]:
    """Median wall and CPU seconds of one team review (the process's CPU: the loop is idle meanwhile)."""
    times, cpu, people = [], [], 0
    for _ in range(rounds):
        started, used = time.perf_counter(), time.process_time()
        made = await services.hr.reviews.team(actor, QUARTER)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        people = len(made.people)
    return statistics.median(times), statistics.median(cpu), people


async def _reviews(services: Services, managers: Sequence[Actor]) -> int:
    for manager in managers:
        await services.hr.reviews.team(manager, QUARTER)
    return len(managers)


async def run(customer_count: int, interactions: int, folder: Path) -> None:
    path = folder / "digest.db"
    reuse = path.exists()
    engine = await fresh_engine(f"sqlite+aiosqlite:///{path}") if not reuse else create_engine(
        f"sqlite+aiosqlite:///{path}")
    clock = ManualClock(MONDAY - timedelta(days=1))
    services = build_services(Settings(_env_file=None, admin_telegram_ids=frozenset({1}), data_dir=folder),
                              engine, clock)
    built = time.perf_counter()
    data = customers(customer_count, owners=["Admin"], seed=7)
    team: Team
    if reuse:
        team = await _existing(services)
        print(f"sqlite: the database built earlier in {folder}")
    else:
        team = await _team(services)
        sheet = customer_table(data)
        await services.customers.importing.import_file(team.admin, write_csv(sheet[0], sheet[1:]), "seed.csv",
                                                       skip_invalid=True)
        counts = await asyncio.to_thread(_fill, path, [r.staff_id for r in team.reps], interactions,
                                         MONDAY.astimezone(UTC), 11)
        visits = await asyncio.to_thread(_visits, path)
        print(f"sqlite: {', '.join(f'{n:,} {what}' for what, n in counts.items())} ({visits:,} visits) over "
              f"{DAYS} days, {REPS} reps and {MANAGERS} managers in {DEPARTMENTS} departments "
              f"(generated in {time.perf_counter() - built:.0f} s)")
    clock.set(MONDAY)
    phones = [c.phones[0] for c in data[:500] if c.phones]
    del data
    gc.collect()
    gc.freeze()

    manager = team.managers[0]
    started = time.perf_counter()
    await services.hr.reviews.team(manager, QUARTER)
    print(f"first team review of the process (imports matplotlib): {time.perf_counter() - started:.1f} s")
    print(f"a team review for {QUARTER.label} ({len(services.hr.reviews.measures())} measures and the chart), "
          "median of 3, in the worker's process as the bot does it (wall, and this process's CPU):")
    for who, actor in (("department manager", manager), ("admin (everyone)", team.admin)):
        seconds, cpu, people = await _timed(services, actor)
        verdict = "ok" if seconds <= 1.0 else "OVER the 1 s target"
        print(f"  {who:<20} {seconds * 1000:6.0f} ms  (CPU {cpu * 1000:4.0f} ms, {people} people)  {verdict}")

    lookup_by = team.reps[0]
    print("another user's phone lookup every 20 ms (CustomerService.search):")
    idle = await _lookups(services, lookup_by, phones, None, 300)
    p50, p95, top = _ms(idle)
    print(f"  {'idle':<34} n={len(idle):5d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {top:7.1f} ms")
    started = time.perf_counter()
    job = asyncio.ensure_future(_reviews(services, team.managers[:BUSY_MANAGERS]))
    busy = await _lookups(services, lookup_by, phones, job)
    done, took = job.result(), time.perf_counter() - started
    after = await _lookups(services, lookup_by, phones, None, 300)
    p50, p95, top = _ms(after)
    print(f"  {'idle, after':<34} n={len(after):5d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {top:7.1f} ms")
    p50, p95, top = _ms(busy)
    ratio = p95 / min(_ms(idle)[1], _ms(after)[1])
    print(f"  {f'during {done} team reviews':<34} n={len(busy):5d}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
          f"max {top:7.1f} ms   p95 {ratio:.1f}× the lower idle p95")
    print(f"  ({done} team reviews with their charts in {took:.1f} s: {took / max(done, 1) * 1000:.0f} ms each)")
    print(f"  (load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores)")
    await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    return folder_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
