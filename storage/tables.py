"""Table definitions (SQLAlchemy Core). Alembic migrations in ``storage/migrations`` create exactly these;
``tests/integration/test_migrations.py`` fails when the two drift apart."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
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

# ---- customers, contacts, leads, follow-ups (the rep's daily loop) ----------------------------------------

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False, default="company"),  # company / person
    Column("name", String(200), nullable=False),
    Column("short_name", String(100), nullable=True),
    Column("phones", JSONType, nullable=False),  # E.164 strings
    Column("email", String(254), nullable=True),
    Column("address", String(500), nullable=True),
    Column("region", String(100), nullable=True),
    Column("industry", String(100), nullable=True),
    Column("source", String(100), nullable=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("classification", String(12), nullable=False, default="potential"),
    Column("tier", String(1), nullable=True),
    Column("tags", JSONType, nullable=False),
    Column("notes", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_contact_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id"),
    Index(None, "last_contact_at"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("title", String(100), nullable=True),
    Column("phones", JSONType, nullable=False),
    Column("email", String(254), nullable=True),
    Column("birthday", Date, nullable=True),
    Column("notes", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "customer_id"),
)

leads = Table(
    "leads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("company_name", String(200), nullable=True),
    Column("phones", JSONType, nullable=False),
    Column("email", String(254), nullable=True),
    Column("source", String(100), nullable=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("status", String(12), nullable=False, default="new"),  # new / qualified / converted / dropped
    Column("drop_reason", String(500), nullable=True),
    Column("converted_customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("converted_contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("notes", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_contact_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("lead_id", Integer, ForeignKey("leads.id"), nullable=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("author_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # call / visit / meeting / message / email / other
    Column("text", Text, nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "customer_id", "occurred_at"),
    Index(None, "lead_id", "occurred_at"),
)

followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("lead_id", Integer, ForeignKey("leads.id"), nullable=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("status", String(10), nullable=False, default="open"),  # open / done / cancelled
    Column("interaction_id", Integer, ForeignKey("interactions.id"), nullable=True),
    # Reminder delivery: pending → claimed (by a worker, until claimed_until) → sent. The row is the truth.
    Column("remind_state", String(10), nullable=False, default="pending"),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("reminded_at", UTCDateTime(), nullable=True),
    Column("reminded_late", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "remind_state", "due_at"),
    Index(None, "owner_id", "status", "due_at"),
    Index(None, "customer_id"),
    Index(None, "lead_id"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("filters", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
)

# Search terms for customers, contacts and leads: CJK unigrams and bigrams, Latin words, e-mail addresses,
# tags, and phone digits reversed (so "last digits" is a prefix range on an index).
search_terms = Table(
    "search_terms",
    metadata,
    Column("term", String(64), primary_key=True),
    Column("entity", String(10), primary_key=True),  # customer / contact / lead
    Column("entity_id", Integer, primary_key=True),
    Index(None, "entity", "entity_id"),
)
