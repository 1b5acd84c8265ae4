"""The product catalog and price lists over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.money import Money
from crm.customers.customers import CustomerDraft
from crm.customers.model import Tier
from crm.sales.model import ProductDraft
from storage import tables as t
from tests.support.org import make_org


async def _team(engine: AsyncEngine, clock: ManualClock):  # type: ignore[no-untyped-def]
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    rep = await org.join(org.admin, 3002, "Ned", "rep", org.north)
    finance = await org.join(org.admin, 3003, "Fay", "finance", org.south)
    return org, manager, rep, finance


def _widget(**fields: object) -> ProductDraft:
    values: dict[str, object] = {"sku": "a-100", "name": "Widget", "name_zh_hant": "螺絲起子",
                                 "name_zh_hans": "螺丝起子", "list_price": Decimal("120"), "currency": "TWD",
                                 "cost": Decimal("80"), "tax_rate": Decimal("5"), **fields}
    return ProductDraft(**values)  # type: ignore[arg-type]


async def test_create_search_by_sku_and_chinese_name(engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, rep, _ = await _team(engine, clock)
    catalog = org.services.sales.catalog
    widget = await catalog.create(manager, _widget())
    await catalog.create(manager, _widget(sku="B-200", name="Bolt", name_zh_hant="六角螺栓", name_zh_hans=None))
    assert widget.sku == "A-100" and widget.cost == Decimal("80")
    with pytest.raises(Conflict):
        await catalog.create(manager, _widget(name="Other"))  # the SKU, whatever the case it is typed in

    async def skus(query: str) -> list[str]:
        return [p.sku for p in (await catalog.search(rep, query)).products]

    assert await skus("a-100") == ["A-100"]
    assert await skus("widg") == ["A-100"]
    assert await skus("螺") == ["A-100", "B-200"]  # one CJK character
    assert await skus("起子") == ["A-100"]  # two
    assert await skus("螺栓") == ["B-200"]
    assert await skus("丝起") == ["A-100"]  # the Simplified name too
    assert await skus("螺起") == []  # both characters are there, not together
    assert [p.sku for p in (await catalog.find(rep, "b-200")).products] == ["B-200"]
    assert widget.display_name("zh-Hant") == "螺絲起子" and widget.display_name("en") == "Widget"


async def test_costs_are_hidden_without_permission_and_reps_cannot_change_the_catalog(
        engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, rep, finance = await _team(engine, clock)
    catalog = org.services.sales.catalog
    widget = await catalog.create(manager, _widget())
    seen = await catalog.get(rep, widget.id)
    assert seen.cost is None and seen.cost_hidden and seen.margin is None and seen.list_price == Decimal("120")
    assert all(p.cost is None for p in (await catalog.search(rep, "widget")).products)
    assert all(p.cost is None for p in (await catalog.browse(rep, None)).products)
    assert (await catalog.get(finance, widget.id)).cost == Decimal("80")
    assert (await catalog.get(manager, widget.id)).margin == Decimal("33.3")
    for attempt in (catalog.create(rep, _widget(sku="R-1")), catalog.update(rep, widget.id, {"list_price": "1"}),
                    catalog.delete(rep, widget.id), catalog.create_category(rep, "Tools")):
        with pytest.raises(PermissionDenied):
            await attempt
    assert (await catalog.get(manager, widget.id)).list_price == Decimal("120")


async def test_categories_tree_and_browsing(engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, rep, _ = await _team(engine, clock)
    catalog = org.services.sales.catalog
    tools = await catalog.create_category(manager, "Tools")
    hand = await catalog.create_category(manager, "Hand tools", tools.id)
    with pytest.raises(Conflict):
        await catalog.create_category(manager, "hand TOOLS", tools.id)
    widget = await catalog.create(manager, _widget(category_id=hand.id))
    for n in range(9):
        await catalog.create(manager, _widget(sku=f"T-{n}", name=f"Tool {n}", category_id=tools.id))
    first = await catalog.browse(rep, tools.id)
    assert [c.name for c in first.children] == ["Hand tools"] and len(first.products) == 7 and first.has_more
    second = await catalog.browse(rep, tools.id, 1)
    assert [p.sku for p in second.products] == ["T-7", "T-8"] and not second.has_more
    assert [c.name for c in (await catalog.browse(rep, hand.id)).path] == ["Tools", "Hand tools"]
    moved = await catalog.update(manager, widget.id, {"category": "tools"})
    assert moved.category_id == tools.id
    with pytest.raises(ValidationFailed):
        await catalog.update(manager, widget.id, {"category": "Nowhere"})
    with pytest.raises(Conflict):
        await catalog.delete_category(manager, tools.id)
    await catalog.delete_category(manager, hand.id)
    assert [c.name for c in (await catalog.browse(rep, tools.id)).children] == []
    await catalog.restore_category(manager, hand.id)
    assert [c.name for c in (await catalog.browse(rep, tools.id)).children] == ["Hand tools"]


async def test_price_change_is_audited_and_delete_is_soft(engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, rep, _ = await _team(engine, clock)
    catalog = org.services.sales.catalog
    widget = await catalog.create(manager, _widget())
    changed = await catalog.update(manager, widget.id, {"list_price": "135.50", "tax_rate": "0"})
    assert changed.price == Money(Decimal("135.50"), "TWD")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log).where(t.audit_log.c.entity == "product",
                                                             t.audit_log.c.action == "update"))).all()
    assert [(r.before, r.after) for r in rows] == [({"list_price": "120", "tax_rate": "5"},
                                                   {"list_price": "135.50", "tax_rate": "0"})]
    with pytest.raises(PermissionDenied):  # a cost is changed only by someone who may see it
        await catalog.update(rep, widget.id, {"cost": "1"})

    await catalog.delete(manager, widget.id)
    with pytest.raises(NotFound):
        await catalog.get(rep, widget.id)
    assert (await catalog.search(rep, "widget")).products == ()
    assert [p.id for p in (await catalog.trash(manager)).products] == [widget.id]
    # The SKU is free while the product is deleted; restoring waits until it is free again.
    other = await catalog.create(manager, _widget(name="Second widget"))
    with pytest.raises(Conflict):
        await catalog.restore(manager, widget.id)
    await catalog.delete(manager, other.id)
    restored = await catalog.restore(manager, widget.id)
    assert restored.deleted_at is None and (await catalog.get(rep, widget.id)).list_price == Decimal("135.50")


async def test_price_for_customer_price_tier_discount_and_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, rep, finance = await _team(engine, clock)
    catalog, prices = org.services.sales.catalog, org.services.sales.prices
    customers = org.services.customers.customers
    widget = await catalog.create(manager, _widget(list_price=Decimal("99.99")))
    gold = await customers.create(rep, CustomerDraft(name="Gold Ltd"), force=True)
    await customers.update(rep, gold.id, {"tier": Tier.A})
    plain = await customers.create(rep, CustomerDraft(name="Plain Ltd"), force=True)

    assert await prices.price_for(rep, widget.id, gold.id) == Money(Decimal("99.99"), "TWD")
    with pytest.raises(PermissionDenied):
        await prices.set_tier_discount(rep, Tier.A, "10")
    await prices.set_tier_discount(manager, Tier.A, "12.5")
    assert await prices.tier_discounts(rep) == {Tier.A: Decimal("12.5")}
    assert await prices.price_for(rep, widget.id, gold.id) == Money(Decimal("87.49"), "TWD")  # 87.49125
    assert await prices.price_for(rep, widget.id, plain.id) == Money(Decimal("99.99"), "TWD")

    await prices.set_customer_price(manager, gold.id, widget.id, "90")
    quote = await prices.quote(rep, widget.id, gold.id)
    assert quote.price == Money(Decimal("90.00"), "TWD") and quote.rule == "customer"
    await prices.set_customer_price(manager, gold.id, widget.id, "91")
    await prices.remove_customer_price(manager, gold.id, widget.id)
    assert (await prices.quote(rep, widget.id, gold.id)).rule == "tier"
    await prices.set_customer_price(manager, gold.id, widget.id, "92")  # the removed row comes back
    assert await prices.price_for(rep, widget.id, gold.id) == Money(Decimal("92.00"), "TWD")
    async with engine.connect() as conn:
        audited = (await conn.execute(select(t.audit_log.c.before, t.audit_log.c.after).where(
            t.audit_log.c.entity == "customer_price").order_by(t.audit_log.c.id))).all()
    assert [(b["amount"], a["amount"]) for b, a in audited if "amount" in a] == [
        (None, "90"), ("90", "91"), (None, "92")]
    # Finance sees every customer; a rep of another department would not see Ned's customer at all.
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    with pytest.raises(NotFound):
        await prices.price_for(sue, widget.id, gold.id)
    assert await prices.price_for(finance, widget.id, gold.id) == Money(Decimal("92.00"), "TWD")


async def test_migration_gives_existing_default_roles_the_catalog_permissions(tmp_path: object,
                                                                            clock: ManualClock) -> None:
    """A database made before 0009: its admin, manager and finance roles get the new permissions on upgrade,
    lose them on downgrade; the downgrade drops the catalog's tables."""
    from sqlalchemy import inspect, text

    from storage.engine import create_engine
    from storage.migrate import downgrade, upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine)
        await make_org(engine, clock)

        async def granted() -> dict[str, list[str]]:
            async with engine.connect() as conn:
                rows = (await conn.execute(text("select name, permissions from roles order by name"))).all()
            return {name: sorted(p for p in (perms if isinstance(perms, list) else json.loads(perms))
                                 if p in ("products.manage", "prices.view_cost")) for name, perms in rows}

        async def tables() -> set[str]:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))

        expected = {"admin": ["prices.view_cost", "products.manage"], "finance": ["prices.view_cost"],
                    "manager": ["prices.view_cost", "products.manage"], "rep": [], "reviewer": []}
        assert await granted() == expected
        await downgrade(engine, "0008")
        assert await granted() == {key: [] for key in expected}
        assert not {"products", "product_categories", "customer_prices", "product_search_terms"} & await tables()
        await upgrade(engine)
        assert await granted() == expected
    finally:
        await engine.dispose()
