"""The sales analysis's rollup (docs/orders.md, "The rollup"): on a fixed data set — two currencies, order and line
discounts with half cents, cancellations, an order waiting for approval, partial and full shipments, deliveries,
orders taken either side of UTC's, Taipei's and Kolkata's midnights — the report read from the rollup is the report
read from the raw lines, for every scope, several periods and time zones; the rollup kept by each change is the
one a rebuild (the migration's backfill) makes; and a change moves the figures at once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.orders.periods import parse_period
from crm.orders.report import report_job
from crm.orders.report_model import SalesReport
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft
from storage.orders import group as orders_group
from storage.orders import rollup
from storage.orders import tables as ot
from storage.orders.report import RollupSalesFigures, SqlSalesFigures, split_days
from tests.support.org import Org, make_org

D = Decimal
TODAY = date(2026, 12, 3)
PERIODS = ("2026-11", "last 30 days", "Q4 2026", "2026", "last month")
ZONES = ("UTC", "Asia/Taipei", "Asia/Kolkata")


async def _data(engine: AsyncEngine, clock: ManualClock) -> tuple[Org, list[Actor]]:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3101, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3102, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3104, "Sue", "rep", org.south)
    catalog, customers = org.services.sales.catalog, org.services.customers.customers
    products = [
        await catalog.create(mia, ProductDraft(sku="A-100", name="Widget", list_price=D("99.99"), currency="TWD",
                                               tax_rate=D(5), cost=D(60))),
        await catalog.create(mia, ProductDraft(sku="B-20", name="Bolt", list_price=D("12.5"), currency="TWD",
                                               tax_rate=D(5), cost=D("7.5"))),
        await catalog.create(mia, ProductDraft(sku="U-1", name="Gadget", list_price=D("19.99"), currency="USD",
                                               tax_rate=D("8.25"), cost=D("11.1"))),
        await catalog.create(mia, ProductDraft(sku="U-2", name="Cable", list_price=D("3.35"), currency="USD",
                                               tax_rate=D(0))),
    ]
    acme = (await customers.create(ned, CustomerDraft(name="Acme"), force=True)).id
    beta = (await customers.create(sue, CustomerDraft(name="Beta"), force=True)).id
    cora = (await customers.create(mia, CustomerDraft(name="Cora"), force=True)).id
    orders = org.services.orders.orders
    who = [(ned, acme), (sue, beta), (mia, cora), (org.admin, acme)]
    # Times either side of the midnights: UTC 00:00, Taipei 16:00 UTC, Kolkata 18:30 UTC, and the hours between.
    hours = [(0, 0), (15, 59), (16, 0), (18, 29), (18, 30), (23, 59), (7, 45), (12, 0)]
    start = datetime(2026, 8, 28, tzinfo=UTC)
    for n in range(44):
        actor, customer = who[n % len(who)]
        hour, minute = hours[n % len(hours)]
        clock.set(start + timedelta(days=(n * 23) % 97, hours=hour, minutes=minute))
        usd = n % 3 == 0
        pair = products[2:] if usd else products[:2]
        lines = [LineDraft(product_id=pair[0].id, quantity=D(n % 5 + 1), discount=D("2.5") if n % 4 == 0 else D(0)),
                 LineDraft(product_id=pair[1].id, quantity=D("1.5") if n % 6 == 1 else D(n % 7 + 3))]
        # The manager and the admin give order discounts without waiting; a rep's 15 % waits for approval.
        discount = D("7.5") if n % 5 == 2 else D(15) if n % 11 == 3 else D(0)
        order = await orders.create(actor, customer, lines, order_discount=discount)
        if order.status.value != "confirmed":
            continue
        if n % 7 == 1:
            await orders.cancel(org.admin, order.id, "changed their mind")
        elif n % 7 == 2:
            await orders.ship(org.admin, order.id, {0: D(1)})
        elif n % 7 == 3:
            await orders.ship(org.admin, order.id)
            await orders.deliver(org.admin, order.id)
    clock.set(datetime(2026, 12, 3, 9, tzinfo=UTC))
    return org, [org.admin, mia, ned, sue]


async def _report(org: Org, actor: Actor, text: str, monkeypatch: pytest.MonkeyPatch | None) -> SalesReport:
    if monkeypatch is not None:
        monkeypatch.setattr(orders_group, "RollupSalesFigures", SqlSalesFigures)
    try:
        return await report_job(org.services.uow, actor, parse_period(text, TODAY), actor.locale, "(none)", None)
    finally:
        if monkeypatch is not None:
            monkeypatch.undo()


async def _rollup_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows: list[Any] = []
        for table in (ot.sales_rollup_orders, ot.sales_rollup_lines):
            rows += [tuple(r) for r in await conn.execute(select(table).order_by(*table.primary_key.columns))]
        return rows


async def test_the_report_from_the_rollup_is_the_report_from_the_lines(engine: AsyncEngine, clock: ManualClock,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    org, actors = await _data(engine, clock)
    compared = 0
    for actor in actors:
        for zone in ZONES:
            reader = dataclasses.replace(actor, timezone=zone)
            for text in PERIODS:
                from_rollup = await _report(org, reader, text, None)
                from_lines = await _report(org, reader, text, monkeypatch)
                assert from_rollup == from_lines, (actor.name, zone, text)
                compared += 1
    everything = await _report(org, actors[0], "Q4 2026", None)
    assert {c.currency for c in everything.totals} == {"TWD", "USD"}
    assert everything.totals[0].orders > 5 and everything.trend is not None
    assert compared == len(actors) * len(ZONES) * len(PERIODS)


async def test_odd_spans_and_buckets_sum_the_same(engine: AsyncEngine, clock: ManualClock) -> None:
    org, actors = await _data(engine, clock)
    spans = [(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
             (datetime(2026, 9, 3, 7, 13, tzinfo=UTC), datetime(2026, 11, 20, 23, 59, tzinfo=UTC)),
             (datetime(2026, 10, 4, 16, tzinfo=UTC), datetime(2026, 10, 5, 3, tzinfo=UTC)),
             (datetime(2026, 10, 4, 18, 30, tzinfo=UTC), datetime(2026, 10, 6, 18, 30, tzinfo=UTC))]
    async with org.services.uow(write=False) as uow:
        raw, rolled = SqlSalesFigures(uow.connection), RollupSalesFigures(uow.connection)
        for actor in actors:
            scope = actor.scope_filter("sales")
            for start, end in spans:
                assert await rolled.totals(scope, start, end) == await raw.totals(scope, start, end)
                for group in ("customer", "rep"):
                    assert (await rolled.grouped(scope, start, end, group)
                            == await raw.grouped(scope, start, end, group))
                    assert (await rolled.grouped(scope, start, end, group, limit=2)
                            == await raw.grouped(scope, start, end, group, limit=2))
                middle = start + (end - start) / 3
                assert (sorted(await rolled.product_sums(scope, start, middle, end), key=repr)
                        == sorted(await raw.product_sums(scope, start, middle, end), key=repr))
                for step in (timedelta(hours=7), timedelta(days=1), timedelta(days=7, hours=16)):
                    bounds = [start]
                    while bounds[-1] + step < end:
                        bounds.append(bounds[-1] + step)
                    bounds.append(end)
                    for currency in ("TWD", "USD"):
                        assert (await rolled.buckets(scope, bounds, currency)
                                == await raw.buckets(scope, bounds, currency))


async def test_the_rollup_kept_by_each_change_is_the_rebuilt_one(engine: AsyncEngine, clock: ManualClock) -> None:
    await _data(engine, clock)
    kept = await _rollup_rows(engine)
    assert kept
    async with engine.begin() as conn:
        for table in (ot.sales_rollup_orders, ot.sales_rollup_lines):
            await conn.execute(table.delete())
        assert await conn.run_sync(rollup.backfill) > 90  # as migration 0027 runs it
    assert await _rollup_rows(engine) == kept


async def test_a_cancelled_order_leaves_the_figures_at_once(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3101, "Mia", "manager", org.north)
    widget = await org.services.sales.catalog.create(mia, ProductDraft(sku="A-100", name="Widget",
                                                                       list_price=D("99.99"), currency="TWD"))
    acme = (await org.services.customers.customers.create(mia, CustomerDraft(name="Acme"), force=True)).id
    clock.set(datetime(2026, 11, 5, 4, tzinfo=UTC))
    order = await org.services.orders.orders.create(mia, acme, [LineDraft(product_id=widget.id, quantity=D(2))])
    clock.set(datetime(2026, 12, 3, 9, tzinfo=UTC))
    before = await _report(org, mia, "2026-11", None)
    assert [(c.revenue, c.orders) for c in before.totals] == [(D("199.98"), 1)]
    await org.services.orders.orders.cancel(mia, order.id, "changed their mind")
    after = await _report(org, mia, "2026-11", None)
    assert after.totals == () and await _rollup_rows(engine) == []


def test_a_span_is_whole_utc_days_and_the_ends() -> None:
    at = datetime(2026, 10, 31, 16, tzinfo=UTC)
    days, edges = split_days(at, at + timedelta(days=30))
    assert days == (date(2026, 11, 1), date(2026, 11, 30))
    assert edges == [(at, datetime(2026, 11, 1, tzinfo=UTC)), (datetime(2026, 11, 30, tzinfo=UTC),
                                                                at + timedelta(days=30))]
    midnight = datetime(2026, 11, 1, tzinfo=UTC)
    assert split_days(midnight, midnight + timedelta(days=2)) == ((date(2026, 11, 1), date(2026, 11, 3)), [])
    assert split_days(at, at + timedelta(hours=5)) == (None, [(at, at + timedelta(hours=5))])
