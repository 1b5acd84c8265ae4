"""Discount approval requests and how a record describes itself to them (crm/sales/discounts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.money import Money


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class DiscountApproval:
    """One request: the discount asked for (``percent``) over the owner's ``limit`` at the time, and its outcome.
    An approval covers the record up to ``percent``: a later, larger discount needs another."""

    id: int
    kind: str
    subject_id: int
    owner_id: int
    requested_by: int
    percent: Decimal
    limit: Decimal
    status: ApprovalStatus
    created_at: datetime
    reason: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Discounted:
    """How a subject describes itself to the approver and to this machinery."""

    kind: str
    subject_id: int
    owner_id: int
    title: str  # its number
    customer_name: str
    total: Money
    percent: Decimal  # the effective discount off the customer's prices
    sendable: bool = True  # False once it is past asking (accepted, cancelled…): nothing to approve any more
