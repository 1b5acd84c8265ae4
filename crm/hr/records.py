"""The HR record of a staff member: the profile card, its edits, key events and the timeline.

Who sees what (docs/hr.md): everyone sees their own record; holders of ``hr.view`` see the records of the people
in their ``staff`` query scope (a manager: their department and below); ``hr.manage`` edits them and records
events. Anyone else is told the person is not found — the same answer as for an id that does not exist, so a
forged press learns nothing. Every change is audited in the same transaction.

A transfer moves the person in the department tree; a departure marks them as left and locks their login unless
they still own customers, leads or follow-ups (``StaffService.open_work``), which the chat then offers to hand
over (the segments module's handover) before the login is locked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.hr.model import (
    STATUS_AFTER,
    EmploymentStatus,
    EventKind,
    EventOutcome,
    HrEvent,
    ProfileCard,
    StaffProfile,
)
from crm.hr.ports import FileStore, HrUnitOfWork
from crm.organisation import audit
from crm.organisation.departments import ordered_tree
from crm.organisation.model import Department, Staff
from crm.organisation.permissions import Actor, Scope
from crm.organisation.ports import OpenWork
from crm.organisation.roles import KEYSTONE

VIEW, MANAGE = "hr.view", "hr.manage"
PAGE_SIZE = 8
TIMELINE_PAGE = 8
MAX_TEXT = 200
MAX_NOTE = 1000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,30}$")


def may_see(actor: Actor, person: Staff) -> bool:
    if person.id == actor.staff_id:
        return True
    return actor.can(VIEW) and actor.scope_filter("staff").allows(person.id, person.department_id)


def may_manage(actor: Actor, person: Staff) -> bool:
    return actor.can(MANAGE) and (person.id == actor.staff_id
                                  or actor.scope_filter("staff").allows(person.id, person.department_id))


def clean_value(field: str, raw: str) -> str | date | None:
    """A typed profile value, checked; "-" clears it."""
    text = " ".join(raw.split())
    if text in ("-", "—"):
        return None
    if not text:
        raise ValidationFailed("hr.error_empty")
    if len(text) > MAX_TEXT:
        raise ValidationFailed("hr.error_too_long", limit=MAX_TEXT)
    if field == "email" and not _EMAIL.match(text):
        raise ValidationFailed("hr.error_email")
    if field == "phone" and not _PHONE.match(text):
        raise ValidationFailed("hr.error_phone")
    if field == "hire_date":
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValidationFailed("hr.error_date") from exc
    return text


class HrRecordService:
    def __init__(self, uow: UnitOfWorkFactory[HrUnitOfWork], clock: Clock, *, files: FileStore,
                 open_work: ExtensionPoint[OpenWork] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        self._open_work: ExtensionPoint[OpenWork] = open_work or ExtensionPoint()

    # ---- reading ----------------------------------------------------------------------------------------------

    @staticmethod
    async def _person(uow: HrUnitOfWork, actor: Actor, staff_id: int, *, manage: bool = False) -> Staff:
        person = await uow.organisation.staff.get(staff_id)
        if person is None or person.deleted_at is not None or not may_see(actor, person):
            raise NotFound()
        if manage and not may_manage(actor, person):
            raise PermissionDenied(operation=MANAGE)
        return person

    async def people(self, actor: Actor, page: int = 0, name: str | None = None) -> tuple[Sequence[Staff], bool]:
        """The people whose record the actor may open (just themselves without ``hr.view``), by name."""
        async with self._uow(write=False) as uow:
            if name:
                found = [p for p in await uow.organisation.staff.find_by_name(name)
                         if p.deleted_at is None and may_see(actor, p)]
            elif actor.can(VIEW):
                found = list(await uow.organisation.staff.list(actor.scope_filter("staff"), include_inactive=True,
                                                               offset=max(page, 0) * PAGE_SIZE,
                                                               limit=PAGE_SIZE + 1))
                return found[:PAGE_SIZE], len(found) > PAGE_SIZE
            else:
                me = await uow.organisation.staff.get(actor.staff_id)
                found = [me] if me is not None else []
        return found[:PAGE_SIZE], len(found) > PAGE_SIZE

    async def card(self, actor: Actor, staff_id: int) -> ProfileCard:
        async with self._uow(write=False) as uow:
            person = await self._person(uow, actor, staff_id)
            profile = await uow.hr.profiles.get(staff_id) or StaffProfile(staff_id)
            department = await uow.organisation.departments.get(person.department_id)
            role = await uow.organisation.roles.get(person.role_id)
            manager = await uow.organisation.staff.get(profile.manager_id) if profile.manager_id else None
        return ProfileCard(person.id, person.name, department.name if department else "", role.name if role else "",
                           person.active, profile, manager.name if manager else None,
                           may_edit=may_manage(actor, person),
                           may_review=actor.can("reviews.manage") and person.id != actor.staff_id
                           and actor.scope_filter("staff").allows(person.id, person.department_id))

    async def timeline(self, actor: Actor, staff_id: int, page: int = 0) -> tuple[Sequence[HrEvent], bool]:
        async with self._uow(write=False) as uow:
            await self._person(uow, actor, staff_id)
            events = list(await uow.hr.events.timeline(staff_id, limit=TIMELINE_PAGE + 1,
                                                        offset=max(page, 0) * TIMELINE_PAGE))
        return events[:TIMELINE_PAGE], len(events) > TIMELINE_PAGE

    async def event(self, actor: Actor, event_id: int) -> HrEvent:
        async with self._uow(write=False) as uow:
            event = await uow.hr.events.get(event_id)
            if event is None or event.deleted_at is not None:
                raise NotFound()
            await self._person(uow, actor, event.staff_id)
        return event

    async def department_names(self, actor: Actor, ids: Sequence[int]) -> dict[int, str]:
        async with self._uow(write=False) as uow:
            return {d.id: d.name for d in await uow.organisation.departments.list_all(include_deleted=True)
                    if d.id in set(ids)}

    async def transfer_targets(self, actor: Actor, staff_id: int) -> list[tuple[int, Department]]:
        """The departments the actor may move this person into (their own tree, or all with an "all" scope)."""
        async with self._uow(write=False) as uow:
            person = await self._person(uow, actor, staff_id, manage=True)
            tree = ordered_tree(list(await uow.organisation.departments.list_all()))
        return [(depth, d) for depth, d in tree if d.id != person.department_id and self._may_move_to(actor, d.id)]

    @staticmethod
    def _may_move_to(actor: Actor, department_id: int) -> bool:
        if actor.scope("staff") is Scope.ALL:
            return True
        return department_id in actor.department_tree | {actor.department_id}

    # ---- the profile ------------------------------------------------------------------------------------------

    async def edit(self, actor: Actor, staff_id: int, field: str, value: object) -> StaffProfile:
        """Set one field: a text field as typed (checked by ``clean_value``), the manager by staff id (someone the
        actor sees), the status by its value."""
        async with self._uow() as uow:
            await self._person(uow, actor, staff_id, manage=True)
            before = await uow.hr.profiles.get(staff_id) or StaffProfile(staff_id)
            if field == "status":
                value = EmploymentStatus(str(value))
            elif field == "manager_id":
                if value is not None:
                    manager = await self._person(uow, actor, int(str(value)))
                    if manager.id == staff_id:
                        raise ValidationFailed("hr.error_own_manager")
                    value = manager.id
            elif field in ("employee_no", "title", "phone", "email", "emergency_contact", "hire_date"):
                value = clean_value(field, str(value)) if isinstance(value, str) else value
            else:
                raise ValidationFailed("hr.error_field")
            after = replace(before, **{field: value}, updated_at=self._clock.now())  # type: ignore[arg-type]
            await uow.hr.profiles.save(after)
            await audit.record(uow, actor.staff_id, "update", "staff_profile", staff_id,
                               {field: getattr(before, field)}, {field: value})
            await uow.commit()
        return after

    # ---- key events -------------------------------------------------------------------------------------------

    async def record(self, actor: Actor, staff_id: int, kind: EventKind, occurred_on: date, note: str, *,
                     to_department_id: int | None = None, file_id: str | None = None,
                     file_name: str | None = None) -> EventOutcome:
        note = " ".join(note.split())
        if len(note) > MAX_NOTE:
            raise ValidationFailed("hr.error_too_long", limit=MAX_NOTE)
        now = self._clock.now()
        async with self._uow() as uow:
            person = await self._person(uow, actor, staff_id, manage=True)
            if kind in (EventKind.TRANSFER, EventKind.DEPARTURE):
                role = await uow.organisation.roles.get(person.role_id)
                if role is not None and not role.permissions <= actor.permissions:
                    raise PermissionDenied("error.role_exceeds_yours")
            from_department = person.department_id
            if kind is EventKind.TRANSFER:
                target = await uow.organisation.departments.get(to_department_id or 0)
                if target is None or target.deleted_at is not None or not self._may_move_to(actor, target.id):
                    raise NotFound()
                if target.id == person.department_id:
                    raise ValidationFailed("hr.error_same_department")
                await uow.organisation.staff.update(staff_id, department_id=target.id)
                await audit.record(uow, actor.staff_id, "change_department", "staff", staff_id,
                                   {"department_id": from_department}, {"department_id": target.id})
            else:
                to_department_id = None
            event = await uow.hr.events.add(HrEvent(
                0, staff_id, kind, occurred_on, note, actor.staff_id, now,
                from_department_id=from_department if kind is EventKind.TRANSFER else None,
                to_department_id=to_department_id, file_id=file_id, file_name=file_name))
            profile = await uow.hr.profiles.get(staff_id) or StaffProfile(staff_id)
            status = STATUS_AFTER.get(kind, profile.status)
            hire_date = profile.hire_date or (occurred_on if kind is EventKind.HIRE else None)
            if (status, hire_date) != (profile.status, profile.hire_date):
                await uow.hr.profiles.save(replace(profile, status=status, hire_date=hire_date, updated_at=now))
            await audit.record(uow, actor.staff_id, "hr_event", "staff", staff_id, {},
                               {"event": event.id, "kind": kind.value, "on": occurred_on,
                                "department_id": to_department_id, "status": status.value})
            open_work: dict[str, int] = {}
            deactivated = False
            if kind in (EventKind.TRANSFER, EventKind.DEPARTURE):
                open_work = {k: n for k, n in (await self._owned(uow, staff_id)).items() if n}
            if kind is EventKind.DEPARTURE and not open_work and person.active:
                deactivated = await self._deactivate(uow, actor, person)
            await uow.commit()
        return EventOutcome(event, open_work, deactivated)

    async def finish_departure(self, actor: Actor, staff_id: int) -> EventOutcome | None:
        """Lock the login of someone who has left, once what they owned has been handed over; ``None`` when done."""
        async with self._uow() as uow:
            person = await self._person(uow, actor, staff_id, manage=True)
            profile = await uow.hr.profiles.get(staff_id)
            if profile is None or profile.status is not EmploymentStatus.LEFT:
                raise Conflict("hr.error_not_left")
            owned = {k: n for k, n in (await self._owned(uow, staff_id)).items() if n}
            if owned:
                events = await uow.hr.events.timeline(staff_id, limit=1)
                return EventOutcome(events[0], owned, False) if events else None
            if person.active:
                await self._deactivate(uow, actor, person)
            await uow.commit()
        return None

    async def _owned(self, uow: HrUnitOfWork, staff_id: int) -> dict[str, int]:
        owned: dict[str, int] = {}
        for check in self._open_work:
            for kind, count in (await check.count(uow, staff_id)).items():
                owned[kind] = owned.get(kind, 0) + count
        return owned

    @staticmethod
    async def _deactivate(uow: HrUnitOfWork, actor: Actor, person: Staff) -> bool:
        if person.id == actor.staff_id:
            return False  # one does not lock oneself out; an admin finishes it
        await uow.organisation.staff.update(person.id, active=False)
        if await uow.organisation.staff.count_active_with_permission(KEYSTONE) == 0:
            raise Conflict("error.last_admin")
        await audit.record(uow, actor.staff_id, "deactivate", "staff", person.id, {"active": True}, {"active": False})
        return True

    async def keep_file(self, actor: Actor, event_id: int, name: str, data: bytes) -> None:
        """A copy of the attached file under DATA_DIR (Telegram's file id stops working with another token)."""
        async with self._uow() as uow:
            event = await uow.hr.events.get(event_id)
            if event is None:
                raise NotFound()
            await self._person(uow, actor, event.staff_id, manage=True)
            path = self._files.save(event_id, name, data)
            await uow.hr.events.update(event_id, file_path=path)
            await uow.commit()
