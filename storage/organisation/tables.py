"""The organisation module's tables: departments, roles, staff, invites, the audit log, the organisation version."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from storage.metadata import metadata
from storage.types import JSONType, UTCDateTime

org_state = Table(
    "org_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False, default=1),
)


departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("parent_id", Integer, ForeignKey("departments.id"), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
)


roles = Table(
    "roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("permissions", JSONType, nullable=False),
    Column("scopes", JSONType, nullable=False),
    Column("is_system", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),
    Column("deleted_at", UTCDateTime(), nullable=True),
    UniqueConstraint("name"),
)


staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("telegram_user_id", BigInteger, nullable=True, unique=True),
    Column("username", String(64), nullable=True),
    Column("role_id", Integer, ForeignKey("roles.id"), nullable=False),
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=False),
    Column("locale", String(16), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("agenda_time", String(5), nullable=True),  # "08:30" local; NULL = use the default; "off" = none
    Column("agenda_sent_on", Date, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "department_id"),
    Index(None, "role_id"),
)


invites = Table(
    "invites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("role_id", Integer, ForeignKey("roles.id"), nullable=False),
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=False),
    Column("created_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Column("used_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)


audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("action", String(40), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Integer, nullable=True),
    Column("before", JSONType, nullable=False),
    Column("after", JSONType, nullable=False),
    Index(None, "entity", "entity_id"),
    Index(None, "at"),
)

# PTB persistence: conversation state, user/chat/bot data, written one row per changed key.
