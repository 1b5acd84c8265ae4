"""The office module's tables: documents filed from chat with their search terms, personal events with their
attendees, and each person's calendar feed token (docs/office.md)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.types import UTCDateTime

# One row per version: the same owner filing the same title (``title_key``, folded) again adds a version, and
# ``latest`` marks the newest live one, which lists and searches show.
office_documents = Table(
    "office_documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("title_key", String(200), nullable=False),
    Column("tags", String(400), nullable=False, server_default=""),  # tab-separated
    Column("visibility", String(12), nullable=False),
    Column("version", Integer, nullable=False),
    Column("latest", Boolean, nullable=False),
    Column("file_id", String(200), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("size", Integer, nullable=False),
    Column("file_path", String(300), nullable=True),
    Column("link_kind", String(12), nullable=True),
    Column("link_id", Integer, nullable=True),
    Column("link_label", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id", "title_key"),
    Index(None, "visibility", "department_id"),
)

# What a document is found by (crm/office/documents.py document_terms): read by term, exact or as a prefix range.
office_document_terms = Table(
    "office_document_terms",
    metadata,
    Column("term", String(64), primary_key=True),
    Column("document_id", Integer, ForeignKey("office_documents.id"), primary_key=True),
    Index(None, "document_id"),
)

office_events = Table(
    "office_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("title", String(200), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id", "starts_at"),
)

office_event_attendees = Table(
    "office_event_attendees",
    metadata,
    Column("event_id", Integer, ForeignKey("office_events.id"), primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("answer", String(10), nullable=False),
    Column("answered_at", UTCDateTime(), nullable=True),
    Index(None, "staff_id", "answer"),
)

# Each person's reminder of an event is a follow-up row (the follow-ups module's durable reminder job pushes it):
# the owner's from when the event is planned, an attendee's from when they accept.
office_event_reminders = Table(
    "office_event_reminders",
    metadata,
    Column("event_id", Integer, ForeignKey("office_events.id"), primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("followup_id", Integer, ForeignKey("followups.id"), nullable=False),
    Index(None, "followup_id", unique=True),
)

# Only the token's SHA-256: the address itself is shown once and never stored.
office_calendar_feeds = Table(
    "office_calendar_feeds",
    metadata,
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("uq_office_calendar_feeds_token_hash", "token_hash", unique=True),
)

