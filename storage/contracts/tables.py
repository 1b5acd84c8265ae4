"""The contracts module's tables: contracts and their numbering counter per year."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from storage.metadata import metadata
from storage.types import ExactDecimal, UTCDateTime

contracts = Table(
    "contracts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),  # the ``sales`` query scope
    Column("title", String(200), nullable=False),
    Column("value", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("terms", Text, nullable=True),
    Column("remind_days", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # active / renewed / terminated (expired is shown, not stored)
    Column("end_reason", String(500), nullable=True),
    Column("renewed_from", Integer, ForeignKey("contracts.id"), nullable=True),
    Column("file_id", String(200), nullable=True),
    Column("file_name", String(120), nullable=True),
    Column("file_path", String(200), nullable=True),
    # The renewal reminder is a follow-up row: delivered, claimed and shown on the agenda like any other.
    Column("reminder_id", Integer, ForeignKey("followups.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id", "status", "ends_on"),
    Index(None, "customer_id"),
    Index(None, "reminder_id"),
)

contract_counters = Table(
    "contract_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)
