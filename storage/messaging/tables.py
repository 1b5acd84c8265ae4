"""The messaging module's tables: the outbox, SMS topics, consents, templates and campaigns."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from storage.metadata import metadata
from storage.types import ExactDecimal, UTCDateTime

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
