"""Opportunities: create on a customer, read, edit, move through the stages, and the pipeline by stage.

Who may do what (docs/sales.md, "The pipeline"):
- ``sales.view`` to see opportunities, within the ``sales`` query scope of their owner (a rep: their own; a
  manager: their department tree). Out of scope is "not found", also for a forged button press.
- ``sales.create`` to open one on a customer the actor may see (they own it) and to work their own: edit it,
  move its stage. ``sales.edit`` to change colleagues' opportunities within the scope as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import date
from decimal import Decimal
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.money import Money
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.fields.fields import FieldService, RecordKind
from crm.fields.model import FieldDef, FieldEntity, FieldValue
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import clean_amount, clean_currency
from crm.sales.events import OpportunityLost, OpportunityWon
from crm.sales.opportunity_model import (
    DEFAULT_STAGES,
    Opportunity,
    OpportunityCard,
    OpportunityFields,
    Outcome,
    Pipeline,
    Stage,
    lost_reason,
    summarise,
)
from crm.sales.ports import SalesUnitOfWork

PAGE = 8
LIMITS = {"title": 200, "source": 100}
EDITABLE = ("title", "amount", "currency", "close_date", "source")
_FIELDS = tuple(f.name for f in fields(OpportunityFields))


def _text(value: Any, field: str, *, required: bool = False) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        if required:
            raise ValidationFailed("error.field_required", field=field)
        return None
    if len(text) > LIMITS[field]:
        raise ValidationFailed("error.field_too_long", field=field, limit=LIMITS[field])
    return text


def clean(draft: OpportunityFields) -> OpportunityFields:
    if draft.close_date is not None and not isinstance(draft.close_date, date):
        raise ValidationFailed("sales.opp_error_date")
    return OpportunityFields(
        customer_id=int(draft.customer_id), title=_text(draft.title, "title", required=True) or "",
        amount=clean_amount(draft.amount, "amount"), currency=clean_currency(draft.currency),
        close_date=draft.close_date, source=_text(draft.source, "source"))


def _plain(value: Any) -> Any:
    """Dates as ISO text: the audit log is JSON."""
    return value.isoformat() if isinstance(value, date) else value


def auditable(opportunity: OpportunityFields) -> dict[str, Any]:
    values = {name: _plain(getattr(opportunity, name)) for name in _FIELDS}
    for name in ("stage_id", "owner_id", "lost_reason"):
        if hasattr(opportunity, name):
            values[name] = getattr(opportunity, name)
    return values


async def stages_of(uow: SalesUnitOfWork) -> tuple[Stage, ...]:
    return tuple(await uow.sales.stages.all())


async def seed_stages(uow: SalesUnitOfWork) -> bool:
    """The default stages when there are none. Migration 0010 seeds them; a database emptied after migrating (a
    PostgreSQL test database truncated between tests) gets them again rather than a pipeline with nowhere to put
    anything."""
    if await uow.sales.stages.all():
        return False
    for values in DEFAULT_STAGES:
        await uow.sales.stages.add(Stage(
            id=0, key=str(values["key"]), name=str(values["name"]), sequence=int(str(values["sequence"])),
            probability=Decimal(str(values["probability"])), outcome=Outcome(str(values["outcome"])),
            name_zh_hant=str(values["name_zh_hant"]), name_zh_hans=str(values["name_zh_hans"])))
    return True


async def visible_opportunity(uow: Any, actor: Actor, opportunity_id: int) -> Opportunity:
    """The opportunity if it is within the actor's ``sales`` scope (its owner's); "not found" otherwise."""
    opportunity: Opportunity | None = await uow.sales.opportunities.get(opportunity_id)
    if opportunity is None:
        raise NotFound()
    owner = await uow.organisation.staff.get(opportunity.owner_id)
    department = owner.department_id if owner is not None else None
    if not actor.scope_filter("sales").allows(opportunity.owner_id, department):
        raise NotFound()
    return opportunity


async def changeable_opportunity(uow: Any, actor: Actor, opportunity_id: int) -> Opportunity:
    """One's own with sales.create; a colleague's (in scope) only with sales.edit."""
    if not (actor.can("sales.create") or actor.can("sales.edit")):
        raise PermissionDenied(operation="sales.edit")
    opportunity = await visible_opportunity(uow, actor, opportunity_id)
    if opportunity.owner_id != actor.staff_id:
        actor.require("sales.edit")
    return opportunity


# The custom fields of opportunities (docs/fields.md): seen with sales.view in the sales scope, set by whoever
# may change the opportunity.
OPPORTUNITY_KIND = RecordKind(FieldEntity.OPPORTUNITY, "sales.view", "sales.view", visible_opportunity,
                              check_edit=changeable_opportunity)


def open_ids(stages: Sequence[Stage]) -> list[int]:
    return [s.id for s in stages if s.is_open]


class OpportunityService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, *, currency: str = "TWD") -> None:
        self._uow = uow
        self._clock = clock
        self.currency = currency  # an amount typed without a currency is in this one
        self._seeded = False
        self.fields: FieldService | None = None  # the custom fields, saved with a new opportunity, on its card

    async def _ready(self) -> None:
        """Once per process: make sure there are stages (``seed_stages``)."""
        if self._seeded:
            return
        async with self._uow() as uow:
            if await seed_stages(uow):
                await uow.commit()
        self._seeded = True

    async def stages(self, actor: Actor) -> tuple[Stage, ...]:
        actor.require("sales.view")
        await self._ready()
        async with self._uow(write=False) as uow:
            return await stages_of(uow)

    async def create(self, actor: Actor, draft: OpportunityFields, custom: Mapping[int, str] | None = None
                     ) -> Opportunity:
        """``custom``: the custom fields' answers (field id → text), checked and saved in the same transaction
        (a required field without an answer refuses the whole opportunity)."""
        actor.require("sales.create")
        fields_ = clean(draft)
        now = self._clock.now()
        await self._ready()
        async with self._uow() as uow:
            await visible_customer(uow, actor, fields_.customer_id)
            first = min((s for s in await stages_of(uow) if s.is_open), key=lambda s: (s.sequence, s.id))
            opportunity = await uow.sales.opportunities.add(Opportunity(
                **asdict(fields_), id=0, owner_id=actor.staff_id, stage_id=first.id, created_at=now,
                updated_at=now))
            await audit.record(uow, actor.staff_id, "create", "opportunity", opportunity.id, {},
                               auditable(opportunity))
            if self.fields is not None:
                await self.fields.write(uow, actor, FieldEntity.OPPORTUNITY, opportunity.id, custom or {},
                                        creating=True)
            await uow.commit()
        return opportunity

    async def _visible(self, uow: SalesUnitOfWork, actor: Actor, opportunity_id: int) -> Opportunity:
        return await visible_opportunity(uow, actor, opportunity_id)

    async def _changeable(self, uow: SalesUnitOfWork, actor: Actor, opportunity_id: int) -> Opportunity:
        return await changeable_opportunity(uow, actor, opportunity_id)

    async def get(self, actor: Actor, opportunity_id: int) -> Opportunity:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, opportunity_id)

    async def card(self, actor: Actor, opportunity_id: int) -> OpportunityCard:
        actor.require("sales.view")
        await self._ready()
        async with self._uow(write=False) as uow:
            opportunity = await self._visible(uow, actor, opportunity_id)
            stages = await stages_of(uow)
            customer = await uow.customers.customers.get(opportunity.customer_id, include_deleted=True)
            owner = await uow.organisation.staff.get(opportunity.owner_id)
            custom: tuple[tuple[FieldDef, FieldValue], ...] = ()
            if self.fields is not None and await uow.fields.values.any_for(opportunity_id):
                custom = tuple((field, value) for field, value in
                               await FieldService.read(uow, FieldEntity.OPPORTUNITY, opportunity_id)
                               if not value.is_empty)
        stage = next((s for s in stages if s.id == opportunity.stage_id), None)
        if stage is None:
            raise NotFound()
        return OpportunityCard(opportunity, stage, customer.name if customer else "?", owner.name if owner else "?",
                               stages, custom)

    async def update(self, actor: Actor, opportunity_id: int, changes: Mapping[str, Any]) -> Opportunity:
        """Edit fields, checked as on creation; the stage moves only through ``move``."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValidationFailed("error.invalid")
        async with self._uow() as uow:
            before = await self._changeable(uow, actor, opportunity_id)
            merged = {name: getattr(before, name) for name in _FIELDS} | dict(changes)
            after = clean(OpportunityFields(**merged))
            changed = {k: getattr(after, k) for k in changes if getattr(after, k) != getattr(before, k)}
            if changed:
                await uow.sales.opportunities.update(opportunity_id, **changed, updated_at=self._clock.now())
                await audit.record(uow, actor.staff_id, "update", "opportunity", opportunity_id,
                                   {k: _plain(getattr(before, k)) for k in changed},
                                   {k: _plain(v) for k, v in changed.items()})
            result = await uow.sales.opportunities.get(opportunity_id)
            await uow.commit()
        if result is None:
            raise NotFound()
        return result

    async def move(self, actor: Actor, opportunity_id: int, stage_id: int, reason: str | None = None
                   ) -> Opportunity:
        """To any stage; a lost one needs the reason. Closing records OpportunityWon / OpportunityLost;
        moving a closed one back to an open stage reopens it (and forgets the lost reason)."""
        now = self._clock.now()
        await self._ready()
        async with self._uow() as uow:
            before = await self._changeable(uow, actor, opportunity_id)
            stages = {s.id: s for s in await stages_of(uow)}
            target = stages.get(stage_id)
            if target is None:
                raise NotFound()
            why = lost_reason(target, reason)
            if target.id == before.stage_id and why == before.lost_reason:
                return before
            closed_at = None if target.is_open else now
            await uow.sales.opportunities.update(opportunity_id, stage_id=target.id, lost_reason=why,
                                                 closed_at=closed_at, updated_at=now)
            await audit.record(uow, actor.staff_id, "move", "opportunity", opportunity_id,
                               {"stage_id": before.stage_id, "lost_reason": before.lost_reason},
                               {"stage_id": target.id, "lost_reason": why})
            if target.outcome is Outcome.WON:
                uow.record(OpportunityWon(occurred_at=now, opportunity_id=opportunity_id,
                                          customer_id=before.customer_id, owner_id=before.owner_id,
                                          by_staff_id=actor.staff_id, amount=before.amount, currency=before.currency))
            elif target.outcome is Outcome.LOST and why is not None:
                uow.record(OpportunityLost(occurred_at=now, opportunity_id=opportunity_id,
                                           customer_id=before.customer_id, owner_id=before.owner_id,
                                           by_staff_id=actor.staff_id, amount=before.amount,
                                           currency=before.currency, reason=why))
            result = await uow.sales.opportunities.get(opportunity_id)
            await uow.commit()
        if result is None:
            raise NotFound()
        return result

    async def pipeline(self, actor: Actor, *, team: bool = False) -> Pipeline:
        """Open opportunities by stage: the actor's own, or (``team``) everyone's in their sales scope."""
        actor.require("sales.view")
        await self._ready()
        async with self._uow(write=False) as uow:
            stages = await stages_of(uow)
            rows = await uow.sales.opportunities.open_values(
                actor.scope_filter("sales"), None if team else actor.staff_id, open_ids(stages))
        return summarise(stages, ((stage_id, Money(amount, currency)) for stage_id, amount, currency in rows), team)

    async def in_stage(self, actor: Actor, stage_id: int, *, team: bool = False, page: int = 0
                       ) -> tuple[Stage, Sequence[tuple[Opportunity, str]], bool]:
        actor.require("sales.view")
        await self._ready()
        async with self._uow(write=False) as uow:
            stage = next((s for s in await stages_of(uow) if s.id == stage_id), None)
            if stage is None:
                raise NotFound()
            rows = await uow.sales.opportunities.in_stage(
                actor.scope_filter("sales"), None if team else actor.staff_id, stage_id,
                offset=max(page, 0) * PAGE, limit=PAGE + 1)
        return stage, rows[:PAGE], len(rows) > PAGE
