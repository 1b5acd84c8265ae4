"""Custom fields: admins define them (``fields.manage``), everyone who may see or edit a record reads or sets its
values, and customers are found by them.

Definitions and values are data: adding a field is a row, removing one is a soft delete that keeps its values
(restoring the field brings them back). Every change of a definition or a value is audited. A value is always
read through ``crm/fields/values.py``, so a date stays a date and money a Decimal with its currency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.contacts_leads import visible_contact, visible_lead
from crm.customers.customers import visible_customer
from crm.customers.model import Customer
from crm.fields.model import (
    LABEL_LIMIT,
    LANGUAGES,
    MAX_CHOICES,
    MAX_FIELDS,
    Condition,
    FieldDef,
    FieldDraft,
    FieldEntity,
    FieldValue,
)
from crm.fields.ports import FieldsUnitOfWork
from crm.fields.values import as_text, check_choices, parse_conditions, parse_value
from crm.organisation import audit
from crm.organisation.permissions import Actor

MANAGE = "fields.manage"
PAGE = 8
Check = Callable[[Any, Actor, int], Awaitable[object]]


@dataclass(frozen=True)
class RecordKind:
    """How to tell that a record of a kind exists for the actor (raising NotFound otherwise) and which operation
    lets them change its values. A module that owns a kind of record adds it (``FieldService.kinds``)."""

    entity: FieldEntity
    view: str
    edit: str
    check: Check
    check_edit: Check | None = None
    """Who may change a record's values where it is more than seeing it (an opportunity: one's own with
    ``sales.create``, a colleague's with ``sales.edit``); ``check`` when None."""


async def _customer(uow: Any, actor: Actor, record_id: int) -> object:
    return await visible_customer(uow, actor, record_id)


async def _contact(uow: Any, actor: Actor, record_id: int) -> object:
    return await visible_contact(uow, actor, record_id)


async def _lead(uow: Any, actor: Actor, record_id: int) -> object:
    return await visible_lead(uow, actor, record_id)


CUSTOMER_KINDS = (
    RecordKind(FieldEntity.CUSTOMER, "customers.view", "customers.edit", _customer),
    RecordKind(FieldEntity.CONTACT, "customers.view", "customers.edit", _contact),
    RecordKind(FieldEntity.LEAD, "customers.view", "customers.edit", _lead),
)


COUNT_UP_TO = 100  # beyond it "more than 100": counting 50,000 matches would read them all


@dataclass(frozen=True)
class FieldPage:
    customers: tuple[Customer, ...]
    count: int  # -1: not counted (a later page); COUNT_UP_TO + 1: more than COUNT_UP_TO
    page: int
    has_more: bool


def clean_labels(labels: Mapping[str, str]) -> dict[str, str]:
    cleaned = {lang: " ".join(str(labels.get(lang) or "").split())[:LABEL_LIMIT] for lang in LANGUAGES}
    cleaned = {lang: text for lang, text in cleaned.items() if text}
    if "en" not in cleaned:
        raise ValidationFailed("fields.label_required")
    for text in cleaned.values():
        if any(ch in text for ch in "=<>!;") or text.isdigit():
            raise ValidationFailed("fields.label_invalid", value=text)
    return cleaned


