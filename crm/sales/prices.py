"""Price lists: a discount per customer tier (a company setting, stored as data) and prices agreed with one
customer for one product. ``price_for`` says what a customer pays (rules in crm/sales/pricing.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.money import Money
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.model import Customer, Tier
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import clean_amount
from crm.sales.model import CustomerPrice, Product
from crm.sales.ports import SalesUnitOfWork
from crm.sales.pricing import parse_percent, price_for

TIER_DISCOUNTS_KEY = "sales.tier_discounts"


@dataclass(frozen=True)
class Quote:
    """What a customer pays for a product, and why: ``rule`` is "customer", "tier" or "list"."""

    price: Money
    list_price: Money
    rule: str
    percent: Decimal = Decimal(0)


async def read_tier_discounts(uow: SalesUnitOfWork) -> dict[Tier, Decimal]:
    raw = await uow.kv.get(TIER_DISCOUNTS_KEY)
    stored = json.loads(raw) if raw else {}
    return {Tier(k): Decimal(v) for k, v in stored.items() if k in Tier.__members__}


class PriceService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def tier_discounts(self, actor: Actor) -> dict[Tier, Decimal]:
        """The company's discount per customer tier, in percent (a tier without one pays the list price)."""
        async with self._uow(write=False) as uow:
            return await read_tier_discounts(uow)

    async def set_tier_discount(self, actor: Actor, tier: Tier, percent: Decimal | str) -> dict[Tier, Decimal]:
        actor.require("products.manage")
        value = parse_percent(percent)
        async with self._uow() as uow:
            before = await read_tier_discounts(uow)
            after = {**before, Tier(tier): value}
            await uow.kv.put(TIER_DISCOUNTS_KEY, json.dumps({t.value: str(p) for t, p in sorted(after.items())}))
            await audit.record(uow, actor.staff_id, "update", "tier_discount", None,
                               {tier.value: before.get(tier)}, {tier.value: value})
            await uow.commit()
        return after

    async def set_customer_price(self, actor: Actor, customer_id: int, product_id: int,
                                 amount: Decimal | str) -> CustomerPrice:
        """Agree a price with a customer the actor may see, in the product's currency; audited before/after."""
        actor.require("products.manage")
        value = clean_amount(amount, "list_price")
        async with self._uow() as uow:
            await visible_customer(uow, actor, customer_id)
            product = await _product(uow, product_id)
            before = await uow.sales.customer_prices.get(customer_id, product_id)
            price = await uow.sales.customer_prices.put(customer_id, product_id, value, product.currency,
                                                        self._clock.now())
            await audit.record(uow, actor.staff_id, "update", "customer_price", price.id,
                               {"amount": before.amount if before else None},
                               {"amount": value, "customer_id": customer_id, "product_id": product_id})
            await uow.commit()
        return price

    async def remove_customer_price(self, actor: Actor, customer_id: int, product_id: int) -> None:
        """Soft: the row stays (with its last amount) and setting a price again brings it back."""
        actor.require("products.manage")
        now = self._clock.now()
        async with self._uow() as uow:
            await visible_customer(uow, actor, customer_id)
            price = await uow.sales.customer_prices.get(customer_id, product_id)
            if price is None:
                raise NotFound()
            await uow.sales.customer_prices.update(price.id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "customer_price", price.id,
                               {"deleted_at": None}, {"deleted_at": now})
            await uow.commit()

    async def quote(self, actor: Actor, product_id: int, customer_id: int) -> Quote:
        """What a customer the actor may see pays for a product, and by which rule."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            customer = await visible_customer(uow, actor, customer_id)
            product = await _product(uow, product_id)
            return await quote_in(uow, customer, product)

    async def price_for(self, actor: Actor, product_id: int, customer_id: int) -> Money:
        return (await self.quote(actor, product_id, customer_id)).price

    async def customer_prices(self, actor: Actor, customer_id: int) -> Mapping[int, CustomerPrice]:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return {p.product_id: p for p in await uow.sales.customer_prices.for_customer(customer_id)}


async def quote_in(uow: SalesUnitOfWork, customer: Customer, product: Product) -> Quote:
    """The price rules inside a caller's unit of work (a quotation prices every line in its own transaction)."""
    agreed = await uow.sales.customer_prices.get(customer.id, product.id)
    discounts = await read_tier_discounts(uow)
    agreed_price = agreed.price if agreed is not None and agreed.currency == product.currency else None
    price = price_for(product.price, customer.tier, discounts, agreed_price)
    if agreed_price is not None:
        return Quote(price, product.price, "customer")
    percent = discounts.get(customer.tier, Decimal(0)) if customer.tier else Decimal(0)
    return Quote(price, product.price, "tier" if percent else "list", percent)


async def active_product(uow: SalesUnitOfWork, product_id: int) -> Product:
    return await _product(uow, product_id)


async def _product(uow: SalesUnitOfWork, product_id: int) -> Product:
    product = await uow.sales.products.get(product_id)
    if product is None:
        raise NotFound()
    if not product.active:
        raise ValidationFailed("sales.error_inactive", sku=product.sku)
    return product
