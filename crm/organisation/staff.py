"""Staff members: list, view, move between roles and departments, deactivate, and personal preferences."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence

from crm.core import locales
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.organisation.invites import check_can_assign
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor
from crm.organisation.ports import OpenWork, OrganisationUnitOfWork
from crm.organisation.roles import KEYSTONE

PAGE_SIZE = 8


class OwnsOpenWork(Conflict):
    """Refused: the person still owns records that would be left without an owner. ``counts`` by kind
    ("customers", "leads", "followups", "opportunities", ...: whatever the modules count)."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = {kind: count for kind, count in counts.items() if count}
        # The plain rendering for a reply that knows nothing of the kinds; handlers name each kind themselves.
        super().__init__("error.owns_records", what=", ".join(f"{n} {kind}" for kind, n in self.counts.items()))


class StaffService:
    def __init__(self, uow: UnitOfWorkFactory[OrganisationUnitOfWork], clock: Clock, *,
                 open_work: ExtensionPoint[OpenWork] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self.open_work: ExtensionPoint[OpenWork] = open_work or ExtensionPoint()

    async def page(self, actor: Actor, page: int = 0, *, include_inactive: bool = True
                   ) -> tuple[Sequence[Staff], int]:
        """One page of the staff this actor may see, and the total count."""
        actor.require("users.view")
        scope = actor.scope_filter("staff")
        async with self._uow(write=False) as uow:
            total = await uow.organisation.staff.count(scope, include_inactive=include_inactive)
            rows = await uow.organisation.staff.list(scope, include_inactive=include_inactive,
                                        offset=max(page, 0) * PAGE_SIZE, limit=PAGE_SIZE)
        return rows, total

    async def get(self, actor: Actor, staff_id: int) -> Staff:
        actor.require("users.view")
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, staff_id)

    @staticmethod
    async def _visible(uow: OrganisationUnitOfWork, actor: Actor, staff_id: int) -> Staff:
        staff = await uow.organisation.staff.get(staff_id)
        if staff is None or staff.deleted_at is not None:
            raise NotFound()
        if staff.id != actor.staff_id and not actor.scope_filter("staff").allows(staff.id, staff.department_id):
            raise NotFound()
        return staff

    async def change_role(self, actor: Actor, staff_id: int, role_id: int) -> None:
        actor.require("users.manage")
        async with self._uow() as uow:
            staff = await self._visible(uow, actor, staff_id)
            await self._check_outranks(uow, actor, staff)
            await check_can_assign(uow, actor, role_id, staff.department_id)
            await uow.organisation.staff.update(staff_id, role_id=role_id)
            await self._keep_keystone(uow)
            await audit.record(uow, actor.staff_id, "change_role", "staff", staff_id,
                               {"role_id": staff.role_id}, {"role_id": role_id})
            await uow.commit()

    async def change_department(self, actor: Actor, staff_id: int, department_id: int) -> None:
        actor.require("users.manage")
        async with self._uow() as uow:
            staff = await self._visible(uow, actor, staff_id)
            await self._check_outranks(uow, actor, staff)
            await check_can_assign(uow, actor, staff.role_id, department_id)
            await uow.organisation.staff.update(staff_id, department_id=department_id)
            await audit.record(uow, actor.staff_id, "change_department", "staff", staff_id,
                               {"department_id": staff.department_id}, {"department_id": department_id})
            await uow.commit()

    async def set_active(self, actor: Actor, staff_id: int, active: bool) -> Staff:
        """Deactivation takes effect on the user's very next update. It is refused while the person still
        owns customers, open leads or open follow-ups: those are handed over first, never left ownerless."""
        actor.require("users.manage")
        async with self._uow() as uow:
            staff = await self._visible(uow, actor, staff_id)
            if staff.id == actor.staff_id and not active:
                raise Conflict("error.cannot_deactivate_self")
            await self._check_outranks(uow, actor, staff)
            if not active:
                owned = await self._open_work(uow, staff_id)
                if any(owned.values()):
                    raise OwnsOpenWork(owned)
            await uow.organisation.staff.update(staff_id, active=active)
            await self._keep_keystone(uow)
            await audit.record(uow, actor.staff_id, "activate" if active else "deactivate", "staff", staff_id,
                               {"active": staff.active}, {"active": active})
            updated = await uow.organisation.staff.get(staff_id)
            await uow.commit()
        if updated is None:
            raise NotFound()
        return updated

    async def open_work_of(self, actor: Actor, staff_id: int) -> dict[str, int]:
        """What this person still owns that would be left without an owner, by kind (asked before deactivating)."""
        actor.require("users.manage")
        async with self._uow(write=False) as uow:
            await self._visible(uow, actor, staff_id)
            return await self._open_work(uow, staff_id)

    async def _open_work(self, uow: OrganisationUnitOfWork, staff_id: int) -> dict[str, int]:
        owned: dict[str, int] = {}
        for check in self.open_work:
            for kind, count in (await check.count(uow, staff_id)).items():
                owned[kind] = owned.get(kind, 0) + count
        return owned

    async def set_locale(self, actor: Actor, locale: str) -> None:
        if locale not in locales.SUPPORTED:
            raise ValidationFailed("error.unknown_language")
        await self._set_own(actor, "locale", locale)

    async def set_timezone(self, actor: Actor, timezone: str) -> str:
        name = timezone.strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed("error.unknown_timezone", value=name[:60]) from exc
        await self._set_own(actor, "timezone", name)
        return name

    async def _set_own(self, actor: Actor, field: str, value: str) -> None:
        async with self._uow() as uow:
            staff = await uow.organisation.staff.get(actor.staff_id)
            if staff is None:
                raise NotFound()
            await uow.organisation.staff.update(actor.staff_id, **{field: value})
            await audit.record(uow, actor.staff_id, "set_" + field, "staff", actor.staff_id,
                               {field: getattr(staff, field)}, {field: value})
            await uow.commit()

    @staticmethod
    async def _check_outranks(uow: OrganisationUnitOfWork, actor: Actor, staff: Staff) -> None:
        """A manager may not change or lock out someone who holds more than they do."""
        role = await uow.organisation.roles.get(staff.role_id)
        if role is not None and not role.permissions <= actor.permissions:
            raise PermissionDenied("error.role_exceeds_yours")

    @staticmethod
    async def _keep_keystone(uow: OrganisationUnitOfWork) -> None:
        if await uow.organisation.staff.count_active_with_permission(KEYSTONE) == 0:
            raise Conflict("error.last_admin")
