"""Customer import speed, read / plan / run: ``python -m bench.importing --count 100000``.

Builds a CSV of COUNT made-up customers (bench/data.py: two phone columns, owners by name, Traditional Chinese
headers) and imports it through the real path the CLI and the chat use, timing each phase on its own:
read (decode and parse the CSV), plan (check every row, duplicates in the file and against the database, owners:
the dry run) and run (the one-transaction write of customers, search terms and audit rows). Each phase prints
wall and CPU seconds (CPU of this process, worker threads included; PostgreSQL's own CPU is not in it) and
rows/s. On SQLite by default (a fresh file in a temporary folder); ``--database-url`` points at a PostgreSQL
database that is WIPED first. Figures are printed, not judged: the goal is 100,000 rows in ≤ 30 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select, text

from bench.data import customer_table, customers, fresh_engine
from bench.search import _calibration, _team
from storage import tables as t
from storage.customers.spreadsheets import write_csv
from storage.tables import metadata

T = TypeVar("T")



async def _timed(label: str, rows: int, work: Callable[[], Awaitable[T]],
                 profile: cProfile.Profile | None) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    try:
        result = await work()
    finally:
        if profile is not None:
            profile.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<6} {wall:7.1f} {cpu:7.1f}   {rows / wall:10,.0f}")
    return result, wall, cpu


async def run(url: str, count: int, reps: int, seed: int, profile_to: Path | None) -> None:
    engine = await fresh_engine(url)
    profile = cProfile.Profile() if profile_to else None
    try:
        team = await _team(engine, reps)
        started = time.perf_counter()
        owners = [team.admin.name, *(r.name for r in team.reps)]
        sheet = customer_table(customers(count, owners=owners, seed=seed))
        data = write_csv(sheet[0], sheet[1:])
        print(f"{engine.dialect.name}: {count:,} customers, a {len(data) / 1e6:.1f} MB CSV made in "
              f"{time.perf_counter() - started:.1f} s (not timed)")
        print(_calibration())  # the machine is shared: read the figures against its speed of the moment
        importing = team.services.customers.importing
        print("  phase     wall     CPU       rows/s")
        table, read_wall, read_cpu = await _timed(
            "read", count, lambda: importing.read(data, "customers.csv"), profile)
        plan, plan_wall, plan_cpu = await _timed("plan", count, lambda: importing.plan(team.admin, table), profile)
        result, run_wall, run_cpu = await _timed("run", plan.valid, lambda: importing.run(team.admin, plan), profile)
        wall, cpu = read_wall + plan_wall + run_wall, read_cpu + plan_cpu + run_cpu
        print(f"  total  {wall:7.1f} {cpu:7.1f}   {count / wall:10,.0f}")
        async with engine.connect() as conn:
            terms = (await conn.execute(select(func.count()).select_from(t.search_terms))).scalar_one()
        print(f"  {result.created:,} customers created, {len(plan.errors)} rows refused, {terms:,} search terms")
    finally:
        if engine.dialect.name == "postgresql":  # leave the shared server as we found it, minus the space
            names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()
    if profile is not None and profile_to is not None:
        profile.dump_stats(profile_to)
        print(f"profile (read, plan and run on the loop thread) written to {profile_to}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.importing", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="rows in the file (default 100000)")
    parser.add_argument("--reps", type=int, default=20, help="sales reps owning them (default 20)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--database-url", help="a PostgreSQL database to use instead of SQLite (it is WIPED)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the three phases here")
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    if args.database_url:
        asyncio.run(run(args.database_url, args.count, args.reps, args.seed, args.profile))
        return 0
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        asyncio.run(run(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args.count, args.reps, args.seed,
                        args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
