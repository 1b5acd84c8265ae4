"""The KPI sources other modules contribute to performance reviews (crm/organisation/kpi.py), on SQLite and
PostgreSQL, against figures counted by hand: orders (revenue, orders), billing (collections), service (tickets
resolved within SLA); and the review service's scope, targets and freezing of figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.hr.model import PeriodKind
from crm.hr.periods import parse_code
from crm.organisation.identity import TelegramIdentity
from storage import tables as t
from storage.orders import rollup
from tests.support.org import make_org

Q4 = parse_code("q20264")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _seed(engine: AsyncEngine, rex: int, sam: int) -> None:
    now = _utc("2026-11-01T00:00:00")
    async with engine.begin() as conn:
        customer = (await conn.execute(insert(t.customers).values(
            kind="company", name="Acme", phones=[], owner_id=rex, classification="potential", tags=[],
            created_at=_utc("2026-01-01T00:00:00"), updated_at=now).returning(t.customers.c.id))).scalar_one()
        orders = [  # (owner, status, total, currency, taken at)
            (rex, "confirmed", "1000.50", "TWD", "2026-10-03T02:00:00"),
            (rex, "delivered", "2000", "TWD", "2026-12-31T15:00:00"),  # 23:00 on Dec 31 in Taipei: inside
            (rex, "cancelled", "5000", "TWD", "2026-11-03T02:00:00"),  # not sold
            (rex, "pending_approval", "700", "TWD", "2026-11-04T02:00:00"),  # not yet sold
            (rex, "shipped", "300", "USD", "2026-11-05T02:00:00"),  # another currency
            (rex, "confirmed", "900", "TWD", "2026-09-30T15:00:00"),  # 23:00 on Sep 30 in Taipei: Q3
            (sam, "shipped", "400", "TWD", "2026-11-06T02:00:00")]
        for n, (owner, status, total, currency, at) in enumerate(orders):
            await conn.execute(insert(t.orders).values(
                number=f"O-{n}", customer_id=customer, owner_id=owner, currency=currency, status=status,
                order_discount=Decimal(0), total=Decimal(total), created_at=_utc(at), updated_at=_utc(at)))
        # Written around the order repository: the sales rollup is rebuilt as migration 0027 does.
        await rollup.backfill_async(conn)
        invoice_ids = []
        for n, (owner, currency) in enumerate(((rex, "TWD"), (sam, "TWD"), (rex, "USD"))):
            invoice_ids.append((await conn.execute(insert(t.invoices).values(
                number=f"I-{n}", customer_id=customer, owner_id=owner, currency=currency, status="open",
                issue_date=date(2026, 10, 1), due_date=date(2026, 10, 31), order_discount=Decimal(0),
                total_minor=10_000_000, paid_minor=0, created_at=now, updated_at=now,
            ).returning(t.invoices.c.id))).scalar_one())
        for invoice, amount, on, reversed_at in (
                (invoice_ids[0], 150_000, date(2026, 10, 1), None),  # TWD 1,500.00 on Oct 1
                (invoice_ids[0], 25_050, date(2026, 12, 31), None),  # TWD 250.50 on Dec 31
                (invoice_ids[0], 99_900, date(2026, 11, 2), now),  # reversed
                (invoice_ids[0], 10_000, date(2026, 9, 30), None),  # Q3
                (invoice_ids[2], 50_000, date(2026, 11, 2), None),  # USD
                (invoice_ids[1], 40_000, date(2026, 11, 2), None)):  # Sam's
            payment = (await conn.execute(insert(t.payments).values(
                customer_id=customer, currency="USD" if invoice == invoice_ids[2] else "TWD", amount_minor=amount,
                method="transfer", received_on=on, recorded_by=rex, created_at=now, reversed_at=reversed_at,
            ).returning(t.payments.c.id))).scalar_one()
            await conn.execute(insert(t.payment_allocations).values(payment_id=payment, invoice_id=invoice,
                                                                    amount_minor=amount))
        tickets = [  # (owner, assignee, due, resolved)
            (sam, rex, "2026-10-10T10:00:00", "2026-10-10T09:00:00"),  # Rex, in time
            (sam, rex, "2026-10-10T10:00:00", "2026-10-10T10:00:00"),  # Rex, at the deadline: breached
            (rex, None, "2026-11-10T10:00:00", "2026-11-09T10:00:00"),  # nobody assigned: the owner, Rex
            (rex, sam, "2026-11-10T10:00:00", "2026-11-09T10:00:00"),  # Sam's
            (sam, rex, "2026-10-10T10:00:00", None),  # open
            (sam, rex, "2026-09-30T10:00:00", "2026-09-29T10:00:00")]  # Q3
        for n, (owner, assignee, due, resolved) in enumerate(tickets):
            await conn.execute(insert(t.tickets).values(
                number=f"T-{n}", year=2026, sequence=n + 1, customer_id=customer, subject="s", description="d",
                severity="normal", status="resolved" if resolved else "open", owner_id=owner, assignee_id=assignee,
                source="chat", locale="en", due_at=_utc(due), nudge_at=_utc(due), resolved_at=_utc(resolved)
                if resolved else None, created_at=_utc("2026-09-01T00:00:00"), updated_at=now))


async def test_sources_of_orders_billing_and_service_count_exactly_the_period(engine: AsyncEngine,
                                                                              clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 7001, "Mia", "manager", org.north)
    rex = await org.join(org.admin, 7002, "Rex", "rep", org.north)
    sam = await org.join(org.admin, 7003, "Sam", "rep", org.north_east)
    tom = await org.join(org.admin, 7004, "Tom", "rep", org.south)
    for person in (manager, rex, sam):
        await org.services.organisation.staff.set_timezone(person, "Asia/Taipei")
    found = await org.services.organisation.identity.actor_for(TelegramIdentity(7001, "Mia"))
    assert found is not None
    manager = found
    await _seed(engine, rex.staff_id, sam.staff_id)
    reviews = org.services.hr.reviews
    assert {s.name for s in reviews.measures()} >= {"revenue", "orders", "collections", "tickets_in_sla"}

    team = await reviews.team(manager, Q4)
    by_person = {p.name: {line.kpi: line.actual for line in p.lines} for p in team.people}
    assert set(by_person) == {"Rex", "Sam"}  # Tom is in South: not Mia's tree
    assert by_person["Rex"]["revenue"] == Decimal("3000.50")
    assert by_person["Rex"]["orders"] == 2
    assert by_person["Rex"]["collections"] == Decimal("1750.50")
    assert by_person["Rex"]["tickets_in_sla"] == 2
    assert (by_person["Sam"]["revenue"], by_person["Sam"]["orders"], by_person["Sam"]["collections"],
            by_person["Sam"]["tickets_in_sla"]) == (Decimal(400), Decimal(1), Decimal(400), Decimal(1))
    assert team.chart is not None and team.chart.startswith(b"\x89PNG")

    # Targets: Rex's own monthly revenue target 1,000 makes a quarter's 3,000; the rep role's orders 4 a quarter.
    await reviews.set_target(manager, rex.staff_id, "revenue", PeriodKind.MONTH, "1,000")
    await reviews.set_target(manager, sam.staff_id, "orders", PeriodKind.QUARTER, "4", for_role=True)
    figures, _ = await reviews.person(manager, rex.staff_id, Q4)
    lines = {line.kpi: line for line in figures.lines}
    assert lines["revenue"].target == 3000 and lines["revenue"].attainment == Decimal("100.0")
    assert lines["orders"].target == 4 and lines["orders"].attainment == Decimal("50.0")
    assert figures.attainment == Decimal("75.0")
    year, _ = await reviews.person(manager, rex.staff_id, parse_code("y2026"))
    assert {line.kpi: line.target for line in year.lines}["revenue"] == 12000

    review = await reviews.submit(manager, rex.staff_id, Q4, 4, "good")
    assert review.attainment == Decimal("75.0")
    await reviews.set_target(manager, rex.staff_id, "revenue", PeriodKind.MONTH, "0")  # removed
    again = await reviews.get(manager, review.id)
    assert again.attainment == Decimal("75.0")  # the review keeps the figures it was written with

    with pytest.raises(NotFound):  # Tom is outside Mia's scope; oneself is never one's own reviewer
        await reviews.person(manager, tom.staff_id, Q4)
    with pytest.raises(NotFound):
        await reviews.person(manager, manager.staff_id, Q4)
    with pytest.raises(PermissionDenied):
        await reviews.team(rex, Q4)
    with pytest.raises(NotFound):  # only the person reviewed acknowledges
        await reviews.acknowledge(sam, review.id)
    with pytest.raises(ValidationFailed):
        await reviews.set_target(manager, rex.staff_id, "revenue", PeriodKind.MONTH, "-3")
    mine = await reviews.mine(rex, Q4)
    assert {line.kpi: line.actual for line in mine.lines}["tickets_in_sla"] == 2
