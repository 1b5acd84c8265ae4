"""The sales analysis over a real database, checked against figures worked out by hand on a fixed data set: revenue
per currency (cancelled and waiting-for-approval orders left out, the day taken in the reader's time zone), orders,
average order, the breakdowns and the previous period beside each; scope (a rep sees their own, a manager their
department tree, finance everything); cost and margin only for prices.view_cost, also in the XLSX; the trend
chart; and the orders and pipeline digest sections computed directly."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import PermissionDenied
from crm.customers.customers import CustomerDraft
from crm.orders.digest import OrdersDigestSection
from crm.orders.periods import parse_period
from crm.orders.report_model import SalesReport
from crm.organisation.digest import DigestPeriod
from crm.organisation.permissions import Actor
from crm.sales.digest import PipelineDigestSection
from crm.sales.model import ProductDraft
from crm.sales.opportunity_model import OpportunityFields
from crm.sales.quote_model import LineDraft
from storage import tables as t
from tests.support.org import Org, make_org

D = Decimal
NOV = parse_period("2026-11", date(2026, 11, 26))


@dataclass
class Sales:
    org: Org
    mia: Actor  # manager, North (North-East below): prices.view_cost
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    fay: Actor  # finance: everything, costs


async def _sales(engine: AsyncEngine, clock: ManualClock) -> Sales:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    fay = await org.join(org.admin, 3005, "Fay", "finance", org.south)
    catalog, customers = org.services.sales.catalog, org.services.customers.customers
    tools = await catalog.create_category(mia, "Tools")
    widget = await catalog.create(mia, ProductDraft(sku="A-100", name="Widget", name_zh_hant="螺絲起子",
                                                    list_price=D("99.99"), currency="TWD", tax_rate=D(5),
                                                    cost=D(60), category_id=tools.id))
    bolt = await catalog.create(mia, ProductDraft(sku="B-20", name="Bolt", list_price=D("12.5"), currency="TWD",
                                                  tax_rate=D(5), cost=D("7.5")))
    acme = (await customers.create(ned, CustomerDraft(name="Acme"), force=True)).id
    beta = (await customers.create(sue, CustomerDraft(name="Beta"), force=True)).id
    cora = (await customers.create(mia, CustomerDraft(name="Cora"), force=True)).id
    orders = org.services.orders.orders

    async def order(at: datetime, actor: Actor, customer: int, widgets: int, bolts: int,
                    discount: Decimal = Decimal(0)) -> int:
        clock.set(at)
        lines = [LineDraft(product_id=widget.id, quantity=D(widgets))] if widgets else []
        lines += [LineDraft(product_id=bolt.id, quantity=D(bolts))] if bolts else []
        return (await orders.create(actor, customer, lines, order_discount=discount)).id

    # October (the period before): 2 widgets = 199.98 + tax 10.00 = 209.98.
    await order(datetime(2026, 10, 10, 4, tzinfo=UTC), ned, acme, 2, 0)
    # November: 3 widgets and 12 bolts = 299.97 + 150.00 + tax 22.50 = 472.47.
    await order(datetime(2026, 11, 5, 4, tzinfo=UTC), ned, acme, 3, 12)
    # 31 October 17:00 UTC is 1 November 01:00 in Taipei: November. 10 bolts = 125.00 + 6.25 = 131.25.
    await order(datetime(2026, 10, 31, 17, tzinfo=UTC), sue, beta, 0, 10)
    # 1 widget = 99.99 + 5.00 = 104.99.
    await order(datetime(2026, 11, 12, 4, tzinfo=UTC), mia, cora, 1, 0)
    # Neither counts: one cancelled, one waiting for a discount approval.
    cancelled = await order(datetime(2026, 11, 15, 4, tzinfo=UTC), ned, acme, 5, 0)
    await orders.cancel(mia, cancelled, "changed their mind")
    # 15 % is beyond a rep's limit: the order waits for a manager.
    waiting = await order(datetime(2026, 11, 16, 4, tzinfo=UTC), ned, acme, 7, 0, D(15))
    async with engine.connect() as conn:
        status = (await conn.execute(select(t.orders.c.status).where(t.orders.c.id == waiting))).scalar_one()
    assert status == "pending_approval"
    # December: outside.
    await order(datetime(2026, 12, 1, 4, tzinfo=UTC), ned, acme, 9, 0)
    clock.set(datetime(2026, 12, 2, 2, tzinfo=UTC))
    return Sales(org, mia, ned, sue, fay)


async def _report(sales: Sales, actor: Actor) -> SalesReport:
    return await sales.org.services.orders.sales.report(actor, NOV, actor.locale, "(none)")


def _rows(report: SalesReport, group: str) -> list[tuple[object, ...]]:
    return [(r.label, r.revenue, r.previous, r.orders, r.cost) for r in report.groups[group]]


async def test_the_figures_match_the_hand_computed_ones_within_each_scope(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    sales = await _sales(engine, clock)
    everything = await _report(sales, sales.fay)
    (twd,) = everything.totals
    assert (twd.currency, twd.revenue, twd.orders, twd.average) == ("TWD", D("708.71"), 3, D("236.24"))
    assert (twd.previous_revenue, twd.previous_orders, twd.previous_average) == (D("209.98"), 1, D("209.98"))
    assert _rows(everything, "customer") == [("Acme", D("472.47"), D("209.98"), 1, None),
                                             ("Beta", D("131.25"), D(0), 1, None),
                                             ("Cora", D("104.99"), D(0), 1, None)]
    assert _rows(everything, "rep") == [("Ned", D("472.47"), D("209.98"), 1, None),
                                        ("Sue", D("131.25"), D(0), 1, None),
                                        ("Mia", D("104.99"), D(0), 1, None)]
    # Lines after discounts, before tax; cost at the product's cost (finance may see it): 4 × 60, 22 × 7.5.
    assert _rows(everything, "product") == [("A-100 Widget", D("399.96"), D("199.98"), None, D("240.00")),
                                            ("B-20 Bolt", D("275.00"), D(0), None, D("165.00"))]
    assert _rows(everything, "category") == [("Tools", D("399.96"), D("199.98"), None, D("240.00")),
                                             ("(none)", D("275.00"), D(0), None, D("165.00"))]
    assert everything.groups["product"][0].margin == D("159.96")

    # The manager: North and North-East (Mia and Ned), not Sue in the South.
    north = await _report(sales, sales.mia)
    assert [(c.revenue, c.orders, c.previous_revenue) for c in north.totals] == [(D("577.46"), 2, D("209.98"))]
    assert [r.label for r in north.groups["rep"]] == ["Ned", "Mia"]
    assert _rows(north, "product") == [("A-100 Widget", D("399.96"), D("199.98"), None, D("240.00")),
                                       ("B-20 Bolt", D("150.00"), D(0), None, D("90.00"))]

    # A rep: their own orders only, and no costs.
    own = await _report(sales, sales.ned)
    assert [(c.revenue, c.orders, c.previous_revenue, c.previous_orders) for c in own.totals] == [
        (D("472.47"), 1, D("209.98"), 1)]
    assert [r.label for r in own.groups["customer"]] == ["Acme"]
    assert not own.with_cost and all(r.cost is None for rows in own.groups.values() for r in rows)
    south = await _report(sales, sales.sue)
    assert [(c.revenue, c.previous_revenue) for c in south.totals] == [(D("131.25"), D("0.00"))]

    # The trend: a point a day, the sum of the points is the revenue.
    assert everything.trend is not None and everything.trend.unit == "day"
    assert len(everything.trend.current) == 30 and len(everything.trend.previous) == 30
    assert sum(everything.trend.current) == D("708.71") and sum(everything.trend.previous) == D("209.98")
    assert everything.trend.current[0] == D("131.25")  # 1 November in Taipei
    chart = await sales.org.services.orders.sales.chart(everything, "Revenue", "now", "before")
    assert chart is not None and chart.startswith(b"\x89PNG")
    from matplotlib import image
    assert image.imread(io.BytesIO(chart), format="png").shape[1] > 200


async def test_the_workbook_has_a_sheet_per_breakdown_with_numbers_and_costs_only_for_cost_readers(
        engine: AsyncEngine, clock: ManualClock) -> None:
    sales = await _sales(engine, clock)
    service = sales.org.services.orders.sales

    def t(key: str, /, **params: object) -> str:
        return key

    made = await service.export(sales.mia, NOV, t, "en")
    assert made.filename == "sales-2026-11.xlsx"
    book = load_workbook(io.BytesIO(made.data))
    assert book.sheetnames == ["orders.sales_sheet_totals", "orders.sales_sheet_customer",
                               "orders.sales_sheet_product", "orders.sales_sheet_category", "orders.sales_sheet_rep"]
    totals = [list(r) for r in book["orders.sales_sheet_totals"].iter_rows(values_only=True)]
    assert totals[1] == ["TWD", 577.46, 209.98, 2, 1, 288.73, 209.98]
    products = [list(r) for r in book["orders.sales_sheet_product"].iter_rows(values_only=True)]
    assert products[0][-2:] == ["orders.sales_col_cost", "orders.sales_col_margin"]
    assert products[1] == ["A-100 Widget", "TWD", 399.96, 199.98, 240, 159.96]

    rep = load_workbook(io.BytesIO((await service.export(sales.ned, NOV, t, "en")).data))
    for sheet in rep.worksheets:
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
        assert "orders.sales_col_cost" not in cells and "orders.sales_col_margin" not in cells
    assert [list(r) for r in rep["orders.sales_sheet_product"].iter_rows(values_only=True)][1] == [
        "A-100 Widget", "TWD", 299.97, 199.98]


async def test_without_sales_view_there_is_no_report(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    viewer = await org.join(org.admin, 3009, "Rex", "reviewer", org.north)
    with pytest.raises(PermissionDenied):
        await org.services.orders.sales.report(viewer, NOV, "en", "-")


async def test_the_digest_sections_count_within_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    sales = await _sales(engine, clock)
    period = DigestPeriod(datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC))
    previous = DigestPeriod(datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
    section = OrdersDigestSection()
    async with sales.org.services.uow(write=False) as uow:
        north = await section.compute(uow, sales.mia, period, previous)
        own = await section.compute(uow, sales.sue, period, previous)
    assert north is not None and own is not None
    assert [(f.key, f.value, f.previous, dict(f.params)) for f in north.figures] == [
        ("orders.digest_orders", 2, 1, {}), ("orders.digest_revenue", D("577.46"), D("209.98"), {"currency": "TWD"})]
    assert [(f.value, f.previous) for f in own.figures] == [(1, 0), (D("131.25"), D(0))]

    opportunities = sales.org.services.sales.opportunities
    stages = {s.key: s for s in await opportunities.stages(sales.org.admin)}
    for actor, amount, stage in ((sales.ned, "1000", "proposal"), (sales.ned, "400", "qualified"),
                                 (sales.sue, "9000", "proposal"), (sales.mia, "200", "won")):
        customer = await sales.org.services.customers.customers.create(
            actor, CustomerDraft(name=f"Lead {amount}"), force=True)
        made = await opportunities.create(actor, OpportunityFields(
            customer_id=customer.id, title="Deal", amount=D(amount), currency="TWD", close_date=date(2027, 1, 31)))
        await opportunities.move(actor, made.id, stages[stage].id)
    pipeline = PipelineDigestSection()
    async with sales.org.services.uow(write=False) as uow:
        seen = await pipeline.compute(uow, sales.mia, period, previous)
    assert seen is not None
    # Open only (the won one is not), North's: 1000 × 50 % + 400 × 25 %.
    assert [(f.key, f.value) for f in seen.figures] == [("sales.digest_open", 2), ("sales.digest_weighted",
                                                                                  D("600.00"))]
    by_stage = {row.label: [f.value for f in row.figures] for row in seen.rows}
    assert by_stage["Proposal"] == [1, D("500.00")] and by_stage["Qualified"] == [1, D("100.00")]
    assert by_stage["New"] == [0]
