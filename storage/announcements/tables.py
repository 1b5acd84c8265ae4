"""The announcements module's tables: what was announced, and one row per recipient (delivery, read receipt,
nudge) that the dispatcher claims like the follow-up reminders."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from storage.metadata import metadata
from storage.types import UTCDateTime

announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("author_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("body", String(4000), nullable=False),
    Column("audience_kind", String(12), nullable=False),  # all | department | role
    Column("audience_id", Integer, nullable=True),
    Column("pinned", Boolean, nullable=False, default=False),
    Column("attachment_kind", String(10), nullable=True),  # photo | document
    Column("attachment_file_id", String(200), nullable=True),
    Column("attachment_path", String(300), nullable=True),
    Column("publish_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),  # recipients were listed (and sending began)
    Column("version", Integer, nullable=False, default=1),  # moves on every edit, withdrawal and restore
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("edited_at", UTCDateTime(), nullable=True),  # the text changed after publishing ("edited")
    Column("deleted_at", UTCDateTime(), nullable=True),  # withdrawn
    Column("deleted_by", Integer, ForeignKey("staff.id"), nullable=True),
    Index(None, "published_at", "publish_at"),
    Index(None, "author_id"),
)

# state: pending (to send, or to edit when message_id is set) → claimed (a worker's, until lease_until) →
# sending (the request is out) → sent | failed. A "sending" row whose worker died is never sent again.
announcement_recipients = Table(
    "announcement_recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("announcement_id", Integer, ForeignKey("announcements.id"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("state", String(10), nullable=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("message_id", Integer, nullable=True),
    Column("shown_version", Integer, nullable=False, default=0),
    Column("uncertain", Boolean, nullable=False, default=False),  # the worker died with the request out
    Column("claimed_by", String(60), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("next_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("read_at", UTCDateTime(), nullable=True),
    Column("nudged_at", UTCDateTime(), nullable=True),
    UniqueConstraint("announcement_id", "staff_id"),
    Index(None, "state", "next_at"),
    Index(None, "staff_id", "read_at"),
)
