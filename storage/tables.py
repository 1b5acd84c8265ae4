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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.types import ExactDecimal, JSONType, UTCDateTime

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

# ---- outbox: every message to the outside world (SMS, email, fax, bot pushes) -----------------------------
# A row is written in the same transaction as the business event that causes it; the dispatcher claims due
# rows (status 'queued', or 'sending' with an expired lease after a crash) and records what the provider said.

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(10), nullable=False),  # sms / email / fax / telegram
    # held (waiting for review) / queued / sending (claimed) / sent / delivered / failed / cancelled
    Column("status", String(10), nullable=False),
    Column("recipient", String(320), nullable=False),  # E.164 number, e-mail address, or Telegram chat id
    Column("subject", String(500), nullable=True),
    Column("body", Text, nullable=False),
    Column("html", Text, nullable=True),
    Column("topic", String(40), nullable=True),
    Column("campaign_id", Integer, nullable=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("lead_id", Integer, ForeignKey("leads.id"), nullable=True),
    Column("requested_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", UTCDateTime(), nullable=False),  # not before this (first send, retry, deferral)
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("provider_id", String(200), nullable=True),
    Column("error_code", String(20), nullable=True),
    Column("last_error", String(1000), nullable=True),
    Column("segments", Integer, nullable=True),
    # Where the requester watches the status (the chat message to edit); notify_pending = a change not yet shown.
    Column("notify_chat_id", BigInteger, nullable=True),
    Column("notify_message_id", BigInteger, nullable=True),
    Column("notify_locale", String(16), nullable=True),  # the requester's language and zone when they sent it
    Column("notify_timezone", String(64), nullable=True),
    Column("notify_pending", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),  # delivered / failed / cancelled
    Index(None, "status", "channel", "due_at"),
    Index(None, "provider_id"),
    Index(None, "customer_id", "created_at"),
    Index(None, "requested_by", "created_at"),
    Index(None, "campaign_id", "status"),
    Index(None, "recipient", "channel", "status"),
    Index(None, "notify_pending"),
)

outbox_attachments = Table(
    "outbox_attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=True),  # the bytes, or NULL when ``ref`` names a stored document
    Column("ref", String(255), nullable=True),
    Column("size", Integer, nullable=False),
    Index(None, "message_id"),
)

# Delivery reports that arrived before the dispatcher stored their provider id (its outcomes are written in
# batches). Applied and deleted in the transaction that stores the id; unmatched ones are purged after a day.
outbox_early_reports = Table(
    "outbox_early_reports",
    metadata,
    Column("id", Integer, primary_key=True),  # arrival order: the order they are applied in
    Column("provider_id", String(200), nullable=False),
    Column("status", String(10), nullable=False),  # delivered / failed
    Column("error_code", String(20), nullable=True),
    Column("reason", String(1000), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Index(None, "provider_id"),
    Index(None, "received_at"),
)

# ---- SMS subscriptions: topics, consent (proof of opt-in), templates, campaigns under review ---------------

sms_topics = Table(
    "sms_topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("name_en", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=False),
    Column("name_zh_hans", String(100), nullable=False),
    Column("marketing", Boolean, nullable=False),  # marketing: opt-in required, quiet hours apply
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
)

# Append-only: the latest row per (phone, topic) is the current status; older rows are the proof trail.
sms_consents = Table(
    "sms_consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", String(20), nullable=False),  # E.164
    Column("topic", String(40), nullable=False),
    Column("status", String(10), nullable=False),  # opted_in / opted_out
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("channel", String(10), nullable=False),  # sms / in_person / import / carrier
    Column("evidence", Text, nullable=True),  # the text received, or what the rep noted
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("lead_id", Integer, ForeignKey("leads.id"), nullable=True),
    Column("recorded_by", Integer, ForeignKey("staff.id"), nullable=True),
    Index(None, "phone", "topic", "id"),
    Index(None, "topic", "phone", "id"),
)

sms_templates = Table(
    "sms_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("body_en", Text, nullable=False),
    Column("body_zh_hant", Text, nullable=False),
    Column("body_zh_hans", Text, nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id"),
)

sms_campaigns = Table(
    "sms_campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("template_id", Integer, ForeignKey("sms_templates.id"), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id"), nullable=True),  # NULL: the topic's subscribers
    Column("topic", String(40), nullable=False),
    # draft / pending_review / approved / rejected / sending / done
    Column("status", String(16), nullable=False),
    Column("requested_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("reviewed_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("recipients", Integer, nullable=False, default=0),
    Column("estimated_segments", Integer, nullable=False, default=0),
    Column("estimated_cost", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sample", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=True),
    Column("reviewed_at", UTCDateTime(), nullable=True),
    Index(None, "status", "created_at"),
    Index(None, "requested_by"),
)
