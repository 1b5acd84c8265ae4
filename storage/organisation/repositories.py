"""Repositories for the organisation: departments, roles, staff, invites, audit, org version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.organisation.model import AuditEntry, Department, Invite, LoginInfo, Role, Staff
from crm.organisation.permissions import Scope, ScopeFilter
from storage import tables as t
from storage.prepared import Prepared


def scope_clause(scope: ScopeFilter, owner_col: ColumnElement[Any],
                 owner_department_col: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """WHERE clause for a query scope. ``owner_department_col`` is the owner's department where the query
    already joins it; otherwise a subquery over staff finds the owners in those departments."""
    if scope.everything:
        return owner_col.is_not(None) | owner_col.is_(None)
    clause: ColumnElement[bool] = owner_col == scope.owner_id
    if scope.department_ids:
        if owner_department_col is not None:
            clause = clause | owner_department_col.in_(sorted(scope.department_ids))
        else:
            owners = select(t.staff.c.id).where(t.staff.c.department_id.in_(sorted(scope.department_ids)))
            clause = clause | owner_col.in_(owners)
    return clause


class SqlDepartmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _map(row: Row[Any]) -> Department:
        return Department(row.id, row.name, row.parent_id, row.deleted_at)

    async def get(self, department_id: int) -> Department | None:
        row = (await self._c.execute(select(t.departments).where(t.departments.c.id == department_id))).first()
        return self._map(row) if row else None

    async def list_all(self, *, include_deleted: bool = False) -> Sequence[Department]:
        q = select(t.departments).order_by(t.departments.c.id)
        if not include_deleted:
            q = q.where(t.departments.c.deleted_at.is_(None))
        return [self._map(r) for r in await self._c.execute(q)]

    async def add(self, name: str, parent_id: int | None) -> Department:
        new_id = (await self._c.execute(
            insert(t.departments).values(name=name, parent_id=parent_id).returning(t.departments.c.id)
        )).scalar_one()
        return Department(new_id, name, parent_id)

    async def update(self, department_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.departments).where(t.departments.c.id == department_id).values(**fields))

    async def count_members(self, department_id: int) -> int:
        q = select(func.count()).select_from(t.staff).where(
            t.staff.c.department_id == department_id, t.staff.c.deleted_at.is_(None), t.staff.c.active.is_(True))
        return int((await self._c.execute(q)).scalar_one())


class SqlRoleRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _map(row: Row[Any]) -> Role:
        return Role(
            id=row.id,
            name=row.name,
            permissions=frozenset(row.permissions),
            scopes={area: Scope(value) for area, value in row.scopes.items()},
            is_system=row.is_system,
            version=row.version,
            deleted_at=row.deleted_at,
        )

    async def get(self, role_id: int) -> Role | None:
        row = (await self._c.execute(select(t.roles).where(t.roles.c.id == role_id))).first()
        return self._map(row) if row else None

    async def get_by_name(self, name: str) -> Role | None:
        row = (await self._c.execute(
            select(t.roles).where(func.lower(t.roles.c.name) == name.lower(), t.roles.c.deleted_at.is_(None))
        )).first()
        return self._map(row) if row else None

    async def list_all(self, *, deleted: bool = False) -> Sequence[Role]:
        which = t.roles.c.deleted_at.is_not(None) if deleted else t.roles.c.deleted_at.is_(None)
        q = select(t.roles).where(which).order_by(t.roles.c.id)
        return [self._map(r) for r in await self._c.execute(q)]

    async def add(self, name: str, permissions: frozenset[str], scopes: Mapping[str, Scope],
                  *, is_system: bool = False) -> Role:
        new_id = (await self._c.execute(insert(t.roles).values(
            name=name, permissions=sorted(permissions), scopes={k: v.value for k, v in scopes.items()},
            is_system=is_system, version=1,
        ).returning(t.roles.c.id))).scalar_one()
        return Role(new_id, name, permissions, dict(scopes), is_system, 1)

    async def save(self, role: Role) -> Role:
        version = (await self._c.execute(
            update(t.roles).where(t.roles.c.id == role.id).values(
                name=role.name,
                permissions=sorted(role.permissions),
                scopes={k: v.value for k, v in role.scopes.items()},
                version=t.roles.c.version + 1,
            ).returning(t.roles.c.version)
        )).scalar_one()
        return Role(role.id, role.name, role.permissions, dict(role.scopes), role.is_system, version)

    async def soft_delete(self, role_id: int, at: datetime) -> None:
        await self._c.execute(update(t.roles).where(t.roles.c.id == role_id).values(
            deleted_at=at, version=t.roles.c.version + 1))

    async def restore(self, role_id: int) -> None:
        await self._c.execute(update(t.roles).where(t.roles.c.id == role_id).values(
            deleted_at=None, version=t.roles.c.version + 1))

    async def count_members(self, role_id: int) -> int:
        q = select(func.count()).select_from(t.staff).where(
            t.staff.c.role_id == role_id, t.staff.c.deleted_at.is_(None), t.staff.c.active.is_(True))
        return int((await self._c.execute(q)).scalar_one())


# Statements on the path of every update, built once: building a select() costs as much as running it.
_STAFF_BY_ID = select(t.staff).where(t.staff.c.id == bindparam("id"))
_STAFF_BY_TELEGRAM = select(t.staff).where(t.staff.c.telegram_user_id == bindparam("tg"))
_LOGIN = Prepared(
    select(t.staff, t.roles.c.version.label("role_version"),
           select(t.org_state.c.version).where(t.org_state.c.id == 1).scalar_subquery().label("org_version"))
    .join(t.roles, t.roles.c.id == t.staff.c.role_id)
    .where(t.staff.c.telegram_user_id == bindparam("tg")),
    memo=256,  # the team's logins, read on every update and nearly always unchanged
)


class SqlStaffRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _map(row: Row[Any]) -> Staff:
        return Staff(
            id=row.id, name=row.name, role_id=row.role_id, department_id=row.department_id,
            telegram_user_id=row.telegram_user_id, username=row.username, locale=row.locale,
            timezone=row.timezone, active=row.active, created_at=row.created_at, deleted_at=row.deleted_at,
        )

    async def get(self, staff_id: int) -> Staff | None:
        row = (await self._c.execute(_STAFF_BY_ID, {"id": staff_id})).first()
        return self._map(row) if row else None

    async def get_by_telegram_id(self, telegram_user_id: int) -> Staff | None:
        row = (await self._c.execute(_STAFF_BY_TELEGRAM, {"tg": telegram_user_id})).first()
        return self._map(row) if row else None

    async def get_login(self, telegram_user_id: int) -> LoginInfo | None:
        row = await _LOGIN.first(self._c, {"tg": telegram_user_id})  # every update: the fast path
        if row is None:
            return None
        return LoginInfo(self._map(row), row.role_version, row.org_version or 0)

    async def find_by_name(self, name: str) -> Sequence[Staff]:
        needle = name.strip().lstrip("@").lower()
        q = select(t.staff).where(
            t.staff.c.deleted_at.is_(None),
            (func.lower(t.staff.c.name) == needle) | (func.lower(t.staff.c.username) == needle),
        )
        exact = [self._map(r) for r in await self._c.execute(q)]
        if exact:
            return exact
        q = select(t.staff).where(t.staff.c.deleted_at.is_(None),
                                  func.lower(t.staff.c.name).contains(needle, autoescape=True))
        return [self._map(r) for r in await self._c.execute(q.limit(10))]

    def _listing(self, scope: ScopeFilter, include_inactive: bool) -> list[ColumnElement[bool]]:
        where = [t.staff.c.deleted_at.is_(None), scope_clause(scope, t.staff.c.id, t.staff.c.department_id)]
        if not include_inactive:
            where.append(t.staff.c.active.is_(True))
        return where

    async def list(self, scope: ScopeFilter, *, include_inactive: bool = False,
                   offset: int = 0, limit: int = 50) -> Sequence[Staff]:
        q = (select(t.staff).where(*self._listing(scope, include_inactive))
             .order_by(t.staff.c.active.desc(), t.staff.c.name, t.staff.c.id).offset(offset).limit(limit))
        return [self._map(r) for r in await self._c.execute(q)]

    async def count(self, scope: ScopeFilter, *, include_inactive: bool = False) -> int:
        q = select(func.count()).select_from(t.staff).where(*self._listing(scope, include_inactive))
        return int((await self._c.execute(q)).scalar_one())

    async def add(self, staff: Staff) -> Staff:
        values = {
            "name": staff.name, "telegram_user_id": staff.telegram_user_id, "username": staff.username,
            "role_id": staff.role_id, "department_id": staff.department_id, "locale": staff.locale,
            "timezone": staff.timezone, "active": staff.active, "created_at": staff.created_at,
        }
        new_id = (await self._c.execute(insert(t.staff).values(**values).returning(t.staff.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def update(self, staff_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.staff).where(t.staff.c.id == staff_id).values(**fields))

    async def count_active_with_permission(self, operation: str) -> int:
        rows = await self._c.execute(
            select(t.roles.c.permissions, func.count())
            .select_from(t.staff.join(t.roles, t.roles.c.id == t.staff.c.role_id))
            .where(t.staff.c.active.is_(True), t.staff.c.deleted_at.is_(None), t.roles.c.deleted_at.is_(None))
            .group_by(t.roles.c.id, t.roles.c.permissions)
        )
        return sum(count for permissions, count in rows if operation in permissions)


class SqlInviteRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    @staticmethod
    def _map(row: Row[Any]) -> Invite:
        return Invite(row.id, row.code, row.role_id, row.department_id, row.created_by, row.created_at,
                      row.expires_at, row.used_at, row.used_by, row.revoked_at)

    async def add(self, invite: Invite) -> Invite:
        new_id = (await self._c.execute(insert(t.invites).values(
            code=invite.code, role_id=invite.role_id, department_id=invite.department_id,
            created_by=invite.created_by, created_at=invite.created_at, expires_at=invite.expires_at,
        ).returning(t.invites.c.id))).scalar_one()
        return Invite(new_id, invite.code, invite.role_id, invite.department_id, invite.created_by,
                      invite.created_at, invite.expires_at)

    async def get_by_code(self, code: str) -> Invite | None:
        row = (await self._c.execute(select(t.invites).where(t.invites.c.code == code))).first()
        return self._map(row) if row else None

    async def claim(self, invite_id: int, staff_id: int, at: datetime) -> bool:
        result = await self._c.execute(
            update(t.invites)
            .where(t.invites.c.id == invite_id, t.invites.c.used_at.is_(None), t.invites.c.revoked_at.is_(None))
            .values(used_at=at, used_by=staff_id)
        )
        return bool(result.rowcount == 1)

    async def list_open(self, now: datetime) -> Sequence[Invite]:
        q = select(t.invites).where(
            t.invites.c.used_at.is_(None), t.invites.c.revoked_at.is_(None), t.invites.c.expires_at > now
        ).order_by(t.invites.c.id)
        return [self._map(r) for r in await self._c.execute(q)]

    async def revoke(self, invite_id: int, at: datetime) -> None:
        await self._c.execute(update(t.invites).where(t.invites.c.id == invite_id).values(revoked_at=at))


class SqlAuditRepository:
    def __init__(self, conn: AsyncConnection, now: Any) -> None:
        self._c = conn
        self._now = now

    async def record(self, entry: AuditEntry) -> None:
        await self._c.execute(insert(t.audit_log).values(
            at=entry.at or self._now(), actor_id=entry.actor_id, action=entry.action, entity=entry.entity,
            entity_id=entry.entity_id, before=dict(entry.before), after=dict(entry.after),
        ))

    @staticmethod
    def _map(row: Row[Any]) -> AuditEntry:
        return AuditEntry(row.actor_id, row.action, row.entity, row.entity_id, row.before, row.after,
                          row.at, row.id)

    async def for_entity(self, entity: str, entity_id: int, *, limit: int = 20) -> Sequence[AuditEntry]:
        q = (select(t.audit_log).where(t.audit_log.c.entity == entity, t.audit_log.c.entity_id == entity_id)
             .order_by(t.audit_log.c.id.desc()).limit(limit))
        return [self._map(r) for r in await self._c.execute(q)]

    async def recent(self, *, limit: int = 20) -> Sequence[AuditEntry]:
        q = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
        return [self._map(r) for r in await self._c.execute(q)]


class SqlOrgStateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def version(self) -> int:
        value = (await self._c.execute(select(t.org_state.c.version).where(t.org_state.c.id == 1))).scalar()
        return int(value or 0)

    async def bump(self) -> None:
        result = await self._c.execute(
            update(t.org_state).where(t.org_state.c.id == 1).values(version=t.org_state.c.version + 1))
        if result.rowcount == 0:
            await self._c.execute(insert(t.org_state).values(id=1, version=1))
