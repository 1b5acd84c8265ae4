"""Repositories for the product catalog and customer prices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.customers.search_terms import fold
from crm.sales.model import Category, CustomerPrice, Product
from storage.prepared import Prepared
from storage.sales import tables as t

_HIGH = "\U0010ffff"  # sorts after every character: term >= p AND term < p + _HIGH is "starts with p"
_PRODUCT_FIELDS = tuple(f.name for f in fields(Product) if f.name != "cost_hidden")
_WRITTEN = tuple(name for name in _PRODUCT_FIELDS if name not in ("id", "deleted_at"))


def _category(row: Row[Any]) -> Category:
    return Category(row.id, row.name, row.parent_id, row.created_at, row.deleted_at)


def _product(row: Row[Any]) -> Product:
    return Product(**{name: getattr(row, name) for name in _PRODUCT_FIELDS})


def _price(row: Row[Any]) -> CustomerPrice:
    return CustomerPrice(row.id, row.customer_id, row.product_id, row.amount, row.currency, row.updated_at,
                         row.deleted_at)


# Read by every order echo (``/order 台積電 A-100 x3, B-20 x12``): prepared (storage/prepared.py).
_PRICES_OF = Prepared(select(t.customer_prices)
                      .where(t.customer_prices.c.customer_id == bindparam("customer_id"),
                             t.customer_prices.c.deleted_at.is_(None))
                      .order_by(t.customer_prices.c.product_id))
_BY_SKUS: dict[int, Prepared] = {}
MAX_PREPARED_SKUS = 16  # typed orders name a few; a longer list is prepared for its length only while it is kept


def _products_by_skus(count: int) -> Prepared:
    """One statement per number of SKUs (a prepared statement has no list parameter)."""
    statement = _BY_SKUS.get(count)
    if statement is None:
        if len(_BY_SKUS) >= MAX_PREPARED_SKUS:
            _BY_SKUS.clear()
        p = t.products
        statement = _BY_SKUS[count] = Prepared(select(p).where(
            p.c.sku.in_([bindparam(f"s{n}") for n in range(count)]), p.c.deleted_at.is_(None)))
    return statement


def _live(table: Any, include_deleted: bool) -> tuple[ColumnElement[bool], ...]:
    return () if include_deleted else (table.c.deleted_at.is_(None),)


class SqlCategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, name: str, parent_id: int | None, at: datetime) -> Category:
        new_id = (await self._c.execute(insert(t.product_categories).values(
            name=name, parent_id=parent_id, created_at=at).returning(t.product_categories.c.id))).scalar_one()
        return Category(int(new_id), name, parent_id, at)

    async def get(self, category_id: int, *, include_deleted: bool = False) -> Category | None:
        c = t.product_categories
        row = (await self._c.execute(select(c).where(c.c.id == category_id, *_live(c, include_deleted)))).first()
        return _category(row) if row is not None else None

    async def update(self, category_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.product_categories).where(t.product_categories.c.id == category_id)
                              .values(**fields))

    async def children(self, parent_id: int | None) -> Sequence[Category]:
        c = t.product_categories
        parent = c.c.parent_id.is_(None) if parent_id is None else c.c.parent_id == parent_id
        rows = await self._c.execute(select(c).where(parent, c.c.deleted_at.is_(None)).order_by(c.c.name, c.c.id))
        return [_category(row) for row in rows]

    async def by_name(self, name: str) -> Sequence[Category]:
        # Categories are few (a chat browses them): folding in Python matches full-width and case on every
        # database alike, where SQL's lower() differs between SQLite and PostgreSQL beyond ASCII.
        c = t.product_categories
        rows = await self._c.execute(select(c).where(c.c.deleted_at.is_(None)).order_by(c.c.id))
        wanted = fold(name).strip()
        return [_category(row) for row in rows if fold(row.name).strip() == wanted]


class SqlProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, product: Product) -> Product:
        values = {name: getattr(product, name) for name in _WRITTEN}
        new_id = (await self._c.execute(insert(t.products).values(**values).returning(t.products.c.id))).scalar_one()
        return Product(**{**values, "id": int(new_id)})

    async def get(self, product_id: int, *, include_deleted: bool = False) -> Product | None:
        p = t.products
        row = (await self._c.execute(select(p).where(p.c.id == product_id, *_live(p, include_deleted)))).first()
        return _product(row) if row is not None else None

    async def update(self, product_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.products).where(t.products.c.id == product_id).values(**fields))

    async def by_sku(self, sku: str) -> Product | None:
        p = t.products
        row = (await self._c.execute(select(p).where(p.c.sku == sku, p.c.deleted_at.is_(None)))).first()
        return _product(row) if row is not None else None

    async def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        """The live products with these SKUs, by SKU, in one query (an order names several at once)."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        rows = await _products_by_skus(len(wanted)).rows(self._c, {f"s{n}": sku for n, sku in enumerate(wanted)})
        return {row.sku: _product(row) for row in rows}

    async def skus_taken(self, skus: Sequence[str]) -> set[str]:
        p = t.products
        found: set[str] = set()
        for start in range(0, len(skus), 500):
            rows = await self._c.execute(select(p.c.sku).where(p.c.sku.in_(skus[start:start + 500]),
                                                                p.c.deleted_at.is_(None)))
            found.update(str(row.sku) for row in rows)
        return found

    async def in_category(self, category_id: int | None, *, offset: int, limit: int) -> Sequence[Product]:
        p = t.products
        where = p.c.category_id.is_(None) if category_id is None else p.c.category_id == category_id
        rows = await self._c.execute(select(p).where(where, p.c.deleted_at.is_(None)).order_by(p.c.sku)
                                     .offset(offset).limit(limit))
        return [_product(row) for row in rows]

    async def count_in_category(self, category_id: int) -> int:
        p = t.products
        return int((await self._c.execute(select(func.count()).select_from(p).where(
            p.c.category_id == category_id, p.c.deleted_at.is_(None)))).scalar_one())

    async def deleted(self, *, offset: int, limit: int) -> Sequence[Product]:
        p = t.products
        rows = await self._c.execute(select(p).where(p.c.deleted_at.is_not(None))
                                     .order_by(p.c.deleted_at.desc(), p.c.id).offset(offset).limit(limit))
        return [_product(row) for row in rows]

    async def replace_terms(self, product_id: int, terms: Iterable[str]) -> None:
        s = t.product_search_terms
        await self._c.execute(delete(s).where(s.c.product_id == product_id))
        rows = [{"term": term[:64], "product_id": product_id} for term in sorted(set(terms))]
        if rows:
            await self._c.execute(insert(s), rows)

    async def search(self, exact: Sequence[str], prefixes: Sequence[str], *, limit: int) -> Sequence[Product]:
        s, p = t.product_search_terms, t.products
        conditions: list[ColumnElement[bool]] = []
        for term in exact:
            conditions.append(p.c.id.in_(select(s.c.product_id).where(s.c.term == term)))
        for prefix in prefixes:
            conditions.append(p.c.id.in_(select(s.c.product_id).where(s.c.term >= prefix,
                                                                      s.c.term < prefix + _HIGH)))
        if not conditions:
            return []
        rows = await self._c.execute(select(p).where(*conditions, p.c.deleted_at.is_(None))
                                     .order_by(p.c.sku).limit(limit))
        return [_product(row) for row in rows]


class SqlCustomerPriceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def get(self, customer_id: int, product_id: int, *, include_deleted: bool = False
                  ) -> CustomerPrice | None:
        c = t.customer_prices
        row = (await self._c.execute(select(c).where(c.c.customer_id == customer_id, c.c.product_id == product_id,
                                                     *_live(c, include_deleted)))).first()
        return _price(row) if row is not None else None

    async def put(self, customer_id: int, product_id: int, amount: Decimal, currency: str,
                  at: datetime) -> CustomerPrice:
        existing = await self.get(customer_id, product_id, include_deleted=True)
        values = {"amount": amount, "currency": currency, "updated_at": at, "deleted_at": None}
        if existing is not None:
            await self.update(existing.id, **values)
            return CustomerPrice(existing.id, customer_id, product_id, amount, currency, at)
        new_id = (await self._c.execute(insert(t.customer_prices).values(
            customer_id=customer_id, product_id=product_id, **values).returning(t.customer_prices.c.id))).scalar_one()
        return CustomerPrice(int(new_id), customer_id, product_id, amount, currency, at)

    async def update(self, price_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.customer_prices).where(t.customer_prices.c.id == price_id).values(**fields))

    async def for_customer(self, customer_id: int) -> Sequence[CustomerPrice]:
        return [_price(row) for row in await _PRICES_OF.rows(self._c, {"customer_id": customer_id})]
