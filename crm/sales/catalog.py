"""The product catalog: products and their category tree — create, find, browse, edit, soft delete, restore.

Products are company-wide: they have no owner, so there is no query scope to apply — every signed-in person
sees every live product and its list price (docs/sales.md). What varies by person is the operation permission:
``products.manage`` to change the catalog, ``prices.view_cost`` to see costs and margins. The service hides the
cost itself (``Product.cost_hidden``), so no screen, list or export can show what the reader may not see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.search_terms import fold, is_cjk, query_terms, record_terms, text_terms
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.model import Category, CategoryPage, Product, ProductCard, ProductDraft, ProductFields
from crm.sales.ports import SalesUnitOfWork
from crm.sales.pricing import parse_percent

PAGE = 8
LIMITS = {"sku": 40, "name": 200, "name_zh_hant": 200, "name_zh_hans": 200, "unit": 20, "category": 100}
MAX_DEPTH = 6  # category tree levels: deep enough for any catalog a chat can browse
_SKU = re.compile(r"^[0-9A-Z][0-9A-Z._/\-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
PRODUCT_FIELDS = tuple(f.name for f in fields(ProductFields))
PRICE_FIELDS = ("list_price", "currency", "cost", "tax_rate")


def clean_sku(value: Any) -> str:
    """SKUs are codes: upper case, no spaces, so "a-100" typed in a hurry finds and clashes with "A-100"."""
    sku = fold(str(value or "")).strip().upper()
    if not sku:
        raise ValidationFailed("error.field_required", field="sku")
    if len(sku) > LIMITS["sku"] or not _SKU.match(sku):
        raise ValidationFailed("sales.error_sku", value=sku[:LIMITS["sku"]])
    return sku


def clean_name(value: Any, field: str, *, required: bool = False) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        if required:
            raise ValidationFailed("error.field_required", field=field)
        return None
    if len(text) > LIMITS[field]:
        raise ValidationFailed("error.field_too_long", field=field, limit=LIMITS[field])
    return text


def clean_amount(value: Any, field: str) -> Decimal:
    """A non-negative amount, typed ("1,200", "１２０") or given; never a float."""
    if isinstance(value, float):
        raise TypeError("amounts are Decimal, never float")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(
            fold(str(value)).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed("sales.error_amount", field=field, value=str(value)[:20]) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e14"):
        raise ValidationFailed("sales.error_amount", field=field, value=str(value)[:20])
    return amount


def clean_currency(value: Any) -> str:
    code = fold(str(value or "")).strip().upper()
    if not _CURRENCY.match(code):
        raise ValidationFailed("sales.error_currency", value=code[:10])
    return code


def clean_draft(draft: ProductFields) -> ProductDraft:
    return ProductDraft(
        sku=clean_sku(draft.sku),
        name=clean_name(draft.name, "name", required=True) or "",
        name_zh_hant=clean_name(draft.name_zh_hant, "name_zh_hant"),
        name_zh_hans=clean_name(draft.name_zh_hans, "name_zh_hans"),
        category_id=draft.category_id,
        unit=clean_name(draft.unit, "unit") or "pcs",
        list_price=clean_amount(draft.list_price, "list_price"),
        currency=clean_currency(draft.currency),
        cost=clean_amount(draft.cost, "cost") if draft.cost is not None and str(draft.cost).strip() else None,
        tax_rate=parse_percent(str(draft.tax_rate)),
        active=bool(draft.active),
        photo_file_id=(str(draft.photo_file_id).strip() or None) if draft.photo_file_id else None,
    )


def product_terms(product: ProductFields) -> set[str]:
    """The names in every language (CJK unigrams and bigrams, Latin words) and the SKU's pieces."""
    return record_terms(names=(product.name, product.name_zh_hant, product.name_zh_hans)) | text_terms(product.sku)


def shown(actor: Actor, product: Product) -> Product:
    """The product as this reader may see it: without cost (and so margin) unless they may view costs."""
    if actor.can("prices.view_cost"):
        return product
    return replace(product, cost=None, cost_hidden=True)


