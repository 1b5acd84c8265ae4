"""Tables every module shares: PTB's persisted conversation state and the key-value settings store."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    String,
    Table,
    Text,
)

from storage.metadata import metadata
from storage.types import JSONType

ptb_conversations = Table(
    "ptb_conversations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("state", JSONType, nullable=False),
)


ptb_data = Table(
    "ptb_data",
    metadata,
    Column("kind", String(16), primary_key=True),  # user / chat
    Column("key", BigInteger, primary_key=True),
    Column("data", JSONType, nullable=False),
)


app_kv = Table(
    "app_kv",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---- customers, contacts, leads, follow-ups (the rep's daily loop) ----------------------------------------
