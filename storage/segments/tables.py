"""The segments module's tables."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)

from storage.metadata import metadata
from storage.types import JSONType, UTCDateTime

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("filters", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
)

# Search terms for customers, contacts and leads: CJK unigrams and bigrams, Latin words, e-mail addresses,
# tags, and phone digits reversed (so "last digits" is a prefix range on an index).
