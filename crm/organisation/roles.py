"""Roles are data: each company edits them in chat. Guards keep a company from locking itself out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied
from crm.organisation import audit
from crm.organisation.departments import clean_name
from crm.organisation.model import Role
from crm.organisation.permissions import OPERATION_SET, SCOPE_AREAS, SCOPE_ORDER, Actor, Scope
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

# The permission that keeps the organisation manageable; at least one active person must always hold it.
KEYSTONE = "roles.manage"


class RoleService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def list(self, actor: Actor) -> Sequence[Role]:
        actor.require("roles.manage")
        async with self._uow(write=False) as uow:
            return await uow.organisation.roles.list_all()

    async def assignable(self, actor: Actor) -> Sequence[Role]:
        """Roles this actor may hand out (invites, role changes): never more than they hold themselves."""
        if not (actor.can("users.invite") or actor.can("users.manage")):
            raise PermissionDenied(operation="users.invite")
        async with self._uow(write=False) as uow:
            roles = await uow.organisation.roles.list_all()
        return [r for r in roles if r.permissions <= actor.permissions]

    async def get(self, actor: Actor, role_id: int) -> Role:
        actor.require("roles.manage")
        async with self._uow(write=False) as uow:
            return await self._get(uow, role_id)

    async def member_count(self, actor: Actor, role_id: int) -> int:
        actor.require("roles.manage")
        async with self._uow(write=False) as uow:
            return await uow.organisation.roles.count_members(role_id)

    @staticmethod
    async def _get(uow: UnitOfWork, role_id: int) -> Role:
        role = await uow.organisation.roles.get(role_id)
        if role is None or role.deleted_at is not None:
            raise NotFound()
        return role

    async def create(self, actor: Actor, name: str, copy_from: int | None = None) -> Role:
        actor.require("roles.manage")
        name = clean_name(name)
        async with self._uow() as uow:
            if await uow.organisation.roles.get_by_name(name) is not None:
                raise Conflict("error.role_name_taken", name=name)
            if copy_from is not None:
                source = await self._get(uow, copy_from)
                permissions, scopes = source.permissions & actor.permissions, dict(source.scopes)
            else:
                permissions, scopes = frozenset(), dict.fromkeys(SCOPE_AREAS, Scope.OWN)
            role = await uow.organisation.roles.add(name, permissions, scopes)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "create", "role", role.id, {},
                               {"name": name, "permissions": permissions, "scopes": scopes,
                                "copied_from": copy_from})
            await uow.commit()
        return role

    async def rename(self, actor: Actor, role_id: int, name: str) -> Role:
        actor.require("roles.manage")
        name = clean_name(name)
        async with self._uow() as uow:
            role = await self._get(uow, role_id)
            other = await uow.organisation.roles.get_by_name(name)
            if other is not None and other.id != role_id:
                raise Conflict("error.role_name_taken", name=name)
            saved = await self._save(uow, actor, role, replace(role, name=name))
            await uow.commit()
        return saved

    async def toggle_permission(self, actor: Actor, role_id: int, operation: str) -> Role:
        actor.require("roles.manage")
        if operation not in OPERATION_SET:
            raise NotFound()
        async with self._uow() as uow:
            role = await self._get(uow, role_id)
            if operation in role.permissions:
                permissions = role.permissions - {operation}
            else:
                if operation not in actor.permissions:
                    raise PermissionDenied("error.grant_exceeds_yours")
                permissions = role.permissions | {operation}
            updated = replace(role, permissions=permissions)
            saved = await self._save(uow, actor, role, updated)
            if operation == KEYSTONE and await uow.organisation.staff.count_active_with_permission(KEYSTONE) == 0:
                raise Conflict("error.last_admin")
            await uow.commit()
        return saved

    async def set_scope(self, actor: Actor, role_id: int, area: str, scope: Scope) -> Role:
        actor.require("roles.manage")
        if area not in SCOPE_AREAS:
            raise NotFound()
        async with self._uow() as uow:
            role = await self._get(uow, role_id)
            if SCOPE_ORDER.index(scope) > SCOPE_ORDER.index(actor.scope(area)):
                raise PermissionDenied("error.grant_exceeds_yours")
            updated = replace(role, scopes={**role.scopes, area: scope})
            saved = await self._save(uow, actor, role, updated)
            await uow.commit()
        return saved

    async def cycle_scope(self, actor: Actor, role_id: int, area: str) -> Role:
        """One button press moves the scope one step wider, wrapping back to 'own'."""
        role = await self.get(actor, role_id)
        current = role.scopes.get(area, Scope.OWN)
        nxt = SCOPE_ORDER[(SCOPE_ORDER.index(current) + 1) % len(SCOPE_ORDER)]
        if SCOPE_ORDER.index(nxt) > SCOPE_ORDER.index(actor.scope(area)):
            nxt = Scope.OWN
        return await self.set_scope(actor, role_id, area, nxt)

    async def delete(self, actor: Actor, role_id: int) -> None:
        actor.require("roles.manage")
        async with self._uow() as uow:
            role = await self._get(uow, role_id)
            if role.is_system:
                raise Conflict("error.role_is_system")
            if await uow.organisation.roles.count_members(role_id):
                raise Conflict("error.role_has_members")
            now = self._clock.now()
            await uow.organisation.roles.soft_delete(role_id, now)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "delete", "role", role_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()

    async def deleted(self, actor: Actor) -> Sequence[Role]:
        actor.require("roles.manage")
        async with self._uow(write=False) as uow:
            return await uow.organisation.roles.list_all(deleted=True)

    async def restore(self, actor: Actor, role_id: int) -> Role:
        """Undo a delete; refused if another role has taken the name meanwhile."""
        actor.require("roles.manage")
        async with self._uow() as uow:
            role = await uow.organisation.roles.get(role_id)
            if role is None or role.deleted_at is None:
                raise NotFound()
            if await uow.organisation.roles.get_by_name(role.name) is not None:
                raise Conflict("error.role_name_taken", name=role.name)
            await uow.organisation.roles.restore(role_id)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "restore", "role", role_id, {"deleted_at": role.deleted_at},
                               {"deleted_at": None})
            restored = await uow.organisation.roles.get(role_id)
            await uow.commit()
        if restored is None:
            raise NotFound()
        return restored

    async def _save(self, uow: UnitOfWork, actor: Actor, before: Role, after: Role) -> Role:
        saved = await uow.organisation.roles.save(after)
        await uow.organisation.state.bump()
        await audit.record(uow, actor.staff_id, "update", "role", before.id,
                           {"name": before.name, "permissions": before.permissions, "scopes": before.scopes},
                           {"name": after.name, "permissions": after.permissions, "scopes": after.scopes})
        return saved
