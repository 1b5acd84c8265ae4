"""Editing the pipeline's stages: names in three languages, win probability, order; adding and removing open ones.

Stages are data (docs/sales.md, "Pipeline"). What an admin may change is bounded by what the rest of the module
relies on: the won and lost stages keep their meaning and their 100 % / 0 %, the open stages come before them,
there is always at least one open stage, and a stage with opportunities in it is not removed (they would have
nowhere to be). Removing is soft: a removed stage can be restored. Every change is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.names import clean
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.opportunities import seed_stages, stages_of
from crm.sales.opportunity_model import Outcome, Stage
from crm.sales.ports import SalesUnitOfWork
from crm.sales.pricing import parse_percent

MAX_NAME = 40
NAME_FIELDS = ("name", "name_zh_hant", "name_zh_hans")
NEW_PROBABILITY = Decimal(50)


def _auditable(stage: Stage) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in asdict(stage).items()
            if key != "id"}


def _name(text: str, *, optional: bool) -> str | None:
    value = clean(text)
    if optional and value in ("", "-"):
        return None
    if not value or len(value) > MAX_NAME:
        raise ValidationFailed("sales.stage_error_name", limit=MAX_NAME)
    return value


class StageService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def all(self, actor: Actor) -> tuple[Stage, ...]:
        actor.require("stages.manage")
        async with self._uow(write=False) as uow:
            stages = await stages_of(uow)
        if stages:
            return stages
        async with self._uow() as uow:  # a database emptied after migrating: the defaults, as the pipeline does
            await seed_stages(uow)
            await uow.commit()
            return await stages_of(uow)

    async def get(self, actor: Actor, stage_id: int) -> Stage:
        actor.require("stages.manage")
        async with self._uow(write=False) as uow:
            stage = await uow.sales.stages.get(stage_id)
        if stage is None:
            raise NotFound()
        return stage

    async def _change(self, actor: Actor, stage_id: int, **fields: Any) -> Stage:
        async with self._uow() as uow:
            before = await uow.sales.stages.get(stage_id)
            if before is None:
                raise NotFound()
            await uow.sales.stages.update(stage_id, **fields)
            after = await uow.sales.stages.get(stage_id)
            assert after is not None
            await audit.record(uow, actor.staff_id, "update", "opportunity_stage", stage_id, _auditable(before),
                               _auditable(after))
            await uow.commit()
        return after

    async def rename(self, actor: Actor, stage_id: int, field: str, text: str) -> Stage:
        """``field``: the main name, or its Traditional / Simplified Chinese name ("-" clears a translation)."""
        actor.require("stages.manage")
        if field not in NAME_FIELDS:
            raise ValidationFailed("error.stale_button")
        return await self._change(actor, stage_id, **{field: _name(text, optional=field != "name")})

    async def set_probability(self, actor: Actor, stage_id: int, text: str) -> Stage:
        """Only an open stage's: won is 100 % and lost 0 % by what they mean."""
        actor.require("stages.manage")
        probability = parse_percent(text)
        stage = await self.get(actor, stage_id)
        if not stage.is_open:
            raise ValidationFailed("sales.stage_error_closed")
        return await self._change(actor, stage_id, probability=probability)

    async def move(self, actor: Actor, stage_id: int, step: int) -> tuple[Stage, ...]:
        """One place earlier (``step`` −1) or later (+1) among the open stages; won and lost stay last."""
        actor.require("stages.manage")
        async with self._uow() as uow:
            stages = list(await stages_of(uow))
            opened = [s for s in stages if s.is_open]
            index = next((i for i, s in enumerate(opened) if s.id == stage_id), None)
            if index is None:
                if any(s.id == stage_id for s in stages):
                    raise ValidationFailed("sales.stage_error_closed")
                raise NotFound()
            target = index + (1 if step > 0 else -1)
            if 0 <= target < len(opened):
                opened[index], opened[target] = opened[target], opened[index]
                await self._renumber(uow, actor, [*opened, *(s for s in stages if not s.is_open)])
                await uow.commit()
            return await stages_of(uow)

    @staticmethod
    async def _renumber(uow: SalesUnitOfWork, actor: Actor, ordered: Sequence[Stage]) -> None:
        for position, stage in enumerate(ordered, start=1):
            sequence = position * 10
            if stage.sequence != sequence:
                await uow.sales.stages.update(stage.id, sequence=sequence)
                await audit.record(uow, actor.staff_id, "update", "opportunity_stage", stage.id,
                                   {"sequence": stage.sequence}, {"sequence": sequence})

    async def add(self, actor: Actor, name: str) -> Stage:
        """A new open stage, last of the open ones, at 50 % until its probability is set."""
        actor.require("stages.manage")
        clean_name = _name(name, optional=False)
        assert clean_name is not None
        async with self._uow() as uow:
            stages = list(await stages_of(uow))
            if any(s.name.casefold() == clean_name.casefold() for s in stages):
                raise ValidationFailed("sales.stage_error_taken", name=clean_name)
            added = await uow.sales.stages.add(Stage(
                id=0, key=f"custom-{secrets.token_hex(4)}", name=clean_name, sequence=0,
                probability=NEW_PROBABILITY, outcome=Outcome.OPEN))
            opened = [s for s in stages if s.is_open]
            await self._renumber(uow, actor, [*opened, added, *(s for s in stages if not s.is_open)])
            await audit.record(uow, actor.staff_id, "create", "opportunity_stage", added.id, {}, _auditable(added))
            after = await uow.sales.stages.get(added.id)
            assert after is not None
            await uow.commit()
        return after

    async def remove(self, actor: Actor, stage_id: int) -> None:
        """Soft. Refused for won / lost, the last open stage, and a stage with opportunities in it."""
        actor.require("stages.manage")
        async with self._uow() as uow:
            stage = await uow.sales.stages.get(stage_id)
            if stage is None:
                raise NotFound()
            if not stage.is_open:
                raise ValidationFailed("sales.stage_error_closed")
            if len([s for s in await stages_of(uow) if s.is_open]) <= 1:
                raise ValidationFailed("sales.stage_error_last")
            if count := await uow.sales.stages.count_opportunities(stage_id):
                raise ValidationFailed("sales.stage_error_in_use", count=count)
            now = self._clock.now()
            await uow.sales.stages.update(stage_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "opportunity_stage", stage_id, {"deleted_at": None},
                               {"deleted_at": now.isoformat()})
            await uow.commit()

    async def removed(self, actor: Actor) -> Sequence[Stage]:
        actor.require("stages.manage")
        async with self._uow(write=False) as uow:
            return await uow.sales.stages.deleted()

    async def restore(self, actor: Actor, stage_id: int) -> Stage:
        """Back as the last open stage."""
        actor.require("stages.manage")
        async with self._uow() as uow:
            stage = await uow.sales.stages.get(stage_id, include_deleted=True)
            if stage is None:
                raise NotFound()
            stages = list(await stages_of(uow))
            if any(s.name.casefold() == stage.name.casefold() for s in stages):
                raise ValidationFailed("sales.stage_error_taken", name=stage.name)
            await uow.sales.stages.update(stage_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "opportunity_stage", stage_id, {"deleted_at": "…"},
                               {"deleted_at": None})
            opened = [s for s in stages if s.is_open]
            await self._renumber(uow, actor, [*opened, stage, *(s for s in stages if not s.is_open)])
            after = await uow.sales.stages.get(stage_id)
            assert after is not None
            await uow.commit()
        return after
