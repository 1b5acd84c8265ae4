"""Custom field definitions and values; customers found by their values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from crm.customers.model import Customer
from crm.fields.model import Condition, FieldDef, FieldDraft, FieldEntity, FieldType, FieldValue
from crm.fields.values import text_key
from crm.organisation.permissions import ScopeFilter
from storage.customers.repositories import _customer
from storage.customers.tables import customers
from storage.fields.tables import custom_fields, custom_values
from storage.organisation.repositories import scope_clause
from storage.prepared import Prepared, Probe

_F = custom_fields.c
_V = custom_values.c
# The customer card reads a customer's fields on every card; most customers have none (storage/prepared.py).
_HAS_VALUES = Probe(_V.entity_id)
# A kind's live fields are read by every one-message form of that kind (an `/order` echo reads them two or three
# times): prepared, and the few rows' decoded JSON kept (storage/prepared.py).
_LIVE = Prepared(select(custom_fields).where(_F.entity == bindparam("entity"), _F.deleted_at.is_(None))
                 .order_by(_F.position, _F.id), memo=64)


def _field(row: Row[Any]) -> FieldDef:
    return FieldDef(id=row.id, entity=FieldEntity(row.entity), type=FieldType(row.type), labels=dict(row.labels),
                    choices=tuple(row.choices or ()), required=bool(row.required), position=row.position,
                    created_at=row.created_at, deleted_at=row.deleted_at)


class SqlFieldRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, draft: FieldDraft, position: int, created_by: int, at: datetime) -> FieldDef:
        values = {"entity": draft.entity.value, "type": draft.type.value, "labels": dict(draft.labels),
                  "choices": list(draft.choices), "required": draft.required, "position": position,
                  "created_by": created_by, "created_at": at}
        new_id = (await self._c.execute(insert(custom_fields).values(**values).returning(_F.id))).scalar_one()
        return FieldDef(id=new_id, entity=draft.entity, type=draft.type, labels=dict(draft.labels),
                        choices=draft.choices, required=draft.required, position=position, created_at=at)

    async def get(self, field_id: int, *, include_deleted: bool = False) -> FieldDef | None:
        q = select(custom_fields).where(_F.id == field_id)
        if not include_deleted:
            q = q.where(_F.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _field(row) if row else None

    async def listed(self, entity: FieldEntity, *, deleted: bool = False) -> Sequence[FieldDef]:
        if not deleted:
            return [_field(r) for r in await _LIVE.rows(self._c, {"entity": entity.value})]
        live = _F.deleted_at.is_not(None) if deleted else _F.deleted_at.is_(None)
        q = select(custom_fields).where(_F.entity == entity.value, live).order_by(_F.position, _F.id)
        return [_field(r) for r in await self._c.execute(q)]

    async def update(self, field_id: int, **fields: Any) -> None:
        if fields:
            await self._c.execute(update(custom_fields).where(_F.id == field_id).values(**fields))


def _value(row: Row[Any]) -> FieldValue:
    return FieldValue(text=row.value_text, number=row.value_number, day=row.value_date, currency=row.currency)


def _rows(value: FieldValue) -> list[dict[str, Any]]:
    if value.items:
        return [{"item": i, "value_text": item, "value_key": text_key(item)} for i, item in enumerate(value.items)]
    if value.is_empty:
        return []
    return [{"item": 0, "value_text": value.text, "value_key": text_key(value.text) if value.text else None,
             "value_number": value.number,
             "value_sort": float(value.number) if value.number is not None else None,
             "value_date": value.day, "currency": value.currency}]


def typed(condition: Condition) -> tuple[ColumnElement[Any], Any]:
    """The indexed column a condition compares, and the value compared with."""
    value = condition.value
    if value.day is not None:
        return _V.value_date, value.day
    if value.number is not None:
        return _V.value_sort, float(value.number)
    return _V.value_key, text_key(value.text or "")


def condition_clause(condition: Condition, entity_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """``entity_id`` is in the records meeting the condition: one range or equality on a (field, value, record)
    index. "!=" is "has a value, and not this one" (a record without the field is not counted)."""
    column, wanted = typed(condition)
    op = condition.op
    if op == "!=":
        matching = select(_V.entity_id).where(_V.field_id == condition.field_id, column == wanted)
        having = select(_V.entity_id).where(_V.field_id == condition.field_id)
        return and_(entity_id.in_(having), entity_id.not_in(matching))
    compare = {"=": column == wanted, ">": column > wanted, "<": column < wanted, ">=": column >= wanted,
               "<=": column <= wanted}[op]
    return entity_id.in_(select(_V.entity_id).where(_V.field_id == condition.field_id, compare))


def probe_clause(condition: Condition, entity_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The same test probed per record, through the (record, field) unique index: cheaper than
    ``condition_clause`` when the records to test are few (a rep's own customers, a driven plan's candidates).
    The field and the value are wrapped so that no planner walks a (field, value) index per record instead:
    SQLite, without statistics, did — a whole range per customer."""
    column, wanted = typed(condition)
    v = custom_values.alias("probed").c  # its own name: a driven plan reads custom_values outside too
    column = getattr(v, str(column.key))
    column = func.coalesce(column, column)
    mine = [v.entity_id == entity_id, func.coalesce(v.field_id, v.field_id) == condition.field_id]
    if condition.op == "!=":
        return and_(exists(select(v.id).where(*mine)), ~exists(select(v.id).where(*mine, column == wanted)))
    compare = {"=": column == wanted, ">": column > wanted, "<": column < wanted, ">=": column >= wanted,
               "<=": column <= wanted}[condition.op]
    return exists(select(v.id).where(*mine, compare))


