"""Table definitions (SQLAlchemy Core). Alembic migrations in ``storage/migrations`` create exactly these;
``tests/integration/test_migrations.py`` fails when the two drift apart."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.types import JSONType, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

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
ptb_conversations = Table(
    "ptb_conversations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("state", JSONType, nullable=False),
)

ptb_data = Table(
    "ptb_data",
    metadata,
    Column("kind", String(16), primary_key=True),  # user / chat
    Column("key", BigInteger, primary_key=True),
    Column("data", JSONType, nullable=False),
)

app_kv = Table(
    "app_kv",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