class FieldService:
    def __init__(self, uow: UnitOfWorkFactory[FieldsUnitOfWork], clock: Clock, *, currency: str = "TWD",
                 phone_region: str = "TW") -> None:
        self._uow = uow
        self._clock = clock
        self.currency = currency
        self.phone_region = phone_region
        self.kinds: dict[FieldEntity, RecordKind] = {kind.entity: kind for kind in CUSTOMER_KINDS}

    # ---- definitions ---------------------------------------------------------------------------------------

    async def listed(self, actor: Actor, entity: FieldEntity, *, deleted: bool = False) -> Sequence[FieldDef]:
        """The fields of one kind of record. Anyone signed in reads the live ones (the flows ask them); the
        removed ones are for whoever manages fields."""
        if deleted:
            actor.require(MANAGE)
        async with self._uow(write=False) as uow:
            return await uow.fields.fields.listed(entity, deleted=deleted)

    async def get(self, actor: Actor, field_id: int, *, deleted: bool = False) -> FieldDef:
        actor.require(MANAGE)
        async with self._uow(write=False) as uow:
            return await self._field(uow, field_id, deleted=deleted)

    @staticmethod
    async def _field(uow: FieldsUnitOfWork, field_id: int, *, deleted: bool = False) -> FieldDef:
        field = await uow.fields.fields.get(field_id, include_deleted=deleted)
        if field is None or (field.deleted_at is not None) != deleted:
            raise NotFound()
        return field

    def check_draft(self, draft: FieldDraft) -> FieldDraft:
        labels = clean_labels(draft.labels)
        choices = tuple(draft.choices)
        if draft.type.has_choices:
            if not 2 <= len(choices) <= MAX_CHOICES:
                raise ValidationFailed("fields.choices_needed", limit=MAX_CHOICES)
        else:
            choices = ()
        return replace(draft, labels=labels, choices=choices)

    async def define(self, actor: Actor, draft: FieldDraft) -> FieldDef:
        actor.require(MANAGE)
        draft = self.check_draft(draft)
        async with self._uow() as uow:
            live = await uow.fields.fields.listed(draft.entity)
            if len(live) >= MAX_FIELDS:
                raise ValidationFailed("fields.too_many", limit=MAX_FIELDS)
            self._unique(live, draft.labels, None)
            position = max((f.position for f in live), default=0) + 1
            field = await uow.fields.fields.add(draft, position, actor.staff_id, self._clock.now())
            await audit.record(uow, actor.staff_id, "create", "custom_field", field.id, {}, _auditable(field))
            await uow.commit()
        return field

    @staticmethod
    def _unique(live: Sequence[FieldDef], labels: Mapping[str, str], own_id: int | None) -> None:
        """A label names one field of a kind in every language: filters and import headers find fields by it."""
        taken = {text.casefold(): f for f in live if f.id != own_id for text in f.labels.values()}
        for text in labels.values():
            if text.casefold() in taken:
                raise ValidationFailed("fields.label_taken", value=text)

    async def edit(self, actor: Actor, field_id: int, *, labels: Mapping[str, str] | None = None,
                   required: bool | None = None, choices: Sequence[str] | None = None,
                   move: int = 0) -> FieldDef:
        """Change labels, the required flag, the choices (a choice in use is kept) or the place in the order
        (``move`` -1 up, +1 down)."""
        actor.require(MANAGE)
        async with self._uow() as uow:
            before = await self._field(uow, field_id)
            changes: dict[str, Any] = {}
            if labels is not None:
                merged = clean_labels({**before.labels, **labels})
                live = await uow.fields.fields.listed(before.entity)
                self._unique(live, merged, field_id)
                changes["labels"] = merged
            if required is not None:
                changes["required"] = required
            if choices is not None and before.type.has_choices:
                checked = self.check_draft(FieldDraft(before.entity, before.type, before.labels, tuple(choices)))
                changes["choices"] = checked.choices
            if move:
                live = list(await uow.fields.fields.listed(before.entity))
                index = next(i for i, f in enumerate(live) if f.id == field_id)
                other = index + (1 if move > 0 else -1)
                if 0 <= other < len(live):
                    live[index], live[other] = live[other], live[index]
                    for position, field in enumerate(live, start=1):
                        if field.position != position:
                            await uow.fields.fields.update(field.id, position=position)
                    changes["position"] = other + 1
            if changes:
                stored = {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
                await uow.fields.fields.update(field_id, **{k: v for k, v in stored.items() if k != "position"})
                after = replace(before, **changes)
                await audit.record(uow, actor.staff_id, "update", "custom_field", field_id, _auditable(before),
                                   _auditable(after))
                await uow.commit()
                return after
        return before

    async def remove(self, actor: Actor, field_id: int) -> FieldDef:
        """Soft: the field leaves the flows, cards and filters; its values stay for a restore."""
        actor.require(MANAGE)
        now = self._clock.now()
        async with self._uow() as uow:
            field = await self._field(uow, field_id)
            await uow.fields.fields.update(field_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "custom_field", field_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()
        return replace(field, deleted_at=now)

    async def restore(self, actor: Actor, field_id: int) -> FieldDef:
        actor.require(MANAGE)
        async with self._uow() as uow:
            field = await self._field(uow, field_id, deleted=True)
            live = await uow.fields.fields.listed(field.entity)
            self._unique(live, field.labels, field_id)
            position = max((f.position for f in live), default=0) + 1  # last, after the live ones
            await uow.fields.fields.update(field_id, deleted_at=None, position=position)
            await audit.record(uow, actor.staff_id, "restore", "custom_field", field_id,
                               {"deleted_at": field.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return replace(field, deleted_at=None, position=position)

    # ---- values --------------------------------------------------------------------------------------------

    def parse(self, field: FieldDef, raw: str) -> FieldValue:
        """One typed answer read for ``field`` (ValidationFailed says what was expected)."""
        return parse_value(field, raw, currency=self.currency, phone_region=self.phone_region,
                           now=self._clock.now())

    def as_text(self, field: FieldDef, value: FieldValue) -> str:
        return as_text(field, value)

    def _kind(self, entity: FieldEntity) -> RecordKind:
        kind = self.kinds.get(entity)
        if kind is None:
            raise NotFound()
        return kind

    async def values(self, actor: Actor, entity: FieldEntity, record_id: int
                     ) -> list[tuple[FieldDef, FieldValue]]:
        """The live fields of a record's kind with its values (empty where none is set), in the fields' order."""
        kind = self._kind(entity)
        actor.require(kind.view)
        async with self._uow(write=False) as uow:
            await kind.check(uow, actor, record_id)
            return await self.read(uow, entity, record_id)

    @staticmethod
    async def read(uow: FieldsUnitOfWork, entity: FieldEntity, record_id: int
                   ) -> list[tuple[FieldDef, FieldValue]]:
        """Inside a caller's unit of work, which has checked that the record may be seen (the card)."""
        fields = await uow.fields.fields.listed(entity)
        stored = (await uow.fields.values.of(entity, [record_id])).get(record_id, {})
        return [(field, stored.get(field.id, FieldValue())) for field in fields]

    async def set(self, actor: Actor, entity: FieldEntity, record_id: int, answers: Mapping[int, str]
                  ) -> list[tuple[FieldDef, FieldValue]]:
        """Set some fields of one record from typed text (field id → answer; "" clears a field that is not
        required). Every answer is read first: one wrong answer changes nothing."""
        kind = self._kind(entity)
        actor.require(kind.edit)
        async with self._uow() as uow:
            await (kind.check_edit or kind.check)(uow, actor, record_id)
            await self.write(uow, actor, entity, record_id, answers)
            await uow.commit()
            return await self.read(uow, entity, record_id)

    async def write(self, uow: FieldsUnitOfWork, actor: Actor, entity: FieldEntity, record_id: int,
                    answers: Mapping[int, str], *, creating: bool = False) -> None:
        """Inside a caller's unit of work (a record being created with its fields): read, check, store, audit.
        ``creating``: every required field must have an answer."""
        fields = {f.id: f for f in await uow.fields.fields.listed(entity)}
        unknown = [field_id for field_id in answers if field_id not in fields]
        if unknown:
            raise NotFound()
        parsed = {field_id: self.parse(fields[field_id], raw) for field_id, raw in answers.items()}
        for field_id, value in parsed.items():
            if value.is_empty and fields[field_id].required:
                raise ValidationFailed("fields.required", label=fields[field_id].label(actor.locale))
        if creating:
            for field in fields.values():
                if field.required and parsed.get(field.id, FieldValue()).is_empty:
                    raise ValidationFailed("fields.required", label=field.label(actor.locale))
        before = (await uow.fields.values.of(entity, [record_id])).get(record_id, {})
        now = self._clock.now()
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for field_id, value in parsed.items():
            field = fields[field_id]
            previous = before.get(field_id, FieldValue())
            if previous == value:
                continue
            await uow.fields.values.put(entity, record_id, field, value, now)
            old[f"field_{field_id}"] = as_text(field, previous) or None
            new[f"field_{field_id}"] = as_text(field, value) or None
        if new:
            await audit.record(uow, actor.staff_id, "update", f"{entity.value}_fields", record_id, old, new)

    def missing(self, fields: Sequence[FieldDef], answers: Mapping[int, str]) -> list[FieldDef]:
        return [f for f in fields if f.required and not (answers.get(f.id) or "").strip()]

    # ---- finding customers ---------------------------------------------------------------------------------

    async def conditions(self, actor: Actor, text: str) -> list[Condition]:
        """``label op value`` parts read against the live customer fields."""
        actor.require("customers.view")
        fields = await self.listed(actor, FieldEntity.CUSTOMER)
        return parse_conditions(fields, text, currency=self.currency, phone_region=self.phone_region,
                                now=self._clock.now())

    async def find(self, actor: Actor, conditions: Sequence[Condition], page: int = 0) -> FieldPage:
        """Customers in the actor's scope meeting every condition, in the order of the first condition's value
        (its index is walked, so a page reads about a page of rows), and how many (up to ``COUNT_UP_TO``)."""
        actor.require("customers.view")
        page = max(page, 0)
        scope = actor.scope_filter("customers")
        async with self._uow(write=False) as uow:
            rows = await uow.fields.values.customers(scope, conditions, offset=page * PAGE, limit=PAGE + 1)
            count = await uow.fields.values.count_customers(scope, conditions, up_to=COUNT_UP_TO + 1) \
                if page == 0 else -1
        return FieldPage(tuple(rows[:PAGE]), count, page, len(rows) > PAGE)


def _auditable(field: FieldDef) -> dict[str, Any]:
    return {"entity": field.entity.value, "type": field.type.value, "labels": dict(field.labels),
            "choices": list(field.choices), "required": field.required, "position": field.position}


__all__ = ["CUSTOMER_KINDS", "FieldPage", "FieldService", "FieldsSection", "RecordKind", "check_choices"]


class FieldsSection:
    """The customer card's "fields" section (``CustomerService.card_sections``): the live fields with a value,
    read in the card's unit of work after the card has checked the customer may be seen."""

    name = "fields"

    async def read(self, uow: Any, actor: Actor, customer_id: int, limit: int) -> Sequence[Any]:
        if not await uow.fields.values.any_for(customer_id):  # only fields with a value are shown
            return []
        rows = await FieldService.read(uow, FieldEntity.CUSTOMER, customer_id)
        return [(field, value) for field, value in rows if not value.is_empty][:limit]
