"""The HR module's tables: staff profiles, key events, KPI targets and performance reviews (docs/hr.md)."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text, text

from storage.metadata import metadata
from storage.types import ExactDecimal, JSONType, UTCDateTime

_LIVE = text("deleted_at IS NULL")

# One row per staff member who has HR facts; the name, department and role stay on ``staff``.
staff_profiles = Table(
    "staff_profiles",
    metadata,
    Column("staff_id", Integer, ForeignKey("staff.id"), primary_key=True),
    Column("employee_no", String(200), nullable=True),
    Column("title", String(200), nullable=True),
    Column("manager_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("hire_date", Date, nullable=True),
    Column("phone", String(200), nullable=True),
    Column("email", String(200), nullable=True),
    Column("emergency_contact", String(200), nullable=True),
    Column("status", String(10), nullable=False),  # active / on_leave / left
    Column("updated_at", UTCDateTime(), nullable=False),
)

hr_events = Table(
    "hr_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("note", Text, nullable=False),
    Column("from_department_id", Integer, ForeignKey("departments.id"), nullable=True),
    Column("to_department_id", Integer, ForeignKey("departments.id"), nullable=True),
    Column("file_id", String(200), nullable=True),
    Column("file_name", String(200), nullable=True),
    Column("file_path", String(300), nullable=True),
    Column("created_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "staff_id", "occurred_on"),
)

# A target per person (staff_id) or per role (role_id, staff_id null), per measure and kind of period.
kpi_targets = Table(
    "kpi_targets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("role_id", Integer, ForeignKey("roles.id"), nullable=True),
    Column("kpi", String(40), nullable=False),
    Column("period_kind", String(1), nullable=False),
    Column("target", ExactDecimal(), nullable=False),
    Column("updated_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "staff_id"),
    Index(None, "role_id"),
)

reviews = Table(
    "hr_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("period_kind", String(1), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("reviewer_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("lines", JSONType, nullable=False),  # the figures as they were when reviewed
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("status", String(12), nullable=False),  # submitted / acknowledged
    Column("created_at", UTCDateTime(), nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index("uq_hr_reviews_live_period", "staff_id", "period_kind", "period_start", unique=True,
          sqlite_where=_LIVE, postgresql_where=_LIVE),
)
