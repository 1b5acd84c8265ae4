"""What the custom fields module needs from storage (``storage/fields`` implements it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from crm.customers.model import Customer
from crm.fields.model import Condition, FieldDef, FieldDraft, FieldEntity, FieldValue
from crm.organisation.permissions import ScopeFilter
from crm.segments.ports import SegmentsUnitOfWork


class FieldRepository(Protocol):
    async def add(self, draft: FieldDraft, position: int, created_by: int, at: datetime) -> FieldDef: ...
    async def get(self, field_id: int, *, include_deleted: bool = False) -> FieldDef | None: ...
    async def listed(self, entity: FieldEntity, *, deleted: bool = False) -> Sequence[FieldDef]:
        """Live (or removed) fields of one kind of record, in their order."""
        ...
    async def update(self, field_id: int, **fields: Any) -> None: ...


class ValueRepository(Protocol):
    async def any_for(self, entity_id: int) -> bool:
        """Whether any value is stored for this id (of any kind of record): a cheap check before reading."""
        ...

    async def of(self, entity: FieldEntity, entity_ids: Sequence[int]) -> Mapping[int, Mapping[int, FieldValue]]:
        """Record id → field id → value, for every field (removed ones too: their values are kept)."""
        ...
    async def put(self, entity: FieldEntity, entity_id: int, field: FieldDef, value: FieldValue,
                  at: datetime) -> None:
        """Replace the record's value of the field (an empty value removes it)."""
        ...
    async def insert_many(self, entity: FieldEntity, rows: Sequence[tuple[int, FieldDef, FieldValue]],
                          at: datetime) -> None: ...
    async def customers(self, scope: ScopeFilter, conditions: Sequence[Condition], *, offset: int, limit: int
                        ) -> Sequence[Customer]:
        """Live customers in the scope meeting every condition, in the order of the first condition's value."""
        ...
    async def count_customers(self, scope: ScopeFilter, conditions: Sequence[Condition], *, up_to: int) -> int:
        """How many match, counting no further than ``up_to``."""
        ...


class FieldsRepositories(Protocol):
    @property
    def fields(self) -> FieldRepository: ...
    @property
    def values(self) -> ValueRepository: ...


class FieldsUnitOfWork(SegmentsUnitOfWork, Protocol):
    @property
    def fields(self) -> FieldsRepositories: ...
