"""The billing module's tables: invoices with their lines and yearly counter, payments with their allocations,
and each customer's payment terms.

Invoice totals, what was paid and payments are integers in the currency's minor unit (cents for TWD, yen for
JPY): SUM over them is exact in SQL on both databases (SQLite keeps ``ExactDecimal`` as text, which SUM would
read as floats), so receivables are computed by the database, not by Python loops. Lines keep exact decimals,
as quotation lines do.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.sales.tables import priced_line_columns, year_counter
from storage.types import ExactDecimal, UTCDateTime

invoices = Table(
    "invoices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("order_discount", ExactDecimal(), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("source_kind", String(20), nullable=True),  # "order", "shipment"; NULL: typed in chat
    Column("source_id", Integer, nullable=True),
    Column("void_reason", String(300), nullable=True),
    Column("voided_at", UTCDateTime(), nullable=True),
    Column("reminded_at", UTCDateTime(), nullable=True),  # the last overdue push that went out
    Column("reminder_claimed_at", UTCDateTime(), nullable=True),  # a push being sent (a lease)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Covers the receivables sums: the open invoices are read from the index alone, already grouped.
    Index("ix_invoices_aging", "status", "customer_id", "currency", "due_date", "total_minor", "paid_minor",
          "owner_id"),
    Index("ix_invoices_aging_totals", "status", "currency", "due_date", "total_minor", "paid_minor", "owner_id"),
    Index(None, "customer_id", "status"),
    Index(None, "owner_id", "status"),
    Index(None, "source_kind", "source_id"),
)

invoice_lines = Table("invoice_lines", metadata, *priced_line_columns("invoice"))

invoice_counters = year_counter("invoice_counters")

# A payment is never deleted: a mistake is reversed (reversed_at, by whom, why) and stays on record.
payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("method", String(10), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("reference", String(100), nullable=True),
    Column("recorded_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reversed_at", UTCDateTime(), nullable=True),
    Column("reversed_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("reverse_reason", String(300), nullable=True),
    Index(None, "customer_id"),
    Index(None, "received_on"),
)

payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payment_id", Integer, ForeignKey("payments.id"), nullable=False),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Index(None, "payment_id"),
    Index(None, "invoice_id"),
)

billing_terms = Table(
    "billing_terms",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True, autoincrement=False),
    Column("payment_days", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
