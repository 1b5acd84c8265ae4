"""The custom fields module's tables: the definitions, and the values in typed columns (docs/fields.md)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, Table

from storage.metadata import metadata
from storage.types import ExactDecimal, JSONType, UTCDateTime

custom_fields = Table(
    "custom_fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(12), nullable=False),
    Column("type", String(10), nullable=False),
    Column("labels", JSONType, nullable=False),  # language → label
    Column("choices", JSONType, nullable=False),
    Column("required", Boolean, nullable=False, default=False),
    Column("position", Integer, nullable=False),
    Column("created_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "entity", "position"),
)

# One row per value (per choice of a multi-choice value, ``item`` 0, 1, …). Filtering reads one of the three
# (field, typed value, record) indexes; ``value_sort`` is the number as a double, because SQLite keeps the exact
# Decimal as text, which does not order as a number (the exact one, ``value_number``, is what is shown).
custom_values = Table(
    "custom_values",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("field_id", Integer, ForeignKey("custom_fields.id"), nullable=False),
    Column("entity", String(12), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("item", Integer, nullable=False, default=0),
    Column("value_text", String(500), nullable=True),
    Column("value_key", String(500), nullable=True),  # folded text: what a filter compares
    Column("value_number", ExactDecimal(), nullable=True),
    Column("value_sort", Float, nullable=True),
    Column("value_date", Date, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("uq_custom_values_record_field_item", "entity_id", "field_id", "item", unique=True),
    Index("ix_custom_values_field_key", "field_id", "value_key", "entity_id"),
    Index("ix_custom_values_field_sort", "field_id", "value_sort", "entity_id"),
    Index("ix_custom_values_field_date", "field_id", "value_date", "entity_id"),
)
