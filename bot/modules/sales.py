"""The sales module: the product catalog and price lists (quotes, orders and receivables build on it)."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.sales.catalog import CatalogService
from crm.sales.module import SalesServices
from crm.sales.prices import PriceService
from handlers.core.menu import Command
from handlers.sales import registration
from storage.sales import tables


def build(wiring: Wiring) -> SalesServices:
    return SalesServices(
        catalog=CatalogService(wiring.uow, wiring.clock, currency=wiring.settings.default_currency),
        prices=PriceService(wiring.uow, wiring.clock),
    )


MODULE = Module(
    name="sales",
    requires=("organisation", "customers"),
    build=build,
    operations=("products.manage", "prices.view_cost"),
    commands=(
        Command("products", "sales.cmd_products"),
        Command("product", "sales.cmd_product"),
        Command("newproduct", "sales.cmd_newproduct", "products.manage"),
    ),
    handlers=(registration.register,),
    tables=(tables.product_categories, tables.products, tables.product_search_terms, tables.customer_prices),
)
