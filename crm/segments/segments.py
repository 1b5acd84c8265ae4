"""Customer segments: a saved filter (classification, tier, region, industry, tag, no contact for N days,
owner), counted and listed on demand, and used by campaigns and analytics.

Who sees what:
- A segment's customers are always the filter AND the viewer's own customers scope. A segment is a question,
  not a list: the same segment shows a rep their customers and a manager their team's.
- A segment belongs to its creator. Colleagues' segments are visible to someone who may see colleagues'
  customers (customers scope wider than "own") and has that colleague in their staff scope — a manager sees
  their team's segments, a rep only their own. Anyone else gets "not found", as for any out-of-scope record.
- Deleting (soft, restorable) is for the creator, or for a viewer who holds customers.delete (a manager
  tidying up after a leaver).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.model import Customer
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor, Scope, ScopeFilter
from crm.segments.model import (
    MAX_NO_CONTACT_DAYS,
    MAX_VALUE_LENGTH,
    MAX_VALUES,
    Segment,
    SegmentFilter,
    SegmentQuery,
)
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

PAGE_SIZE = 8
MAX_NAME = 100  # the segments.name column
MAX_SEGMENTS_LISTED = 30
MAX_OWNER_CHOICES = 200

__all__ = ["PAGE_SIZE", "CustomerPage", "Segment", "SegmentFilter", "SegmentService", "SegmentView",
           "parse_days", "validate_filter", "visible_segment"]


@dataclass(frozen=True)
class SegmentView:
    """A segment (or an unsaved filter) with its count for this viewer and the owner names it mentions."""

    filter: SegmentFilter
    count: int
    owner_names: dict[int, str]
    segment: Segment | None = None


@dataclass(frozen=True)
class CustomerPage:
    customers: tuple[Customer, ...]
    page: int
    has_more: bool


def validate_filter(segment_filter: SegmentFilter) -> SegmentFilter:
    """Refuse what a JSON round trip would silently cut: too many values, too long values, odd day counts."""
    for f in fields(segment_filter):
        value = getattr(segment_filter, f.name)
        if isinstance(value, frozenset):
            if len(value) > MAX_VALUES:
                raise ValidationFailed("segments.too_many_values", limit=MAX_VALUES)
            if any(isinstance(v, str) and len(v) > MAX_VALUE_LENGTH for v in value):
                raise ValidationFailed("segments.value_too_long", limit=MAX_VALUE_LENGTH)
    days = segment_filter.no_contact_days
    if days is not None and not 0 < days <= MAX_NO_CONTACT_DAYS:
        raise ValidationFailed("segments.days_invalid", limit=MAX_NO_CONTACT_DAYS)
    return SegmentFilter.from_json(segment_filter.to_json())


_OFF_WORDS = frozenset({"off", "0", "關", "关", "關閉", "关闭", "不要"})
_DAY_UNITS = frozenset({"", "d", "day", "days", "天", "日"})


def parse_days(text: str, *, limit: int, allow_off: bool = True) -> int:
    """"30", "３０", "30 days", "30天"; with ``allow_off`` also "off" / "關閉" / "关闭" (= 0)."""
    value = "".join(text.split()).lower()
    if allow_off and value in _OFF_WORDS:
        return 0
    digits = "".join(ch for ch in value if ch.isdecimal())
    if digits and len(digits) <= 6 and value.replace(digits, "", 1) in _DAY_UNITS:
        number = int(digits)  # int() reads full-width digits too
        if (0 if allow_off else 1) <= number <= limit:
            return number
    raise ValidationFailed("segments.days_invalid", limit=limit)


def colleagues_scope(actor: Actor) -> ScopeFilter | None:
    """Whose segments besides their own this actor may see; None = only their own (see the module doc)."""
    if actor.scope("customers") is Scope.OWN:
        return None
    return actor.scope_filter("staff")


async def visible_segment(uow: UnitOfWork, actor: Actor, segment_id: int, *, deleted: bool = False) -> Segment:
    segment = await uow.segments.segments.get(segment_id, include_deleted=deleted)
    if segment is None or (deleted and segment.deleted_at is None):
        raise NotFound()
    if segment.owner_id != actor.staff_id:
        others = colleagues_scope(actor)
        owner = await uow.organisation.staff.get(segment.owner_id)
        if others is None or owner is None or not others.allows(owner.id, owner.department_id):
            raise NotFound()
    return segment


async def owners_in_scope(uow: UnitOfWork, actor: Actor, *, include_inactive: bool = True) -> list[Staff]:
    """Colleagues whose customers this actor may see (both the staff and the customers scope cover them)."""
    customers = actor.scope_filter("customers")
    people = await uow.organisation.staff.list(actor.scope_filter("staff"), include_inactive=include_inactive,
                                  limit=MAX_OWNER_CHOICES)
    chosen = [p for p in people if customers.allows(p.id, p.department_id)]
    if not any(p.id == actor.staff_id for p in chosen):
        me = await uow.organisation.staff.get(actor.staff_id)
        if me is not None:
            chosen.insert(0, me)
    return chosen


class SegmentService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _query(self, actor: Actor, segment_filter: SegmentFilter) -> SegmentQuery:
        return SegmentQuery(actor.scope_filter("customers"), segment_filter, self._clock.now())

    async def create(self, actor: Actor, name: str, segment_filter: SegmentFilter) -> Segment:
        actor.require("customers.view")
        clean_name = " ".join(name.split())
        if not clean_name:
            raise ValidationFailed("error.name_empty")
        if len(clean_name) > MAX_NAME:
            raise ValidationFailed("error.name_too_long", limit=MAX_NAME)
        segment_filter = validate_filter(segment_filter)
        async with self._uow() as uow:
            if await uow.segments.segments.name_taken(actor.staff_id, clean_name):
                raise Conflict("segments.name_taken", name=clean_name)
            segment = await uow.segments.segments.add(clean_name, actor.staff_id, segment_filter.to_json(),
                                             self._clock.now())
            await audit.record(uow, actor.staff_id, "create", "segment", segment.id, {},
                               {"name": clean_name, "filters": segment_filter.to_json()})
            await uow.commit()
        return segment

    async def list(self, actor: Actor) -> list[tuple[Segment, int]]:
        """The segments this actor may see, each with how many of their customers match it now."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            segments = await uow.segments.segments.list_visible(actor.staff_id, colleagues_scope(actor),
                                                       limit=MAX_SEGMENTS_LISTED)
            return [(s, await uow.segments.segments.count_customers(self._query(actor, s.filter))) for s in segments]

    async def get(self, actor: Actor, segment_id: int) -> Segment:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            return await visible_segment(uow, actor, segment_id)

    async def view(self, actor: Actor, segment_id: int) -> SegmentView:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            segment = await visible_segment(uow, actor, segment_id)
            return await self._view(uow, actor, segment.filter, segment)

    async def preview(self, actor: Actor, segment_filter: SegmentFilter) -> SegmentView:
        """The live count while a segment is being built, before it is saved."""
        actor.require("customers.view")
        segment_filter = validate_filter(segment_filter)
        async with self._uow(write=False) as uow:
            return await self._view(uow, actor, segment_filter, None)

    async def _view(self, uow: UnitOfWork, actor: Actor, segment_filter: SegmentFilter,
                    segment: Segment | None) -> SegmentView:
        count = await uow.segments.segments.count_customers(self._query(actor, segment_filter))
        names: dict[int, str] = {}
        staff_scope = actor.scope_filter("staff")
        for owner_id in sorted(segment_filter.owner_ids):
            person = await uow.organisation.staff.get(owner_id)
            if person is not None and (person.id == actor.staff_id
                                       or staff_scope.allows(person.id, person.department_id)):
                names[owner_id] = person.name
        return SegmentView(segment_filter, count, names, segment)

    async def count(self, actor: Actor, segment_id: int) -> int:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            segment = await visible_segment(uow, actor, segment_id)
            return await uow.segments.segments.count_customers(self._query(actor, segment.filter))

    async def list_customers(self, actor: Actor, segment_id: int, page: int = 0) -> CustomerPage:
        actor.require("customers.view")
        page = max(page, 0)
        async with self._uow(write=False) as uow:
            segment = await visible_segment(uow, actor, segment_id)
            rows = await uow.segments.segments.customers(self._query(actor, segment.filter), offset=page * PAGE_SIZE,
                                                limit=PAGE_SIZE + 1)
        return CustomerPage(tuple(rows[:PAGE_SIZE]), page, len(rows) > PAGE_SIZE)

    async def customer_ids(self, actor: Actor, segment_id: int) -> Sequence[int]:
        """Every customer id of the segment the actor may see: what a campaign sends to."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            segment = await visible_segment(uow, actor, segment_id)
            return await uow.segments.segments.customer_ids(self._query(actor, segment.filter))

    async def delete(self, actor: Actor, segment_id: int) -> Segment:
        """Soft delete; ``restore`` brings it back."""
        actor.require("customers.view")
        now = self._clock.now()
        async with self._uow() as uow:
            segment = await visible_segment(uow, actor, segment_id)
            self._check_may_delete(actor, segment)
            await uow.segments.segments.update(segment_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "segment", segment_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()
        return segment

    async def restore(self, actor: Actor, segment_id: int) -> Segment:
        actor.require("customers.view")
        async with self._uow() as uow:
            segment = await visible_segment(uow, actor, segment_id, deleted=True)
            self._check_may_delete(actor, segment)
            if await uow.segments.segments.name_taken(segment.owner_id, segment.name):
                raise Conflict("segments.name_taken", name=segment.name)
            await uow.segments.segments.update(segment_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "segment", segment_id,
                               {"deleted_at": segment.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return segment

    @staticmethod
    def _check_may_delete(actor: Actor, segment: Segment) -> None:
        if segment.owner_id != actor.staff_id and not actor.can("customers.delete"):
            raise PermissionDenied("segments.not_yours")

    async def owner_choices(self, actor: Actor) -> Sequence[Staff]:
        """Colleagues whose customers this actor may see: the choices of the owner filter."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            return await owners_in_scope(uow, actor)
