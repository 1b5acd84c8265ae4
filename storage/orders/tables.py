"""The orders module's tables: orders, their lines (quotation lines plus what was shipped of each), the number
counter per year, shipments and their lines."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.sales.tables import priced_line_columns, year_counter
from storage.types import ExactDecimal, UTCDateTime

# ``total`` is the quotation arithmetic's total at the time of taking (lines never change afterwards), kept so a
# list of orders needs no lines.
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("quote_id", Integer, ForeignKey("quotes.id"), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("order_discount", ExactDecimal(), nullable=False),
    Column("total", ExactDecimal(), nullable=False),
    Column("delivery_date", Date, nullable=True),
    Column("cancel_reason", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "customer_id"),
    Index(None, "owner_id", "status"),
    Index(None, "quote_id"),
    Index(None, "created_at"),  # the sales analysis and the digest: orders taken in a period
)

order_lines = Table("order_lines", metadata, *priced_line_columns("order"),
                    Column("shipped", ExactDecimal(), nullable=False))

order_counters = year_counter("order_counters")

shipments = Table(
    "shipments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
    Column("carrier", String(60), nullable=True),
    Column("tracking", String(80), nullable=True),
    Column("shipped_at", UTCDateTime(), nullable=False),
    Column("by_staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Index(None, "order_id"),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Index(None, "shipment_id"),
)

# The sales analysis's rollup (docs/orders.md, "The rollup"): the counted orders' sums per UTC day (unit "d") and
# per UTC month (unit "m", ``start`` its first day), per owner — and, for the lines, also for everyone at once
# (``owner_id`` 0: what a reader who sees everything reads). Kept by the order repository in the transaction of every
# change, so a quarter's report sums a few thousand rows instead of a quarter of a million lines. Money in integer
# cents and quantities in ten-thousandths, each order or line rounded first exactly as the report's SQL over the raw
# rows does, so both give the same figures.
sales_rollup_orders = Table(
    "sales_rollup_orders",
    metadata,
    Column("unit", String(1), primary_key=True),
    Column("start", Date, primary_key=True),
    Column("owner_id", Integer, primary_key=True),
    Column("customer_id", Integer, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("cents", BigInteger, nullable=False),  # the orders' totals
    Column("orders", Integer, nullable=False),
    Index(None, "unit", "owner_id", "start"),
)

sales_rollup_lines = Table(
    "sales_rollup_lines",
    metadata,
    Column("unit", String(1), primary_key=True),
    Column("start", Date, primary_key=True),
    Column("owner_id", Integer, primary_key=True),
    Column("product_id", Integer, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("cents", BigInteger, nullable=False),  # the lines' amounts after discounts, before tax
    Column("quantity", BigInteger, nullable=False),  # × 10,000
    Column("lines", Integer, nullable=False),
    Index(None, "unit", "owner_id", "start"),
)
