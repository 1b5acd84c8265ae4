"""Customer search at scale: ``python -m bench.search --count 100000``.

Builds a fresh SQLite database in a temporary folder, imports COUNT made-up customers (bench/data.py) through
the real import path (CSV parse → ImportService.plan → one-transaction bulk write), then times a mix of searches
through CustomerService.search as a rep (own scope) and as an admin (everything): 1, 2 and 3+ CJK characters, an
English prefix, the last four phone digits, a full phone number, an e-mail address and a #tag. The same searches'
SQL (storage.customers.repositories.search_statement) is then run raw with the sqlite3 module, so the ratio
shows what the service layer, SQLAlchemy and the driver add on top of the database itself. Target: p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.data import FakeCustomer, customer_table, customers
from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import SystemClock
from crm.customers import phones
from crm.customers.customers import SEARCH_PAGE
from crm.customers.search_terms import is_cjk, query_terms
from crm.organisation.defaults import ensure_defaults
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services
from storage.customers.repositories import search_statement
from storage.customers.spreadsheets import write_csv
from storage.engine import create_engine
from storage.migrate import upgrade

ADMIN_TG = 1
TARGET_P95_MS = 30.0
KINDS = ("cjk1", "cjk2", "cjk3", "en_prefix", "phone4", "phone_full", "email", "tag")


@dataclass
class Team:
    services: Services
    admin: Actor
    reps: list[Actor]


async def _team(engine: AsyncEngine, reps: int) -> Team:
    settings = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG}))  # type: ignore[call-arg]
    services = build_services(settings, engine, SystemClock())
    await ensure_defaults(services.uow)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Admin", username="admin"))
    assert admin is not None
    departments = [await services.organisation.departments.create(admin, f"Sales {n}",
                                                                  admin.department_id) for n in range(4)]
    roles = {r.name: r.id for r in await services.organisation.roles.list(admin)}
    actors = []
    for n in range(reps):
        invite = await services.organisation.invites.create(admin, roles["rep"], departments[n % len(departments)].id)
        identity = TelegramIdentity(1000 + n, f"Rep {n:02d}", username=f"rep{n:02d}")
        await services.organisation.invites.accept(invite.code, identity)
        rep = await services.organisation.identity.actor_for(identity)
        assert rep is not None
        actors.append(rep)
    return Team(services, admin, actors)


def _queries(data: Sequence[FakeCustomer], per_kind: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    cjk_names = [c.name for c in data if any(is_cjk(ch) for ch in c.name)]
    latin_words = [w for c in data if c.name.isascii() for w in c.name.split() if len(w) >= 4 and w.isalpha()]
    emailed = [c.email for c in data if c.email]
    tagged = [t for c in data for t in c.tags]

    def cjk_piece(length: Callable[[], int]) -> str:
        name = rng.choice(cjk_names)
        size = min(length(), len(name))
        start = rng.randrange(len(name) - size + 1)
        return name[start:start + size]

    return {
        "cjk1": [cjk_piece(lambda: 1) for _ in range(per_kind)],
        "cjk2": [cjk_piece(lambda: 2) for _ in range(per_kind)],
        "cjk3": [cjk_piece(lambda: rng.choice((3, 4))) for _ in range(per_kind)],
        "en_prefix": [rng.choice(latin_words)[: rng.choice((3, 4, 5))].lower() for _ in range(per_kind)],
        "phone4": [phones.digits(rng.choice(rng.choice(data).phones))[-4:] for _ in range(per_kind)],
        "phone_full": [rng.choice(rng.choice(data).phones) for _ in range(per_kind)],
        "email": [rng.choice(emailed) for _ in range(per_kind)],
        "tag": ["#" + rng.choice(tagged) for _ in range(per_kind)],
    }


def _terms(query: str, region: str) -> tuple[list[str], list[str], str | None]:
    """What CustomerService.search hands to the index for this text (first page)."""
    text = query.strip()[:100]
    suffix = phones.query_suffix(text, region) if phones.looks_like_phone(text) else None
    exact, prefixes = ([], []) if suffix else query_terms(text)
    return exact, prefixes, suffix


def _raw_sql(actor: Actor, query: str, region: str) -> list[str]:
    exact, prefixes, suffix = _terms(query, region)
    statement = search_statement(actor.scope_filter("customers"), exact, prefixes, suffix,
                                 limit=(SEARCH_PAGE + 1) * 2)
    if statement is None:
        return []
    return [str(statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))]


def _ms(samples: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000, ordered[-1] * 1000


async def _time_service(services: Services, actor: Actor, queries: Sequence[str], rounds: int) -> list[float]:
    for query in queries:  # warm the page cache and SQLAlchemy's statement cache
        await services.customers.customers.search(actor, query)
    samples = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            await services.customers.customers.search(actor, query)
            samples.append(time.perf_counter() - start)
    return samples


def _time_raw(db: sqlite3.Connection, statements: Sequence[Sequence[str]], rounds: int) -> list[float]:
    for sqls in statements:
        for sql in sqls:
            db.execute(sql).fetchall()
    samples = []
    for _ in range(rounds):
        for sqls in statements:
            start = time.perf_counter()
            for sql in sqls:
                db.execute(sql).fetchall()
            samples.append(time.perf_counter() - start)
    return samples


def _calibration() -> str:
    """A fixed pure-Python workload and the load average, to read the other figures against."""
    started, cpu = time.perf_counter(), time.process_time()
    total = 0
    for n in range(2_000_000):
        total += n % 7
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"calibration: 2M-step Python loop {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU; load average {load:.1f} on {os.cpu_count()} CPUs")


class _Stopwatch:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        spent = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return spent


async def _build(engine: AsyncEngine, count: int, reps: int, seed: int) -> tuple[Team, list[FakeCustomer]]:
    """The whole import path, timed: CSV parse, checks (the dry run), the one-transaction write."""
    team = await _team(engine, reps)
    watch = _Stopwatch()
    data = customers(count, owners=[team.admin.name, *(r.name for r in team.reps)], seed=seed)
    sheet = customer_table(data)
    csv_bytes = write_csv(sheet[0], sheet[1:])
    generated = watch.lap()
    importing = team.services.customers.importing
    table = await importing.read(csv_bytes, "customers.csv")
    parsed = watch.lap()
    plan = await importing.plan(team.admin, table)
    planned = watch.lap()
    result = await importing.run(team.admin, plan)
    written = watch.lap()
    wall = parsed[0] + planned[0] + written[0]
    cpu = parsed[1] + planned[1] + written[1]
    print(f"data: {count:,} customers generated in {generated[0]:.1f} s (not part of the import)")
    print(f"import of a {len(csv_bytes) / 1e6:.1f} MB CSV, wall (CPU) seconds: parse {parsed[0]:.1f} ({parsed[1]:.1f})"
          f" + check {planned[0]:.1f} ({planned[1]:.1f}) + write {written[0]:.1f} ({written[1]:.1f})"
          f" = {wall:.1f} ({cpu:.1f}) for {result.created:,} customers, {result.created / wall:,.0f} rows/s;"
          f" {len(plan.errors)} rows refused")
    return team, data


async def _existing(engine: AsyncEngine, count: int, reps: int, seed: int) -> tuple[Team, list[FakeCustomer]]:
    """A database built earlier with --keep: the same people, the same (regenerated) data."""
    settings = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG}))  # type: ignore[call-arg]
    services = build_services(settings, engine, SystemClock())
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Admin"))
    found = [await services.organisation.identity.actor_for(TelegramIdentity(1000 + n, "")) for n in range(reps)]
    if admin is None or any(rep is None for rep in found):
        raise SystemExit("--reuse: this folder's database was not built by this bench with these --reps")
    team = Team(services, admin, [rep for rep in found if rep is not None])
    return team, customers(count, owners=[admin.name, *(r.name for r in team.reps)], seed=seed)


async def run(count: int, *, reps: int, per_kind: int, rounds: int, seed: int, explain: bool, folder: Path,
              reuse: bool = False) -> bool:
    print(_calibration())
    db_path = folder / "bench.db"
    reusing = reuse and db_path.exists()
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    try:
        await upgrade(engine)
        team, data = await (_existing if reusing else _build)(engine, count, reps, seed)
        # 100,000 generated customers stay alive in this process; a bot holds nothing like it. Keep them out of
        # the garbage collector's full passes, which would otherwise land inside the timed searches.
        gc.freeze()
        region = team.services.customers.customers.phone_region
        queries = _queries(data, per_kind, seed)
        rep = team.reps[0]
        with sqlite3.connect(db_path) as db:
            db.execute("PRAGMA query_only=1")
            if explain:
                for kind in KINDS:
                    print(f"\nEXPLAIN QUERY PLAN — {kind} {queries[kind][0]!r} as a rep:")
                    for row in db.execute("EXPLAIN QUERY PLAN " + _raw_sql(rep, queries[kind][0], region)[0]):
                        print("   ", row[-1])
            print(f"\nsearch, ms ({per_kind} queries x {rounds} rounds per kind)   service p50   p95   max"
                  "   raw SQL p50   p95   ratio p50  p95")
            everything: list[float] = []
            for label, actor in (("rep", rep), ("admin", team.admin)):
                all_service: list[float] = []
                all_raw: list[float] = []
                for kind in KINDS:
                    service = await _time_service(team.services, actor, queries[kind], rounds)
                    raw = _time_raw(db, [_raw_sql(actor, q, region) for q in queries[kind]], rounds)
                    all_service += service
                    all_raw += raw
                    _print_line(f"{label:5} {kind}", service, raw)
                _print_line(f"{label:5} all", all_service, all_raw)
                everything += all_service
        p50, p95, worst = _ms(everything)
        verdict = "OK" if p95 <= TARGET_P95_MS else "OVER TARGET"
        print(f"\noverall p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {worst:.2f} ms — target p95 ≤ {TARGET_P95_MS:.0f} ms:"
              f" {verdict}")
        print(_calibration())
        return p95 <= TARGET_P95_MS
    finally:
        await engine.dispose()


def _print_line(label: str, service: Sequence[float], raw: Sequence[float]) -> None:
    s50, s95, smax = _ms(service)
    r50, r95, _ = _ms(raw)
    print(f"  {label:<44} {s50:8.2f} {s95:6.2f} {smax:6.2f}   {r50:11.2f} {r95:5.2f}   "
          f"{s50 / max(r50, 1e-6):8.1f}x {s95 / max(r95, 1e-6):4.1f}x")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="customers to create (default 100000)")
    parser.add_argument("--reps", type=int, default=20, help="sales reps owning them (default 20)")
    parser.add_argument("--queries", type=int, default=25, help="queries per kind (default 25)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over the queries (default 3)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--explain", action="store_true", help="print SQLite's plan for one query per kind")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    parser.add_argument("--reuse", action="store_true", help="with --keep: search the database built there before")
    args = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # a 100k build takes a while: show each figure as it comes

    def go(folder: Path) -> bool:
        return asyncio.run(run(args.count, reps=args.reps, per_kind=args.queries, rounds=args.rounds,
                               seed=args.seed, explain=args.explain, folder=folder, reuse=args.reuse))

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        ok = go(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
            ok = go(Path(folder))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
