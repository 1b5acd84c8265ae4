"""Entities of the organisation: departments, roles, staff, invites, and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.organisation.permissions import Scope


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    parent_id: int | None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    permissions: frozenset[str]
    scopes: Mapping[str, Scope]
    is_system: bool = False
    version: int = 1
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    role_id: int
    department_id: int
    telegram_user_id: int | None = None
    username: str | None = None
    locale: str | None = None
    timezone: str | None = None
    active: bool = True
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Invite:
    id: int
    code: str
    role_id: int
    department_id: int
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = None
    revoked_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class AuditEntry:
    actor_id: int | None
    action: str
    entity: str
    entity_id: int | None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class LoginInfo:
    """What one query returns about a Telegram user on every update: enough to build an Actor from caches."""

    staff: Staff
    role_version: int
    org_version: int
