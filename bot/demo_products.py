"""The console demo's product catalog: a few products in two categories, so /product, /quote, /order and
/invoice have something to work with from the first message (``/order 台積電 A-100 x3, B-20 x12``)."""

from __future__ import annotations

from decimal import Decimal

from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from crm.services import Services

# (category, SKU, name, 繁體, 简体, unit, list price, cost, tax %)
PRODUCTS: tuple[tuple[str, str, str, str, str, str, str, str, str], ...] = (
    ("Tools", "A-100", "Screwdriver set", "螺絲起子組", "螺丝刀套装", "set", "120", "80", "5"),
    ("Tools", "A-200", "Torque wrench", "扭力扳手", "扭力扳手", "pcs", "2450", "1600", "5"),
    ("Parts", "B-20", "Hex bolt M8", "六角螺栓 M8", "六角螺栓 M8", "box", "35", "18", "5"),
    ("Parts", "B-30", "Washer M8", "墊圈 M8", "垫圈 M8", "box", "12.5", "6", "5"),
)


async def seed_products(services: Services, manager: Actor) -> int:
    catalog = services.sales.catalog
    categories: dict[str, int] = {}
    for category, sku, name, hant, hans, unit, price, cost, tax in PRODUCTS:
        if category not in categories:
            categories[category] = (await catalog.create_category(manager, category)).id
        await catalog.create(manager, ProductDraft(
            sku=sku, name=name, name_zh_hant=hant, name_zh_hans=hans, category_id=categories[category], unit=unit,
            list_price=Decimal(price), currency="TWD", cost=Decimal(cost), tax_rate=Decimal(tax)))
    return len(PRODUCTS)
