"""Expense categories are data: read by people who hold ``expenses.budget``, kept by those of them with every
expense in their scope (finance, an administrator) — a category is shared by the whole company, so a department
manager, who also sets budgets, does not rename it for everyone.

Add one (a key and its name in the three languages), rename it, deactivate it (old expenses keep showing it;
new ones and budgets cannot use it) and activate it again. The last active category stays.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.expenses.expenses import seed_categories
from crm.expenses.model import Category
from crm.expenses.ports import ExpensesUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor

NAME_LIMIT = 100
_KEY = re.compile(r"[a-z][a-z0-9_]{1,29}")


def names_of(text: str) -> tuple[str, str, str]:
    """``English | 繁體 | 简体`` (one name alone serves all three)."""
    parts = [" ".join(p.split()) for p in unicodedata.normalize("NFKC", text).split("|")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or not all(parts):
        raise ValidationFailed("expenses.error_category_names")
    if any(len(p) > NAME_LIMIT for p in parts):
        raise ValidationFailed("error.field_too_long", field="name", limit=NAME_LIMIT)
    return parts[0], parts[1], parts[2]


def key_of(text: str) -> str:
    key = text.strip().casefold()
    if not _KEY.fullmatch(key):
        raise ValidationFailed("expenses.error_category_key")
    return key


class CategoryService:
    def __init__(self, uow: UnitOfWorkFactory[ExpensesUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._seeded = False

    async def _ready(self) -> None:
        """Once per process: the default categories where there are none (as ``ExpenseService._ready``)."""
        if self._seeded:
            return
        async with self._uow() as uow:
            if await seed_categories(uow):
                await uow.commit()
        self._seeded = True

    @staticmethod
    def may_keep(actor: Actor) -> bool:
        return actor.can("expenses.budget") and actor.scope_filter("expenses").everything

    def _require(self, actor: Actor) -> None:
        actor.require("expenses.budget")
        if not self.may_keep(actor):
            raise PermissionDenied(operation="expenses.budget")

    async def every(self, actor: Actor) -> Sequence[tuple[Category, bool]]:
        """Every category with whether it is active: any budget holder may read them."""
        actor.require("expenses.budget")
        await self._ready()
        async with self._uow(write=False) as uow:
            active = {c.id for c in await uow.expenses.categories.all()}
            return [(c, c.id in active) for c in await uow.expenses.categories.every()]

    async def get(self, actor: Actor, category_id: int) -> tuple[Category, bool]:
        for category, active in await self.every(actor):
            if category.id == category_id:
                return category, active
        raise NotFound()

    async def add(self, actor: Actor, key: str, names: str) -> Category:
        self._require(actor)
        await self._ready()
        key = key_of(key)
        name, hant, hans = names_of(names)
        async with self._uow() as uow:
            every = await uow.expenses.categories.every()
            if any(c.key == key for c in every):
                raise Conflict("expenses.error_category_taken", code=key)
            sequence = max((c.sequence for c in every), default=0) + 10
            category = await uow.expenses.categories.add(Category(0, key, name, hant, hans, "", sequence))
            await audit.record(uow, actor.staff_id, "create", "expense_category", category.id, {},
                               {"key": key, "name": name, "name_zh_hant": hant, "name_zh_hans": hans})
            await uow.commit()
        return category

    async def rename(self, actor: Actor, category_id: int, names: str) -> Category:
        self._require(actor)
        await self._ready()
        name, hant, hans = names_of(names)
        async with self._uow() as uow:
            before = next((c for c in await uow.expenses.categories.every() if c.id == category_id), None)
            if before is None:
                raise NotFound()
            await uow.expenses.categories.update(category_id, name=name, name_zh_hant=hant, name_zh_hans=hans)
            await audit.record(uow, actor.staff_id, "update", "expense_category", category_id,
                               {"name": before.name, "name_zh_hant": before.name_zh_hant,
                                "name_zh_hans": before.name_zh_hans},
                               {"name": name, "name_zh_hant": hant, "name_zh_hans": hans})
            await uow.commit()
        return Category(before.id, before.key, name, hant, hans, before.words, before.sequence)

    async def set_active(self, actor: Actor, category_id: int, active: bool) -> None:
        self._require(actor)
        await self._ready()
        async with self._uow() as uow:
            live = {c.id for c in await uow.expenses.categories.all()}
            if category_id not in {c.id for c in await uow.expenses.categories.every()}:
                raise NotFound()
            if (category_id in live) == active:
                return
            if not active and live == {category_id}:
                raise Conflict("expenses.error_last_category")
            now = self._clock.now()
            await uow.expenses.categories.update(category_id, deleted_at=None if active else now)
            await audit.record(uow, actor.staff_id, "update", "expense_category", category_id,
                               {"deleted_at": None if not active else "set"},
                               {"deleted_at": None if active else now})
            await uow.commit()
