"""Receivables aging at scale: ``python -m bench.receivables --invoices 100000``.

Builds a fresh SQLite database in a temporary folder with a team (an admin, department managers, reps),
CUSTOMERS customers spread over the reps and INVOICES invoices on them (written straight into the tables: the
point is the reading), due dates spread over the last 200 days and the next 60, a third partly paid, a quarter
paid, a few void, a tenth in USD. Then times ``ReceivablesService.aging`` — the per-customer buckets (the page
of the largest balances and their count) and the per-currency totals, SQL sums both — as the admin (everything),
a manager (a department) and a rep (their own customers). Target: ≤ 500 ms for the admin over 100,000 invoices.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import SystemClock
from crm.organisation.defaults import ensure_defaults
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services
from storage.billing import tables as bt
from storage.customers import tables as ct
from storage.engine import create_engine
from storage.migrate import upgrade

ADMIN_TG = 1
TARGET_MS = 500.0
DEPARTMENTS = 4


async def _team(services: Services, reps: int) -> tuple[Actor, Actor, list[Actor]]:
    await ensure_defaults(services.uow)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Admin", username="admin"))
    assert admin is not None
    departments = [await services.organisation.departments.create(admin, f"Sales {n}", admin.department_id)
                   for n in range(DEPARTMENTS)]
    roles = {r.name: r.id for r in await services.organisation.roles.list(admin)}

    async def join(tg: int, name: str, role: str, department: int) -> Actor:
        invite = await services.organisation.invites.create(admin, roles[role], department)
        identity = TelegramIdentity(tg, name)
        await services.organisation.invites.accept(invite.code, identity)
        actor = await services.organisation.identity.actor_for(identity)
        assert actor is not None
        return actor

    manager = await join(900, "Manager 0", "manager", departments[0].id)
    people = [await join(1000 + n, f"Rep {n:02d}", "rep", departments[n % DEPARTMENTS].id) for n in range(reps)]
    return admin, manager, people


async def _fill(services: Services, reps: list[Actor], customers: int, invoices: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    async with services.uow() as uow:
        conn = uow.connection
        await conn.execute(insert(ct.customers), [
            {"name": f"Customer {n:06d}", "phones": [], "tags": [], "owner_id": reps[n % len(reps)].staff_id,
             "kind": "company", "classification": "potential", "created_at": now, "updated_at": now}
            for n in range(customers)])
        owners = [reps[n % len(reps)].staff_id for n in range(customers)]
        batch: list[dict[str, object]] = []
        for n in range(invoices):
            customer = rng.randrange(customers)
            due = today + timedelta(days=rng.randint(-200, 60))
            total = rng.randint(1_000, 5_000_000)
            roll = rng.random()
            status, paid = ("paid", total) if roll < 0.25 else ("partial", total // 3) if roll < 0.55 else \
                ("void", 0) if roll < 0.57 else ("issued", 0)
            batch.append({
                "number": f"INV-B{n:07d}", "customer_id": customer + 1, "owner_id": owners[customer],
                "currency": "USD" if n % 10 == 0 else "TWD", "status": status, "issue_date": due - timedelta(days=30),
                "due_date": due, "order_discount": Decimal(0), "total_minor": total, "paid_minor": paid,
                "created_at": now, "updated_at": now})
            if len(batch) == 10_000:
                await conn.execute(insert(bt.invoices), batch)
                batch = []
        if batch:
            await conn.execute(insert(bt.invoices), batch)
        await uow.commit()


async def _time(services: Services, actor: Actor, runs: int) -> tuple[list[float], int]:
    timings: list[float] = []
    customers = 0
    for _ in range(runs):
        started = time.perf_counter()
        view = await services.billing.receivables.aging(actor)
        timings.append((time.perf_counter() - started) * 1000)
        customers = len(view.customers) + view.more
    return timings, customers


def _line(label: str, timings: list[float], customers: int) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"  {label:<10} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {ordered[-1]:7.1f} ms   ({customers} customer-currency rows owing)")


async def run(invoices: int, customers: int, reps: int, runs: int, seed: int, keep: str | None = None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{keep or os.path.join(folder, 'bench.db')}")
        try:
            await upgrade(engine)
            services = build_services(Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_TG})), engine,
                                      SystemClock())
            admin, manager, people = await _team(services, reps)
            started = time.perf_counter()
            await _fill(services, people, customers, invoices, seed)
            print(f"{invoices:,} invoices on {customers:,} customers of {reps} reps written in "
                  f"{time.perf_counter() - started:.1f} s; {runs} runs each (after one warm-up):")
            results = {}
            for label, actor in (("admin", admin), ("manager", manager), ("rep", people[0])):
                await services.billing.receivables.aging(actor)  # warm caches and statements
                results[label] = await _time(services, actor, runs)
                print(_line(label, *results[label]))
            worst = max(statistics.median(t) for t, _ in results.values())
            verdict = "within" if worst <= TARGET_MS else "OVER"
            print(f"slowest median {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target "
                  f"(today {date.today().isoformat()})")
            return 0 if worst <= TARGET_MS else 1
        finally:
            await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", metavar="FILE", help="build the database in FILE (a new file) and keep it")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.invoices, args.customers, args.reps, args.runs, args.seed, args.keep))


if __name__ == "__main__":
    sys.exit(main())
