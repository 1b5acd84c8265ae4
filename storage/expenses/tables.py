"""The expenses module's tables: categories (data, seeded by migration 0012) and expenses."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.types import ExactDecimal, UTCDateTime

expense_categories = Table(
    "expense_categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(30), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=True),
    Column("name_zh_hans", String(100), nullable=True),
    Column("words", String(500), nullable=False),  # other words that name it, space-separated
    Column("sequence", Integer, nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
)

# An expense is always a staff member's (the ``expenses`` query scope) and sometimes on a customer.
expenses = Table(
    "expenses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("category_id", Integer, ForeignKey("expense_categories.id"), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("spent_on", Date, nullable=False),
    Column("note", String(500), nullable=True),
    Column("receipt_file_id", String(200), nullable=True),
    Column("status", String(10), nullable=False),
    Column("decided_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("reject_reason", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "staff_id", "spent_on"),
    Index(None, "status"),
    Index(None, "customer_id"),
    Index(None, "decided_at"),  # what still waited for approval at a past moment (digests)
)
