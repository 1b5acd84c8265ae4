"""The service module's tables: tickets and their entries (notes, customer updates, texts in, status moves)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from storage.metadata import metadata
from storage.types import UTCDateTime

# A ticket is seen by whoever's ``service`` scope allows its owner (the customer's owner) or its assignee.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("lead_id", Integer, ForeignKey("leads.id"), nullable=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=True),  # the catalog product it is about
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=True),  # the order it is about
    Column("subject", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", String(10), nullable=False),
    Column("category", String(40), nullable=True),
    Column("status", String(12), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("assignee_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("opened_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("source", String(10), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("locale", String(10), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("nudge_at", UTCDateTime(), nullable=False),
    Column("first_response_at", UTCDateTime(), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("nudged_at", UTCDateTime(), nullable=True),
    Column("breach_told_at", UTCDateTime(), nullable=True),
    Column("satisfaction", Integer, nullable=True),
    Column("satisfaction_asked_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "year", "sequence", unique=True),
    Index(None, "owner_id"),
    Index(None, "assignee_id"),
    Index(None, "status", "due_at"),
    Index(None, "phone"),
)

ticket_entries = Table(
    "ticket_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("text", Text, nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("file_id", String(200), nullable=True),
    Column("file_path", String(300), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "ticket_id", "id"),
)