def auditable(product: ProductFields) -> dict[str, Any]:
    return {name: getattr(product, name) for name in PRODUCT_FIELDS}


@dataclass(frozen=True)
class ProductPage:
    products: tuple[Product, ...]
    page: int
    has_more: bool


class CatalogService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, *, currency: str = "TWD") -> None:
        self._uow = uow
        self._clock = clock
        self.currency = currency  # what a new product is priced in unless another currency is given

    # ---- products --------------------------------------------------------------------------------------------

    async def create(self, actor: Actor, draft: ProductFields) -> Product:
        actor.require("products.manage")
        clean = clean_draft(draft)
        if clean.cost is not None:
            actor.require("prices.view_cost")
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.sales.products.by_sku(clean.sku) is not None:
                raise Conflict("sales.error_sku_taken", sku=clean.sku)
            await self._check_category(uow, clean.category_id)
            product = await uow.sales.products.add(Product(**auditable(clean), id=0, created_at=now, updated_at=now))
            await uow.sales.products.replace_terms(product.id, product_terms(product))
            await audit.record(uow, actor.staff_id, "create", "product", product.id, {}, auditable(product))
            await uow.commit()
        return shown(actor, product)

    async def get(self, actor: Actor, product_id: int) -> Product:
        """A live product; an unknown or deleted one is NotFound."""
        async with self._uow(write=False) as uow:
            product = await uow.sales.products.get(product_id)
        if product is None:
            raise NotFound()
        return shown(actor, product)

    async def card(self, actor: Actor, product_id: int) -> ProductCard:
        """What a product's card shows: the product and its category path, read together."""
        async with self._uow(write=False) as uow:
            product = await uow.sales.products.get(product_id)
            if product is None:
                raise NotFound()
            return ProductCard(shown(actor, product), await _path(uow, product.category_id))

    async def find(self, actor: Actor, query: str) -> ProductPage:
        """/product <sku or name>: the product with exactly this SKU, else the search's first page."""
        text = query.strip()
        if text and " " not in text:
            try:
                sku = clean_sku(text)
            except ValidationFailed:
                sku = ""
            if sku:
                async with self._uow(write=False) as uow:
                    product = await uow.sales.products.by_sku(sku)
                if product is not None:
                    return ProductPage((shown(actor, product),), 0, False)
        return await self.search(actor, text)

    async def search(self, actor: Actor, query: str, page: int = 0) -> ProductPage:
        """Live products by SKU or name in any of its languages; one or two CJK characters are enough."""
        text = query.strip()[:100]
        exact, prefixes = query_terms(text)
        if not (exact or prefixes):
            return ProductPage((), page, False)
        want = (page + 1) * PAGE + 1
        async with self._uow(write=False) as uow:
            found = await uow.sales.products.search(exact, prefixes, limit=want * 2)
        runs = _cjk_runs(fold(text))
        if runs:
            # Every bigram can match without the run itself being in one name: check the names themselves.
            found = [p for p in found if any(all(run in fold(name or "") for run in runs)
                                             for name in (p.name, p.name_zh_hant, p.name_zh_hans))]
        wanted = fold(text)
        ordered = sorted(found, key=lambda p: (fold(p.sku) != wanted, not fold(p.sku).startswith(wanted), p.sku))
        start = page * PAGE
        return ProductPage(tuple(shown(actor, p) for p in ordered[start:start + PAGE]), page,
                           len(ordered) > start + PAGE)

    async def update(self, actor: Actor, product_id: int, changes: Mapping[str, Any]) -> Product:
        return (await self.edit(actor, product_id, changes))[1]

    async def edit(self, actor: Actor, product_id: int, changes: Mapping[str, Any]) -> tuple[Product, Product]:
        """Edit fields with the same validation as creation; price changes are audited with before and after
        like every other field. A cost is changed only by someone who may see it. Returns (before, after), so
        the chat can echo what changed."""
        actor.require("products.manage")
        changes = dict(changes)
        if "cost" in changes:
            actor.require("prices.view_cost")
        async with self._uow() as uow:
            before = await uow.sales.products.get(product_id)
            if before is None:
                raise NotFound()
            if "category" in changes:
                changes["category_id"] = await _category_named(uow, changes.pop("category"))
            unknown = set(changes) - set(PRODUCT_FIELDS)
            if unknown:
                raise ValidationFailed("error.invalid")
            merged = clean_draft(replace(ProductDraft(**auditable(before)), **changes))
            after_fields = {k: getattr(merged, k) for k in changes}
            sku = after_fields.get("sku", before.sku)
            if sku != before.sku and await uow.sales.products.by_sku(sku) is not None:
                raise Conflict("sales.error_sku_taken", sku=sku)
            if "category_id" in after_fields:
                await self._check_category(uow, after_fields["category_id"])
            now = self._clock.now()
            after = replace(before, **after_fields, updated_at=now)
            await uow.sales.products.update(product_id, **after_fields, updated_at=now)
            await uow.sales.products.replace_terms(product_id, product_terms(after))
            await audit.record(uow, actor.staff_id, "update", "product", product_id,
                               {k: getattr(before, k) for k in after_fields}, after_fields)
            await uow.commit()
        return shown(actor, before), shown(actor, after)

    async def delete(self, actor: Actor, product_id: int) -> Product:
        """Soft delete: hidden from browsing and search, restorable from the catalog's trash; its SKU is free."""
        actor.require("products.manage")
        now = self._clock.now()
        async with self._uow() as uow:
            product = await uow.sales.products.get(product_id)
            if product is None:
                raise NotFound()
            await uow.sales.products.update(product_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "product", product_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()
        return shown(actor, replace(product, deleted_at=now))

    async def restore(self, actor: Actor, product_id: int) -> Product:
        actor.require("products.manage")
        async with self._uow() as uow:
            product = await uow.sales.products.get(product_id, include_deleted=True)
            if product is None or product.deleted_at is None:
                raise NotFound()
            if await uow.sales.products.by_sku(product.sku) is not None:
                raise Conflict("sales.error_sku_taken", sku=product.sku)
            await uow.sales.products.update(product_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "product", product_id,
                               {"deleted_at": product.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return shown(actor, replace(product, deleted_at=None))

    async def trash(self, actor: Actor, page: int = 0) -> ProductPage:
        actor.require("products.manage")
        async with self._uow(write=False) as uow:
            rows = await uow.sales.products.deleted(offset=page * PAGE, limit=PAGE + 1)
        return ProductPage(tuple(shown(actor, p) for p in rows[:PAGE]), page, len(rows) > PAGE)

    # ---- categories ------------------------------------------------------------------------------------------

    async def browse(self, actor: Actor, category_id: int | None, page: int = 0) -> CategoryPage:
        """One page of a category: its sub-categories first, then the products directly in it."""
        async with self._uow(write=False) as uow:
            path = await _path(uow, category_id)
            children = tuple(await uow.sales.categories.children(category_id))
            start = page * PAGE
            shown_children = children[start:start + PAGE]
            room = PAGE - len(shown_children)
            offset = max(0, start - len(children))
            products = await uow.sales.products.in_category(category_id, offset=offset, limit=room + 1)
        more_children = len(children) > start + PAGE
        return CategoryPage(path[-1] if path else None, path, shown_children,
                            tuple(shown(actor, p) for p in products[:room]), page,
                            more_children or len(products) > room)

    async def create_category(self, actor: Actor, name: str, parent_id: int | None = None) -> Category:
        actor.require("products.manage")
        clean = clean_name(name, "category", required=True) or ""
        async with self._uow() as uow:
            if parent_id is not None and len(await _path(uow, parent_id)) >= MAX_DEPTH:
                raise ValidationFailed("sales.error_category_depth", limit=MAX_DEPTH)
            if any(fold(c.name) == fold(clean) for c in await uow.sales.categories.children(parent_id)):
                raise Conflict("sales.error_category_taken", name=clean)
            category = await uow.sales.categories.add(clean, parent_id, self._clock.now())
            await audit.record(uow, actor.staff_id, "create", "product_category", category.id, {},
                               {"name": clean, "parent_id": parent_id})
            await uow.commit()
        return category

    async def rename_category(self, actor: Actor, category_id: int, name: str) -> Category:
        actor.require("products.manage")
        clean = clean_name(name, "category", required=True) or ""
        async with self._uow() as uow:
            category = await _live_category(uow, category_id)
            await uow.sales.categories.update(category_id, name=clean)
            await audit.record(uow, actor.staff_id, "update", "product_category", category_id,
                               {"name": category.name}, {"name": clean})
            await uow.commit()
        return replace(category, name=clean)

    async def delete_category(self, actor: Actor, category_id: int) -> None:
        """Only an empty category goes: products and sub-categories would otherwise be lost from browsing."""
        actor.require("products.manage")
        now = self._clock.now()
        async with self._uow() as uow:
            await _live_category(uow, category_id)
            if await uow.sales.categories.children(category_id) or await uow.sales.products.count_in_category(
                    category_id):
                raise Conflict("sales.error_category_not_empty")
            await uow.sales.categories.update(category_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "product_category", category_id,
                               {"deleted_at": None}, {"deleted_at": now})
            await uow.commit()

    async def restore_category(self, actor: Actor, category_id: int) -> Category:
        actor.require("products.manage")
        async with self._uow() as uow:
            category = await uow.sales.categories.get(category_id, include_deleted=True)
            if category is None or category.deleted_at is None:
                raise NotFound()
            await uow.sales.categories.update(category_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "product_category", category_id,
                               {"deleted_at": category.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return replace(category, deleted_at=None)

    @staticmethod
    async def _check_category(uow: SalesUnitOfWork, category_id: int | None) -> None:
        if category_id is not None:
            await _live_category(uow, category_id)


async def _live_category(uow: SalesUnitOfWork, category_id: int) -> Category:
    category = await uow.sales.categories.get(category_id)
    if category is None:
        raise NotFound()
    return category


async def _category_named(uow: SalesUnitOfWork, name: Any) -> int | None:
    """A category typed by name ("-" or nothing: none); a name two categories share is ambiguous."""
    text = clean_name(name, "category")
    if text is None or text in ("-", "—"):
        return None
    found = await uow.sales.categories.by_name(text)
    if not found:
        raise ValidationFailed("sales.error_no_category", name=text)
    if len(found) > 1:
        raise ValidationFailed("sales.error_category_ambiguous", name=text)
    return found[0].id


async def _path(uow: SalesUnitOfWork, category_id: int | None) -> tuple[Category, ...]:
    path: list[Category] = []
    seen: set[int] = set()
    while category_id is not None and category_id not in seen and len(path) <= MAX_DEPTH:
        seen.add(category_id)
        category = await uow.sales.categories.get(category_id)
        if category is None:
            if not path:
                raise NotFound()
            break
        path.append(category)
        category_id = category.parent_id
    return tuple(reversed(path))


def _cjk_runs(text: str) -> list[str]:
    runs, current = [], ""
    for ch in text:
        if is_cjk(ch):
            current += ch
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def parse_line(text: str, default_currency: str) -> ProductDraft:
    """``A-100 Widget 120 TWD`` (currency optional): SKU first, the price (and currency) last, the name
    between. What it understood is shown for one tap before anything is saved."""
    words = text.split()
    currency = default_currency
    if len(words) >= 4 and _CURRENCY.match(fold(words[-1]).upper()):
        currency = words.pop()
    if len(words) < 3:
        raise ValidationFailed("sales.error_one_line")
    return clean_draft(ProductDraft(sku=words[0], name=" ".join(words[1:-1]),
                                    list_price=clean_amount(words[-1], "list_price"), currency=currency))
