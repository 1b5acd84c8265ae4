"""The HR record: a staff member's profile beyond their login, the key events of their time with us, KPI targets
and performance reviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class EmploymentStatus(StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


class EventKind(StrEnum):
    HIRE = "hire"
    TRANSFER = "transfer"
    PROMOTION = "promotion"
    AWARD = "award"
    WARNING = "warning"
    LEAVE = "leave"
    DEPARTURE = "departure"


# What an event does to the record besides being on the timeline.
STATUS_AFTER: Mapping[EventKind, EmploymentStatus] = {
    EventKind.HIRE: EmploymentStatus.ACTIVE,
    EventKind.LEAVE: EmploymentStatus.ON_LEAVE,
    EventKind.DEPARTURE: EmploymentStatus.LEFT,
}


@dataclass(frozen=True)
class StaffProfile:
    """The HR fields of one staff member; department, name and role stay on the staff row (organisation)."""

    staff_id: int
    employee_no: str | None = None
    title: str | None = None
    manager_id: int | None = None
    hire_date: date | None = None
    phone: str | None = None
    email: str | None = None
    emergency_contact: str | None = None
    status: EmploymentStatus = EmploymentStatus.ACTIVE
    updated_at: datetime | None = None


# Fields edited by typing a value (the manager is picked by name, the status by a button).
TEXT_FIELDS: tuple[str, ...] = ("employee_no", "title", "hire_date", "phone", "email", "emergency_contact")
EDITABLE: tuple[str, ...] = (*TEXT_FIELDS, "manager_id", "status")


@dataclass(frozen=True)
class HrEvent:
    id: int
    staff_id: int
    kind: EventKind
    occurred_on: date
    note: str
    created_by: int
    created_at: datetime
    from_department_id: int | None = None
    to_department_id: int | None = None
    file_id: str | None = None
    file_name: str | None = None
    file_path: str | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class ProfileCard:
    """What the profile card shows: the staff row's facts with the HR fields, and what the viewer may do."""

    staff_id: int
    name: str
    department: str
    role: str
    active: bool
    profile: StaffProfile
    manager_name: str | None
    may_edit: bool
    may_review: bool


@dataclass(frozen=True)
class EventOutcome:
    """A saved event and what followed from it: ``open_work`` the customers, leads, follow-ups... the person still
    owns (a transfer or a departure offers the handover); ``deactivated`` whether a departure locked the login."""

    event: HrEvent
    open_work: Mapping[str, int] = field(default_factory=dict)
    deactivated: bool = False


class PeriodKind(StrEnum):
    MONTH = "m"
    QUARTER = "q"
    YEAR = "y"


class ReviewStatus(StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class KpiTarget:
    kpi: str
    period_kind: PeriodKind
    target: Decimal
    staff_id: int | None = None
    role_id: int | None = None


@dataclass(frozen=True)
class KpiLine:
    """One measure of one person in one period. ``attainment`` is a percentage of the target (None without one)."""

    kpi: str
    title_key: str
    actual: Decimal
    target: Decimal | None
    currency: str | None = None

    @property
    def attainment(self) -> Decimal | None:
        if self.target is None or self.target <= 0:
            return None
        return (self.actual * 100 / self.target).quantize(Decimal("0.1"))


def overall(lines: tuple[KpiLine, ...]) -> Decimal | None:
    """The mean attainment over the measures that have a target (each capped at 200 %, so one runaway figure
    does not hide the others)."""
    shares = [min(a, Decimal(200)) for a in (line.attainment for line in lines) if a is not None]
    if not shares:
        return None
    return (sum(shares, Decimal(0)) / len(shares)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class PersonKpis:
    staff_id: int
    name: str
    lines: tuple[KpiLine, ...]

    @property
    def attainment(self) -> Decimal | None:
        return overall(self.lines)


@dataclass(frozen=True)
class Review:
    id: int
    staff_id: int
    period_kind: PeriodKind
    period_start: date
    reviewer_id: int
    lines: tuple[KpiLine, ...]
    score: int
    comment: str
    status: ReviewStatus
    created_at: datetime
    acknowledged_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def attainment(self) -> Decimal | None:
        return overall(self.lines)