def _compare(condition: Condition) -> ColumnElement[bool]:
    column, wanted = typed(condition)
    compare: ColumnElement[bool] = {"=": column == wanted, ">": column > wanted, "<": column < wanted,
                                    ">=": column >= wanted, "<=": column <= wanted}[condition.op]
    return compare


# A probe (one customer's value looked up) costs about four times a step along a value index (measured on
# SQLite, bench/custom_fields.py): start from the scope's customers when they are fewer than a quarter of the
# values in the first condition's range.
PROBE_COST = 4
ESTIMATE_UP_TO = 20_000


class SqlValueRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._plans: dict[tuple[ScopeFilter, tuple[Condition, ...]], Select[Any]] = {}

    async def any_for(self, entity_id: int) -> bool:
        return await _HAS_VALUES.any(self._c, entity_id)

    async def of(self, entity: FieldEntity, entity_ids: Sequence[int]) -> Mapping[int, Mapping[int, FieldValue]]:
        found: dict[int, dict[int, FieldValue]] = {}
        multi: dict[tuple[int, int], list[str]] = {}
        for start in range(0, len(entity_ids), 500):
            q = (select(custom_values, _F.type).join(custom_fields, _F.id == _V.field_id)
                 .where(_V.entity == entity.value, _V.entity_id.in_(list(entity_ids[start:start + 500])))
                 .order_by(_V.entity_id, _V.field_id, _V.item))
            for row in await self._c.execute(q):
                if row.type == FieldType.MULTI.value:
                    multi.setdefault((row.entity_id, row.field_id), []).append(row.value_text)
                else:
                    found.setdefault(row.entity_id, {})[row.field_id] = _value(row)
        for (entity_id, field_id), items in multi.items():
            found.setdefault(entity_id, {})[field_id] = FieldValue(items=tuple(items))
        return found

    async def put(self, entity: FieldEntity, entity_id: int, field: FieldDef, value: FieldValue,
                  at: datetime) -> None:
        await self._c.execute(delete(custom_values).where(
            _V.entity == entity.value, _V.entity_id == entity_id, _V.field_id == field.id))
        rows = [{"field_id": field.id, "entity": entity.value, "entity_id": entity_id, "updated_at": at, **r}
                for r in _rows(value)]
        for row in rows:
            await self._c.execute(insert(custom_values).values(**row))

    async def insert_many(self, entity: FieldEntity, rows: Sequence[tuple[int, FieldDef, FieldValue]],
                          at: datetime) -> None:
        """Values of records that have none yet (an import's new customers), in batches."""
        batch = [{"field_id": field.id, "entity": entity.value, "entity_id": entity_id, "updated_at": at,
                  "value_text": None, "value_key": None, "value_number": None, "value_sort": None,
                  "value_date": None, "currency": None, **r}
                 for entity_id, field, value in rows for r in _rows(value)]
        for start in range(0, len(batch), 1000):
            await self._c.execute(insert(custom_values), batch[start:start + 1000])

    async def _plan(self, scope: ScopeFilter, conditions: Sequence[Condition]) -> Select[Any]:
        """Two plans, whichever reads fewer rows (docs/fields.md): walk the value index of the most selective
        condition (in the order of that value) and check each record for the scope and the other conditions;
        or start from the scope's customers (the owner index, by id) and probe each one's values. The sizes
        compared are index-only counts, capped; the choice is kept for the page and the count that follow."""
        key = (scope, tuple(conditions))
        if key in self._plans:
            return self._plans[key]
        c = customers.c
        sizes = {i: await self._count(select(_V.id).where(_V.field_id == cond.field_id, _compare(cond))
                                      .limit(ESTIMATE_UP_TO))
                 for i, cond in enumerate(conditions) if cond.op != "!="}
        driver = conditions[min(sizes, key=sizes.__getitem__)] if sizes else None
        probe = driver is None
        if driver is not None and not scope.everything:
            # Without the deleted-at test the owner index answers alone.
            mine = select(c.id).where(scope_clause(scope, c.owner_id)).limit(ESTIMATE_UP_TO // PROBE_COST)
            probe = await self._count(mine) * PROBE_COST < min(sizes.values())
        if probe or driver is None:
            plan = (select(customers).where(c.deleted_at.is_(None), scope_clause(scope, c.owner_id),
                                            *(probe_clause(cond, c.id) for cond in conditions))
                    .order_by(c.id))
        else:
            column, _ = typed(driver)
            others = [probe_clause(cond, c.id) for cond in conditions if cond is not driver]
            plan = (select(customers).select_from(custom_values.join(customers, c.id == _V.entity_id))
                    .where(_V.field_id == driver.field_id, _compare(driver), c.deleted_at.is_(None),
                           scope_clause(scope, c.owner_id), *others)
                    .order_by(column, _V.entity_id))
        self._plans[key] = plan
        return plan

    async def _count(self, q: Select[Any]) -> int:
        return int((await self._c.execute(select(func.count()).select_from(q.subquery()))).scalar_one())

    async def customers(self, scope: ScopeFilter, conditions: Sequence[Condition], *, offset: int, limit: int
                        ) -> Sequence[Customer]:
        q = await self._plan(scope, conditions)
        return [_customer(r) for r in await self._c.execute(q.offset(offset).limit(limit))]

    async def count_customers(self, scope: ScopeFilter, conditions: Sequence[Condition], *, up_to: int) -> int:
        """How many match, counting at most ``up_to`` (a count of 50,000 matches is not worth reading them all)."""
        q = await self._plan(scope, conditions)
        return await self._count(q.with_only_columns(customers.c.id).order_by(None).limit(up_to))
