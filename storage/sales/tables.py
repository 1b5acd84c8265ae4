"""The sales module's tables: the product catalog (categories, products, their search terms) and the prices
agreed with customers. Tier discounts are a company setting in ``app_kv`` (crm/sales/prices.py)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    text,
)
from sqlalchemy.sql.schema import SchemaItem

from storage.metadata import metadata
from storage.types import ExactDecimal, UTCDateTime

product_categories = Table(
    "product_categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("parent_id", Integer, ForeignKey("product_categories.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "parent_id"),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_zh_hant", String(200), nullable=True),
    Column("name_zh_hans", String(200), nullable=True),
    Column("category_id", Integer, ForeignKey("product_categories.id"), nullable=True),
    Column("unit", String(20), nullable=False),
    Column("list_price", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("cost", ExactDecimal(), nullable=True),
    Column("tax_rate", ExactDecimal(), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("photo_file_id", String(200), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "category_id"),
    # A SKU is unique among live products: a deleted product's SKU may be given to a new one (and its restore
    # is refused while the SKU is taken).
    Index("uq_products_live_sku", "sku", unique=True, sqlite_where=text("deleted_at IS NULL"),
          postgresql_where=text("deleted_at IS NULL")),
)

# Product search terms, as for customers (crm/customers/search_terms.py): CJK unigrams and bigrams of every
# name, Latin words, the SKU's pieces. A separate table: products have no owner, so no scope join.
product_search_terms = Table(
    "product_search_terms",
    metadata,
    Column("term", String(64), primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id"), primary_key=True),
    Index(None, "product_id"),
)

customer_prices = Table(
    "customer_prices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index("uq_customer_prices_customer_product", "customer_id", "product_id", unique=True),
)

# The pipeline. Stages are data (seeded by migration 0010, editable later); an opportunity belongs to a customer
# and has its own owner (the ``sales`` query scope), and its stage says whether it is open, won or lost.
opportunity_stages = Table(
    "opportunity_stages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(30), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("name_zh_hant", String(100), nullable=True),
    Column("name_zh_hans", String(100), nullable=True),
    Column("sequence", Integer, nullable=False),
    Column("probability", ExactDecimal(), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("stage_id", Integer, ForeignKey("opportunity_stages.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("close_date", Date, nullable=True),
    Column("source", String(100), nullable=True),
    Column("competitors_typed", String(500), nullable=True),  # names typed before links; read-only (0031)
    Column("lost_reason", String(500), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "customer_id"),
    Index(None, "owner_id", "stage_id"),
)

# Quotations. Lines copy the product's SKU, name and tax rate, so a quote keeps saying what was offered after the
# catalog changes. The counter is a row per year, bumped in the quote's own transaction, so two quotes created at
# once never get the same number (docs/sales.md, "Quotations").
quotes = Table(
    "quotes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    Column("order_discount", ExactDecimal(), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "customer_id"),
    Index(None, "owner_id", "status"),
)

def priced_line_columns(parent: str) -> list[SchemaItem]:
    """The columns of a priced line (``crm.sales.quote_model.QuoteLine``) of a document — a quotation, an order,
    an invoice — in the ``<parent>s`` table: one definition, so the three keep the same precision and names."""
    return [
        Column("id", Integer, primary_key=True),
        Column(f"{parent}_id", Integer, ForeignKey(f"{parent}s.id"), nullable=False),
        Column("position", Integer, nullable=False),
        Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
        Column("sku", String(40), nullable=False),
        Column("name", String(200), nullable=False),
        Column("quantity", ExactDecimal(), nullable=False),
        Column("unit_price", ExactDecimal(), nullable=False),
        Column("discount", ExactDecimal(), nullable=False),
        Column("tax_rate", ExactDecimal(), nullable=False),
        # The product's translated names when the line was made (docs/sales.md, "Line names").
        Column("name_zh_hant", String(200), nullable=True),
        Column("name_zh_hans", String(200), nullable=True),
        Index(None, f"{parent}_id", "position"),
    ]


def year_counter(name: str) -> Table:
    """A per-year document counter (Q2026-0001, O2026-0001, INV2026-0001): the year's last number."""
    return Table(
        name,
        metadata,
        Column("year", Integer, primary_key=True, autoincrement=False),
        Column("last", Integer, nullable=False),
    )


quote_lines = Table("quote_lines", metadata, *priced_line_columns("quote"))

quote_counters = year_counter("quote_counters")

# A role's discount limit in percent; NULL: unlimited. A role without a row gets the default (unlimited for roles
# holding discounts.approve, 10 % for the others: crm/sales/discounts.py), so new roles need no row.
role_discount_limits = Table(
    "role_discount_limits",
    metadata,
    Column("role_id", Integer, ForeignKey("roles.id"), primary_key=True, autoincrement=False),
    Column("percent", ExactDecimal(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Requests for a discount over the owner's limit, for any kind of record ("quote", later "order"): kind and id
# rather than a foreign key, so a new kind needs no schema change.
discount_approvals = Table(
    "discount_approvals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("subject_id", Integer, nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("requested_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("percent", ExactDecimal(), nullable=False),
    Column("limit", ExactDecimal(), nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("decided_by", Integer, ForeignKey("staff.id"), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "kind", "subject_id"),
    Index(None, "status", "owner_id"),
)
