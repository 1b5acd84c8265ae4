"""The organisation module's storage: departments, roles, staff, invites (the audit trail is on every unit of work)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.organisation.repositories import (
    SqlDepartmentRepository,
    SqlInviteRepository,
    SqlOrgStateRepository,
    SqlRoleRepository,
    SqlStaffRepository,
)


class OrganisationRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn

    @cached_property
    def departments(self) -> SqlDepartmentRepository:
        return SqlDepartmentRepository(self._conn)

    @cached_property
    def roles(self) -> SqlRoleRepository:
        return SqlRoleRepository(self._conn)

    @cached_property
    def staff(self) -> SqlStaffRepository:
        return SqlStaffRepository(self._conn)

    @cached_property
    def invites(self) -> SqlInviteRepository:
        return SqlInviteRepository(self._conn)

    @cached_property
    def state(self) -> SqlOrgStateRepository:
        return SqlOrgStateRepository(self._conn)
