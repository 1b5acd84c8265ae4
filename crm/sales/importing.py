"""Importing products from a spreadsheet (CSV or XLSX): all rows or none, with a per-row report first.

The same shape as the customer import (crm/customers/importing.py, whose header folding, row errors and file
reading it reuses): headers in English or Chinese are recognised, every row is checked with the catalog's own
rules (``crm.sales.catalog.clean_draft``), SKUs must be new (in the file and among live products) and categories
must exist; ``plan`` reports, ``run`` writes every row in one transaction or, when any row is wrong, nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.importing import MAX_ROWS, ImportHasErrors, RowError, UnreadableFile, header_key
from crm.customers.search_terms import fold
from crm.customers.spreadsheets import SpreadsheetCodec
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import auditable, clean_draft, product_terms
from crm.sales.model import Category, Product, ProductDraft
from crm.sales.ports import SalesUnitOfWork

MAX_PRODUCTS = 20_000  # a catalog, not a database dump

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "code", "product code", "item code", "料號", "料号", "品號", "品号", "貨號", "货号", "產品編號",
            "产品编号"),
    "name": ("name", "product", "product name", "名稱", "名称", "品名", "產品名稱", "产品名称"),
    "name_zh_hant": ("name zh-hant", "name_zh_hant", "traditional name", "繁體名稱", "繁体名称"),
    "name_zh_hans": ("name zh-hans", "name_zh_hans", "simplified name", "簡體名稱", "简体名称"),
    "category": ("category", "分類", "分类", "類別", "类别"),
    "unit": ("unit", "單位", "单位"),
    "list_price": ("price", "list price", "list_price", "定價", "定价", "售價", "售价", "單價", "单价"),
    "currency": ("currency", "幣別", "币种", "幣種", "貨幣", "货币"),
    "cost": ("cost", "成本"),
    "tax_rate": ("tax", "tax rate", "tax_rate", "vat", "稅率", "税率"),
}
_ALIASES = {header_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
REQUIRED = ("sku", "name", "list_price")


@dataclass(frozen=True)
class ProductImportPlan:
    total: int
    rows: tuple[tuple[int, ProductDraft], ...]  # (row number in the file, the checked product)
    errors: tuple[RowError, ...]
    columns: tuple[str, ...]  # what each recognised header was understood as, for the preview

    @property
    def valid(self) -> int:
        return len(self.rows)

    @property
    def invalid(self) -> int:
        return len({e.row for e in self.errors})


class ProductImportService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, files: SpreadsheetCodec, *,
                 currency: str = "TWD", worker: Worker[UnitOfWorkFactory[SalesUnitOfWork]] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        self.currency = currency
        # Reading a spreadsheet and writing 20,000 products take seconds: off the bot's loop, like the customer
        # import (crm/core/offloop.py).
        self._worker = worker or InlineWorker(uow)

    def _on(self, uow: UnitOfWorkFactory[SalesUnitOfWork]) -> ProductImportService:
        return ProductImportService(uow, self._clock, self._files, currency=self.currency)

    async def _table(self, data: bytes, filename: str) -> list[list[str]]:
        return await asyncio.to_thread(self._files.read, data, filename, max_rows=min(MAX_ROWS, MAX_PRODUCTS + 1))

    async def plan_file(self, actor: Actor, data: bytes, filename: str) -> ProductImportPlan:
        actor.require("products.manage")
        return await self._worker.run(lambda uow: self._on(uow)._plan_file(actor, data, filename))

    async def _plan_file(self, actor: Actor, data: bytes, filename: str) -> ProductImportPlan:
        table = await self._table(data, filename)
        async with self._uow(write=False) as uow:
            return await self._plan(uow, actor, table)

    async def run_file(self, actor: Actor, data: bytes, filename: str) -> int:
        """Write every row, or none when any row is wrong (``ImportHasErrors``). Returns how many were added."""
        actor.require("products.manage")
        return await self._worker.run(lambda uow: self._on(uow)._run_file(actor, data, filename))

    async def _run_file(self, actor: Actor, data: bytes, filename: str) -> int:
        table = await self._table(data, filename)
        now = self._clock.now()
        async with self._uow() as uow:
            plan = await self._plan(uow, actor, table)
            if plan.errors:
                raise ImportHasErrors("sales.import_has_errors", count=plan.invalid)
            for _, draft in plan.rows:
                product = await uow.sales.products.add(Product(**auditable(draft), id=0, created_at=now,
                                                               updated_at=now))
                await uow.sales.products.replace_terms(product.id, product_terms(product))
                await audit.record(uow, actor.staff_id, "import", "product", product.id, {}, auditable(product))
            await uow.commit()
        return plan.valid

    async def _plan(self, uow: SalesUnitOfWork, actor: Actor, table: Sequence[Sequence[str]]) -> ProductImportPlan:
        if not table:
            raise UnreadableFile("importing.empty_file")
        headers = list(table[0])
        columns = {index: _ALIASES.get(header_key(h)) for index, h in enumerate(headers)}
        found = {name for name in columns.values() if name}
        missing = [name for name in REQUIRED if name not in found]
        if missing:
            raise ValidationFailed("sales.import_missing_columns", columns=", ".join(missing))
        body = [row for row in table[1:] if any(cell.strip() for cell in row)]
        if len(body) > MAX_PRODUCTS:
            raise ValidationFailed("sales.import_too_many", limit=MAX_PRODUCTS)
        categories = await _categories_by_name(uow)
        errors: list[RowError] = []
        rows: list[tuple[int, ProductDraft]] = []
        seen: dict[str, int] = {}
        for number, cells in enumerate(table[1:], start=2):
            if not any(cell.strip() for cell in cells):
                continue
            values: dict[str, Any] = {}
            header_of: dict[str, str] = {}
            for index, name in columns.items():
                if name and index < len(cells) and cells[index].strip():
                    values[name] = cells[index].strip()
                    header_of[name] = headers[index]
            if "cost" in values and not actor.can("prices.view_cost"):
                errors.append(RowError(number, header_of["cost"], "sales.import_cost_denied"))
                continue
            category = values.pop("category", None)
            if category is not None:
                matches = categories.get(fold(category).strip(), [])
                if len(matches) != 1:
                    key = "sales.error_no_category" if not matches else "sales.error_category_ambiguous"
                    errors.append(RowError(number, header_of["category"], key, {"name": category}))
                    continue
                values["category_id"] = matches[0].id
            try:
                draft = clean_draft(ProductDraft(**{"sku": "", "name": "", "currency": self.currency, **values}))
            except ValidationFailed as exc:
                field = str(exc.params.get("field", ""))
                errors.append(RowError(number, header_of.get(field), exc.key, exc.params))
                continue
            if draft.sku in seen:
                errors.append(RowError(number, header_of["sku"], "sales.import_sku_twice",
                                       {"sku": draft.sku, "other": seen[draft.sku]}))
                continue
            seen[draft.sku] = number
            rows.append((number, draft))
        taken = await uow.sales.products.skus_taken([d.sku for _, d in rows])
        for number, draft in rows:
            if draft.sku in taken:
                errors.append(RowError(number, None, "sales.error_sku_taken", {"sku": draft.sku}))
        kept = tuple((n, d) for n, d in rows if d.sku not in taken)
        understood = tuple(f"{headers[i]} → {name}" for i, name in columns.items() if name)
        return ProductImportPlan(len(body), kept, tuple(sorted(errors, key=lambda e: e.row)), understood)


async def _categories_by_name(uow: SalesUnitOfWork) -> dict[str, list[Category]]:
    """Every live category by its folded name (a catalog has tens of them, not thousands)."""
    found: dict[str, list[Category]] = {}
    pending: list[int | None] = [None]
    while pending:
        for category in await uow.sales.categories.children(pending.pop()):
            found.setdefault(fold(category.name).strip(), []).append(category)
            pending.append(category.id)
    return found
