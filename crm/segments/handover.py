"""Handover: a manager moves one rep's customers, open leads and open follow-ups to another rep at once.

- "All" moves every customer the rep owns (the trash too: a restored customer must have an active owner),
  their open leads and every open follow-up they own. Afterwards they own no open work, which is what
  deactivation requires.
- A segment moves only that segment's customers of the rep (as the manager sees the segment) and the rep's
  open follow-ups on them; leads are not customers, so they stay.
- Closed work (done follow-ups, converted or dropped leads) keeps its owner: it records who did it.

Needs customers.handover; both people must be in the actor's staff scope and customers scope (out of scope =
not found), the receiver must be active. One unit of work: every moved record gets its own audit row
(owner before/after) plus one summary row on the person handed over from.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.clock import Clock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor
from crm.segments.model import MovedItems, OwnedCounts, Segment, SegmentQuery
from crm.segments.segments import owners_in_scope, visible_segment
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

PAGE_SIZE = 8


@dataclass(frozen=True)
class HandoverPreview:
    from_staff: Staff
    to_staff: Staff
    segment: Segment | None
    counts: OwnedCounts


@dataclass(frozen=True)
class HandoverResult:
    from_staff: Staff
    to_staff: Staff
    segment: Segment | None
    moved: MovedItems

    @property
    def counts(self) -> OwnedCounts:
        return self.moved.counts


@dataclass(frozen=True)
class Candidate:
    staff: Staff
    owned: OwnedCounts


async def _person(uow: UnitOfWork, actor: Actor, staff_id: int) -> Staff:
    """A colleague whose records the actor may move: in both the staff and the customers scope."""
    person = await uow.organisation.staff.get(staff_id)
    if person is None or person.deleted_at is not None:
        raise NotFound()
    if person.id != actor.staff_id and not (
            actor.scope_filter("staff").allows(person.id, person.department_id)
            and actor.scope_filter("customers").allows(person.id, person.department_id)):
        raise NotFound()
    return person


class HandoverService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def candidates(self, actor: Actor, page: int = 0) -> tuple[list[Candidate], int]:
        """People one may hand over from (deactivated ones too: that is when it matters), with what they own."""
        actor.require("customers.handover")
        async with self._uow(write=False) as uow:
            people = await owners_in_scope(uow, actor)
            start = max(page, 0) * PAGE_SIZE
            shown = people[start:start + PAGE_SIZE]
            owned = await uow.segments.ownership.owned_by([p.id for p in shown])
        return [Candidate(p, owned.get(p.id, OwnedCounts())) for p in shown], len(people)

    async def receivers(self, actor: Actor, from_staff_id: int) -> tuple[Staff, list[Staff]]:
        """The person handing over, and the active colleagues who may receive their records."""
        actor.require("customers.handover")
        async with self._uow(write=False) as uow:
            giver = await _person(uow, actor, from_staff_id)
            people = await owners_in_scope(uow, actor, include_inactive=False)
        return giver, [p for p in people if p.id != giver.id and p.active]

    async def owned(self, actor: Actor, staff_id: int) -> tuple[Staff, OwnedCounts]:
        """What a person still owns; asked before deactivating them (hence users.manage is enough)."""
        if not (actor.can("customers.handover") or actor.can("users.manage")):
            raise PermissionDenied(operation="customers.handover")
        async with self._uow(write=False) as uow:
            person = await uow.organisation.staff.get(staff_id)
            if person is None or person.deleted_at is not None or (
                    person.id != actor.staff_id
                    and not actor.scope_filter("staff").allows(person.id, person.department_id)):
                raise NotFound()
            return person, await uow.segments.ownership.owned(staff_id, None)

    async def _plan(self, uow: UnitOfWork, actor: Actor, from_staff_id: int, to_staff_id: int,
                    segment_id: int | None) -> tuple[Staff, Staff, Segment | None, SegmentQuery | None]:
        actor.require("customers.handover")
        if from_staff_id == to_staff_id:
            raise ValidationFailed("segments.handover_same_person")
        giver = await _person(uow, actor, from_staff_id)
        receiver = await _person(uow, actor, to_staff_id)
        if not receiver.active:
            raise ValidationFailed("segments.handover_inactive_receiver", name=receiver.name)
        segment = await visible_segment(uow, actor, segment_id) if segment_id is not None else None
        query = (SegmentQuery(actor.scope_filter("customers"), segment.filter, self._clock.now())
                 if segment is not None else None)
        return giver, receiver, segment, query

    async def preview(self, actor: Actor, from_staff_id: int, to_staff_id: int,
                      segment_id: int | None = None) -> HandoverPreview:
        async with self._uow(write=False) as uow:
            giver, receiver, segment, query = await self._plan(uow, actor, from_staff_id, to_staff_id, segment_id)
            counts = await uow.segments.ownership.owned(giver.id, query)
        return HandoverPreview(giver, receiver, segment, counts)

    async def execute(self, actor: Actor, from_staff_id: int, to_staff_id: int,
                      segment_id: int | None = None) -> HandoverResult:
        """Move everything in one transaction; returns the ids moved so both people can be told."""
        now = self._clock.now()
        async with self._uow() as uow:
            giver, receiver, segment, query = await self._plan(uow, actor, from_staff_id, to_staff_id, segment_id)
            moved = await uow.segments.ownership.reassign(giver.id, receiver.id, query, now)
            await uow.segments.ownership.record_moves(actor.staff_id, moved, giver.id, receiver.id, now)
            counts = moved.counts
            await audit.record(uow, actor.staff_id, "handover", "staff", giver.id, {}, {
                "to_staff_id": receiver.id, "segment_id": segment.id if segment else None,
                "customers": counts.customers + counts.trashed, "leads": counts.leads,
                "followups": counts.followups,
            })
            await uow.commit()
        return HandoverResult(giver, receiver, segment, moved)

