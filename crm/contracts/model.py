"""Contracts (合同): what was agreed with a customer — value, term, terms text, an attached file — and the
renewal reminder before it ends (docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.money import Money

TITLE_LIMIT = 200
TERMS_LIMIT = 4000
REASON_LIMIT = 500
DEFAULT_REMIND_DAYS = 30
MAX_REMIND_DAYS = 365


class Status(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"  # never stored: an active contract whose end date has passed (``Contract.state``)
    RENEWED = "renewed"  # a renewal copied it with new dates
    TERMINATED = "terminated"  # ended early, with a reason


@dataclass(frozen=True, kw_only=True)
class ContractFields:
    """What a person states about a contract."""

    customer_id: int
    title: str
    value: Decimal
    currency: str
    starts_on: date
    ends_on: date
    terms: str | None = None
    owner_id: int | None = None  # the rep; None: the customer's owner
    remind_days: int = DEFAULT_REMIND_DAYS


@dataclass(frozen=True, kw_only=True)
class Contract(ContractFields):
    id: int
    number: str
    owner_id: int
    status: Status
    created_at: datetime
    updated_at: datetime
    end_reason: str | None = None
    renewed_from: int | None = None  # the contract this one renews
    file_id: str | None = None  # the Telegram file id of the attached document or photo
    file_name: str | None = None
    file_path: str | None = None  # the copy under DATA_DIR, relative to it: it outlives a token change
    reminder_id: int | None = None  # the follow-up row that carries the renewal reminder
    deleted_at: datetime | None = None

    @property
    def money(self) -> Money:
        return Money(self.value, self.currency)

    def state(self, today: date) -> Status:
        """The status as shown: an active contract past its end date is expired."""
        if self.status is Status.ACTIVE and self.ends_on < today:
            return Status.EXPIRED
        return self.status

    @property
    def live(self) -> bool:
        """Still in force or waiting to be renewed: the only state that has a renewal reminder."""
        return self.status is Status.ACTIVE and self.deleted_at is None


@dataclass(frozen=True)
class ContractCard:
    contract: Contract
    customer_name: str
    owner_name: str
    today: date  # the reader's today, for the expired state

    @property
    def state(self) -> Status:
        return self.contract.state(self.today)


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the files' folder
    size: int


def contract_number(prefix: str, year: int, sequence: int) -> str:
    """``C2026-0001``: the counter is per year; past 9999 it simply grows a digit."""
    return f"{prefix}{year}-{sequence:04d}"


def reminder_text(contract: Contract) -> str:
    """The follow-up row's own text (agenda, /today): the same in every language, the reminder push is
    translated."""
    return f"🔁 {contract.number} {contract.title} → {contract.ends_on.isoformat()}"
