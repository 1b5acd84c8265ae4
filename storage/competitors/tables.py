"""The competitors module's tables: competitors, the products seen of theirs, intel from the field, the
competitors named on opportunities and who won the lost ones (docs/competitors.md)."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, text

from storage.metadata import metadata
from storage.types import ExactDecimal, UTCDateTime

# Competitors are shared by everyone (no owner, no scope); a name is unique among live ones, compared folded.
competitors = Table(
    "competitors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False),
    Column("brands", String(1000), nullable=True),
    Column("regions", String(1000), nullable=True),
    Column("strengths", String(1000), nullable=True),
    Column("weaknesses", String(1000), nullable=True),
    Column("sources", String(1000), nullable=True),
    Column("created_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index("uq_competitors_live_name_key", "name_key", unique=True, sqlite_where=text("deleted_at IS NULL"),
          postgresql_where=text("deleted_at IS NULL")),
)

competitor_products = Table(
    "competitor_products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("competitor_id", Integer, ForeignKey("competitors.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("category_id", Integer, ForeignKey("product_categories.id"), nullable=True),
    Column("price", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("seen_on", Date, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "competitor_id"),
)

# Intel is its author's (the ``sales`` query scope), sometimes on a customer.
competitor_intel = Table(
    "competitor_intel",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("competitor_id", Integer, ForeignKey("competitors.id"), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("kind", String(10), nullable=False),
    Column("text", String(1000), nullable=False),
    Column("price", ExactDecimal(), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("seen_on", Date, nullable=False),
    Column("file_id", String(200), nullable=True),
    Column("file_path", String(300), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "competitor_id", "created_at"),
)

opportunity_competitors = Table(
    "opportunity_competitors",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id"), primary_key=True),
    Column("competitor_id", Integer, ForeignKey("competitors.id"), primary_key=True),
    Column("added_at", UTCDateTime(), nullable=False),
    Index(None, "competitor_id"),
)

# One row per lost opportunity: the question to its owner (pushed once: ``asked_at``) and the answer.
opportunity_losses = Table(
    "opportunity_losses",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id"), primary_key=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("lost_at", UTCDateTime(), nullable=False),
    Column("asked_at", UTCDateTime(), nullable=True),
    Column("answer", String(10), nullable=True),
    Column("winner_id", Integer, ForeignKey("competitors.id"), nullable=True),
    Column("why", String(500), nullable=True),
    Column("answered_at", UTCDateTime(), nullable=True),
    Index(None, "asked_at"),
)
