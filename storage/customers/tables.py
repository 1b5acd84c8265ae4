"""The customers module's tables: customers, contacts, leads, their activity (interactions, follow-ups),
the search index."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from storage.metadata import metadata
from storage.types import JSONType, UTCDateTime

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
    Index(None, "created_at", "owner_id", "deleted_at"),  # new customers of a period, from the index alone (digests)
    # The deleted only (few): a count of matches less the deleted among them reads no live row (segments).
    Index("ix_customers_deleted", "deleted_at", "owner_id", sqlite_where=text("deleted_at IS NOT NULL"),
          postgresql_where=text("deleted_at IS NOT NULL")),
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
    Index(None, "created_at", "owner_id", "deleted_at"),  # new leads of a period (digests)
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
    Index(None, "occurred_at", "author_id", "deleted_at"),  # interactions of a period per author (digests)
    Index(None, "author_id", "occurred_at", "kind", "deleted_at"),  # one person's, by kind (KPIs, docs/hr.md)
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
    Index(None, "status", "due_at", "owner_id", "deleted_at"),  # due, and open past due, in a period (digests)
    Index(None, "completed_at", "status", "owner_id", "deleted_at"),  # done in a period (digests)
    Index(None, "owner_id", "completed_at", "due_at", "status", "deleted_at"),  # done on time per person (KPIs)
)


# Per-hour counts of what the managers' digests count over a period (docs/digests.md, "Counters"): new customers
# and leads by owner, interactions by author, follow-ups done and due by owner — one row per metric × UTC hour ×
# person. Kept by database triggers on the counted tables (migration 0028), so every way a row is written, moved to
# another owner, trashed or restored keeps them exact. A digest sums whole hours here and counts only the part of
# an hour at a period's edges from the table itself. staff_id 0 stands for "nobody" (a key cannot be NULL).
activity_counts = Table(
    "activity_counts",
    metadata,
    Column("metric", String(16), primary_key=True),
    Column("hour", UTCDateTime(), primary_key=True),
    Column("staff_id", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    sqlite_with_rowid=False,  # the key is the table: a sum over an hour range reads it in order, nothing else
)


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
