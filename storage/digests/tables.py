"""The digests module's tables: each person's digest setting, and one row per digest claimed (sent once)."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from storage.metadata import metadata
from storage.types import UTCDateTime

digest_settings = Table(
    "digest_settings",
    metadata,
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("frequency", String(8), nullable=False),  # daily / weekly / monthly / off
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Inserted before a scheduled digest is pushed: the unique key makes the insert the claim, so two processes on one
# database (or a restart) send each digest once.
digest_sends = Table(
    "digest_sends",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("frequency", String(8), nullable=False),
    Column("period_start", Date, nullable=False),  # the first local day the digest covers
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    UniqueConstraint("staff_id", "frequency", "period_start"),
    Index(None, "period_start"),
)
