"""The digest's per-hour counters (``activity_counts``, kept by triggers — migration 0028) give exactly the figures
of scanning the tables: on a fixed data set, after rows are written, moved to another owner, trashed, restored,
done, rescheduled and deleted, for periods of a day, a week and a month in zones whole hours, half hours and
three quarters off UTC, for every kind of scope, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.core.clock import ManualClock
from crm.organisation.permissions import ScopeFilter
from storage import tables as t
from storage.customers.digest import SqlCustomerDigestRepository
from tests.support.org import make_org

ZONES = ("Asia/Taipei", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "UTC")
FIRST = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 70


async def _figures(conn: AsyncConnection, scope: ScopeFilter, start: datetime, end: datetime,
                   counters: bool) -> dict[str, Any]:
    repo = SqlCustomerDigestRepository(conn, counters=counters)
    return {
        "customers": await repo.new_customers(scope, start, end),
        "leads": await repo.new_leads(scope, start, end),
        "interactions": await repo.interactions(scope, start, end),
        "by_author": sorted(await repo.interactions_by_author(scope, start, end)),
        "done": await repo.followups_done(scope, start, end),
        "due": await repo.followups_due(scope, start, end),
    }


def _periods() -> list[tuple[datetime, datetime]]:
    """Local days, Monday-to-Sunday weeks and calendar months in each zone, as the digests ask for them."""
    found = []
    for name in ZONES:
        zone = ZoneInfo(name)

        def at(day: date, zone: ZoneInfo = zone) -> datetime:
            return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)

        for day in (date(2026, 10, 14), date(2026, 11, 2), date(2026, 11, 30)):
            found.append((at(day), at(day + timedelta(days=1))))
        found.append((at(date(2026, 11, 23)), at(date(2026, 11, 30))))
        found.append((at(date(2026, 10, 1)), at(date(2026, 11, 1))))
        found.append((at(date(2026, 11, 1)), at(date(2026, 12, 1))))
    found.append((datetime(2026, 11, 3, 5, 17, tzinfo=UTC), datetime(2026, 11, 3, 5, 48, tzinfo=UTC)))  # one hour
    return found


async def _seed(conn: AsyncConnection, people: list[int], rng: random.Random) -> None:
    def moment() -> datetime:
        return FIRST + timedelta(seconds=rng.randrange(DAYS * 86_400))

    await conn.execute(insert(t.customers), [
        {"name": f"C{n}", "phones": [], "tags": [], "owner_id": rng.choice(people), "created_at": at,
         "updated_at": at, "deleted_at": at if rng.random() < 0.1 else None}
        for n in range(400) for at in (moment(),)])
    await conn.execute(insert(t.leads), [
        {"name": f"L{n}", "phones": [], "owner_id": rng.choice(people), "created_at": at, "updated_at": at}
        for n in range(150) for at in (moment(),)])
    await conn.execute(insert(t.interactions), [
        {"author_id": rng.choice(people), "kind": "call", "text": "called", "occurred_at": at, "created_at": at,
         "deleted_at": at if rng.random() < 0.05 else None}
        for _ in range(1500) for at in (moment(),)])
    rows = []
    for _ in range(600):
        due = moment()
        status = rng.choice(("open", "done", "done", "cancelled"))
        rows.append({"owner_id": rng.choice(people), "text": "call back", "due_at": due, "status": status,
                     "created_at": due - timedelta(days=2),
                     "completed_at": due + timedelta(minutes=rng.randrange(-600, 3000)) if status == "done" else None})
    await conn.execute(insert(t.followups), rows)


async def _churn(conn: AsyncConnection, people: list[int], rng: random.Random) -> None:
    """What the services do to these rows after they are written: handovers, trash and restore, edits, completion,
    rescheduling, lead conversion — and a hard delete, which nothing does today but which must not skew them."""
    customers = [r[0] for r in await conn.execute(select(t.customers.c.id))]
    for cid in rng.sample(customers, 60):
        await conn.execute(update(t.customers).where(t.customers.c.id == cid).values(owner_id=rng.choice(people)))
    await conn.execute(update(t.customers).where(t.customers.c.id.in_(customers[:200:7]))
                       .values(owner_id=people[0]))  # one statement, many rows (a handover)
    await conn.execute(update(t.customers).where(t.customers.c.id.in_(customers[::11]))
                       .values(deleted_at=FIRST))
    await conn.execute(update(t.customers).where(t.customers.c.id.in_(customers[::22]))
                       .values(deleted_at=None))  # restored from the trash
    await conn.execute(update(t.customers).where(t.customers.c.id == customers[5]).values(name="Renamed"))
    leads = [r[0] for r in await conn.execute(select(t.leads.c.id))]
    await conn.execute(update(t.leads).where(t.leads.c.id.in_(leads[::9])).values(deleted_at=FIRST))
    interactions = [r[0] for r in await conn.execute(select(t.interactions.c.id))]
    for iid in rng.sample(interactions, 80):
        await conn.execute(update(t.interactions).where(t.interactions.c.id == iid).values(
            occurred_at=FIRST + timedelta(seconds=rng.randrange(DAYS * 86_400))))
    await conn.execute(update(t.interactions).where(t.interactions.c.id.in_(interactions[::13]))
                       .values(deleted_at=FIRST))
    await conn.execute(update(t.interactions).where(t.interactions.c.id.in_(interactions[::26]))
                       .values(deleted_at=None))
    await conn.execute(delete(t.interactions).where(t.interactions.c.id.in_(interactions[1::50])))
    f = t.followups.c
    followups = [r[0] for r in await conn.execute(select(f.id).where(f.status == "open"))]
    for fid in followups[::3]:  # done now, at some moment
        await conn.execute(update(t.followups).where(f.id == fid).values(
            status="done", completed_at=FIRST + timedelta(seconds=rng.randrange(DAYS * 86_400))))
    for fid in followups[1::5]:  # rescheduled
        await conn.execute(update(t.followups).where(f.id == fid).values(
            due_at=FIRST + timedelta(seconds=rng.randrange(DAYS * 86_400))))
    await conn.execute(update(t.followups).where(f.id.in_(followups[2::7])).values(status="cancelled"))
    await conn.execute(update(t.followups).where(f.id.in_(followups[::10])).values(owner_id=people[-1]))
    await conn.execute(update(t.followups).where(f.id.in_(followups[4::17])).values(deleted_at=FIRST))
    await conn.execute(update(t.followups).where(f.id.in_(followups[::4])).values(remind_state="sent"))


async def test_counters_give_the_scanned_figures(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    people = [mia.staff_id, ned.staff_id, sue.staff_id, org.admin.staff_id]
    scopes = [org.admin.scope_filter("customers"), mia.scope_filter("customers"), ned.scope_filter("customers"),
              ScopeFilter(False, sue.staff_id, None)]
    rng = random.Random(12)
    async with engine.begin() as conn:
        await _seed(conn, people, rng)
    for stage in ("written", "after changes"):
        async with engine.connect() as conn:
            for scope in scopes:
                for start, end in _periods():
                    counted = await _figures(conn, scope, start, end, counters=True)
                    scanned = await _figures(conn, scope, start, end, counters=False)
                    assert counted == scanned, (stage, scope, start, end)
        if stage == "written":
            async with engine.begin() as conn:
                await _churn(conn, people, rng)
    async with engine.connect() as conn:  # the figures are not all zero: the comparison compared something
        month = await _figures(conn, scopes[0], datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
                               counters=True)
        assert all(month[k] for k in ("customers", "leads", "interactions", "done", "due"))


async def test_migration_fills_the_counters_from_existing_rows(engine: AsyncEngine, clock: ManualClock) -> None:
    """The counters a migration fills from the tables are the counters the triggers keep: drop them, fill them the
    migration's way, compare."""
    import importlib

    migration = importlib.import_module("storage.migrations.versions.0028_digest_counters")
    org = await make_org(engine, clock)
    rng = random.Random(3)
    async with engine.begin() as conn:
        await _seed(conn, [org.admin.staff_id], rng)
        await _churn(conn, [org.admin.staff_id], rng)
    a = t.activity_counts.c
    kept_query = select(a.metric, a.hour, a.staff_id, a.n).where(a.n != 0).order_by(a.metric, a.hour, a.staff_id)
    async with engine.begin() as conn:
        kept = (await conn.execute(kept_query)).all()
        await conn.execute(delete(t.activity_counts))
        for table in migration.TABLES:
            parts = [s.replace("{source}", f"{table} AS r")
                     for s in migration._counted(engine.dialect.name, table, "r", 1)]
            await conn.exec_driver_sql(
                f"INSERT INTO activity_counts (metric, hour, staff_id, n) SELECT metric, hour, staff_id, count(*) "
                f"FROM ({' UNION ALL '.join(parts)}) AS rows GROUP BY metric, hour, staff_id")
        filled = (await conn.execute(kept_query)).all()
    assert kept and filled == kept
