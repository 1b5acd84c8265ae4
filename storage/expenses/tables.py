"""The expenses module's tables: categories (data, seeded by migration 0012), expenses, projects, budgets and
the budget alerts sent (docs/expenses.md)."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

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

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False),  # folded, what ``#name`` is matched against
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=True),
    Column("owner_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Index(None, "owner_id"),
    Index(None, "name_key"),
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
    Column("receipt_path", String(200), nullable=True),  # the copy under DATA_DIR, relative to it
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=True),
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
    Index(None, "project_id"),
    Index(None, "decided_at"),  # what still waited for approval at a past moment (digests)
)

# One amount per department × category × year, optionally for one project; ``project_key`` is the project id or 0,
# so the uniqueness holds on both databases (NULLs are distinct in a unique constraint).
expense_budgets = Table(
    "expense_budgets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=False),
    Column("category_id", Integer, ForeignKey("expense_categories.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=True),
    Column("project_key", Integer, nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("set_by", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("department_id", "category_id", "year", "project_key"),
    Index(None, "year", "department_id"),
)

# A threshold crossed, once per budget and threshold (the unique key); ``sent_at`` stays empty until the push
# to the manager arrived, and the alert job tries again until then.
expense_budget_alerts = Table(
    "expense_budget_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("budget_id", Integer, ForeignKey("expense_budgets.id"), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("used", ExactDecimal(), nullable=False),
    Column("crossed_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False),
    UniqueConstraint("budget_id", "threshold"),
    Index(None, "sent_at"),
)
