"""What services need from storage. ``storage/`` implements these with SQLAlchemy on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from crm.core.events import Event
from crm.customers.bulk import BulkCustomerWriter
from crm.customers.ports import (
    ContactRepository,
    CustomerRepository,
    FollowUpRepository,
    InteractionRepository,
    LeadRepository,
    SearchIndex,
)
from crm.followups.ports import ReminderRepository
from crm.messaging.ports.outbox import OutboxRepository
from crm.messaging.ports.subscriptions import CampaignRepository, SubscriptionRepository, TemplateRepository
from crm.organisation.model import AuditEntry, Department, Invite, LoginInfo, Role, Staff
from crm.organisation.permissions import Scope, ScopeFilter
from crm.segments.ports import OwnershipRepository, SegmentRepository, SettingsStore


class DepartmentRepository(Protocol):
    async def get(self, department_id: int) -> Department | None: ...
    async def list_all(self, *, include_deleted: bool = False) -> Sequence[Department]: ...
    async def add(self, name: str, parent_id: int | None) -> Department: ...
    async def update(self, department_id: int, **fields: Any) -> None: ...
    async def count_members(self, department_id: int) -> int: ...


class RoleRepository(Protocol):
    async def get(self, role_id: int) -> Role | None: ...
    async def get_by_name(self, name: str) -> Role | None: ...
    async def list_all(self, *, deleted: bool = False) -> Sequence[Role]: ...
    async def restore(self, role_id: int) -> None: ...
    async def add(self, name: str, permissions: frozenset[str], scopes: Mapping[str, Scope],
                  *, is_system: bool = False) -> Role: ...
    async def save(self, role: Role) -> Role:
        """Write permissions, scopes and name; bumps and returns the new version."""
        ...
    async def soft_delete(self, role_id: int, at: datetime) -> None: ...
    async def count_members(self, role_id: int) -> int: ...


class StaffRepository(Protocol):
    async def get(self, staff_id: int) -> Staff | None: ...
    async def get_by_telegram_id(self, telegram_user_id: int) -> Staff | None: ...
    async def get_login(self, telegram_user_id: int) -> LoginInfo | None:
        """The staff row with its role's version and the organisation version, in one query."""
        ...
    async def find_by_name(self, name: str) -> Sequence[Staff]: ...
    async def list(self, scope: ScopeFilter, *, include_inactive: bool = False,
                   offset: int = 0, limit: int = 50) -> Sequence[Staff]: ...
    async def count(self, scope: ScopeFilter, *, include_inactive: bool = False) -> int: ...
    async def add(self, staff: Staff) -> Staff: ...
    async def update(self, staff_id: int, **fields: Any) -> None: ...
    async def count_active_with_permission(self, operation: str) -> int: ...


class InviteRepository(Protocol):
    async def add(self, invite: Invite) -> Invite: ...
    async def get_by_code(self, code: str) -> Invite | None: ...
    async def claim(self, invite_id: int, staff_id: int, at: datetime) -> bool:
        """Mark used if still unused; False when someone else claimed it first."""
        ...
    async def list_open(self, now: datetime) -> Sequence[Invite]: ...
    async def revoke(self, invite_id: int, at: datetime) -> None: ...


class AuditRepository(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...
    async def for_entity(self, entity: str, entity_id: int, *, limit: int = 20) -> Sequence[AuditEntry]: ...
    async def recent(self, *, limit: int = 20) -> Sequence[AuditEntry]: ...


class OrgStateRepository(Protocol):
    """A version number bumped by every change to roles or departments, so caches know when to reload."""

    async def version(self) -> int: ...
    async def bump(self) -> None: ...


class UnitOfWork(Protocol):
    departments: DepartmentRepository
    roles: RoleRepository
    staff: StaffRepository
    invites: InviteRepository
    audit: AuditRepository
    org: OrgStateRepository
    customers: CustomerRepository
    contacts: ContactRepository
    leads: LeadRepository
    interactions: InteractionRepository
    followups: FollowUpRepository
    search: SearchIndex
    bulk: BulkCustomerWriter
    reminders: ReminderRepository
    outbox: OutboxRepository
    subscriptions: SubscriptionRepository
    sms_templates: TemplateRepository
    campaigns: CampaignRepository
    segments: SegmentRepository
    ownership: OwnershipRepository
    kv: SettingsStore

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...
    async def commit(self) -> None:
        """Run the bus's in-transaction handlers for the recorded events, commit, then the after-commit ones."""
        ...

    def record(self, event: Event) -> None:
        """Something happened here that other modules may react to (crm/core/events.py); dropped without commit."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork:
        """A read-only unit of work (write=False) never takes the write lock on SQLite."""
        ...
