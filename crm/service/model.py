"""After-sales service tickets: what a customer reported, who works on it, where it stands, and its SLA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crm.fields.model import FieldDef, FieldValue

SUBJECT_LIMIT = 120
TEXT_LIMIT = 2000
CATEGORY_LIMIT = 40


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # for the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN = frozenset({Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING})

# Where a ticket may go from each status by a status button; assignment moves NEW to ASSIGNED on its own, and
# reopening (from RESOLVED or CLOSED) goes back to IN_PROGRESS.
MOVES: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.ASSIGNED: frozenset({Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING, Status.RESOLVED}),
    Status.WAITING: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset({Status.IN_PROGRESS}),
}


class EntryKind(StrEnum):
    NOTE = "note"  # internal: never leaves the company
    UPDATE = "update"  # to the customer, by SMS and e-mail
    INBOUND = "inbound"  # what the customer texted
    STATUS = "status"
    FILE = "file"  # a photo or file sent in chat: its Telegram file id and a copy under DATA_DIR
    VISIT = "visit"  # the technician's check-in on site: the shared location


class Source(StrEnum):
    CHAT = "chat"
    SMS = "sms"


@dataclass(frozen=True, kw_only=True)
class Ticket:
    id: int
    number: str  # T2026-0001
    year: int
    sequence: int
    customer_id: int | None
    lead_id: int | None
    subject: str
    description: str
    severity: Severity
    category: str | None
    status: Status
    owner_id: int  # the customer's (or lead's) owner: one of the two people the ``service`` scope follows
    assignee_id: int | None  # the other one
    opened_by: int | None  # None: the customer texted in
    source: Source
    phone: str | None  # the number updates go to
    locale: str  # the language the customer is texted in: the keyword they used, else their number's country
    due_at: datetime
    nudge_at: datetime  # when the assignee is nudged (NUDGE_SHARE of the SLA used)
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    nudged_at: datetime | None = None  # the assignee was told the SLA is nearly used
    breach_told_at: datetime | None = None  # the service managers were told it was breached
    satisfaction: int | None = None
    satisfaction_asked_at: datetime | None = None
    contact_id: int | None = None  # the customer's contact who reported it (texted in from the contact's number)
    product_id: int | None = None  # the catalog product it is about, when known
    order_id: int | None = None  # the order it is about, when known
    deleted_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def breached(self, now: datetime) -> bool:
        return self.is_open and now >= self.due_at


@dataclass(frozen=True, kw_only=True)
class Entry:
    id: int
    ticket_id: int
    kind: EntryKind
    text: str
    staff_id: int | None
    created_at: datetime
    file_id: str | None = None
    file_path: str | None = None  # relative to DATA_DIR


@dataclass(frozen=True)
class TicketCard:
    ticket: Ticket
    customer_name: str
    assignee_name: str | None
    entries: tuple[Entry, ...] = ()
    contact_name: str | None = None
    product_label: str | None = None  # "SKU · name" of the linked product
    order_number: str | None = None  # the linked order's number
    custom: tuple[tuple[FieldDef, FieldValue], ...] = ()  # the custom fields with a value, in their order


@dataclass(frozen=True)
class References:
    """The product and order a one-message ``/ticket`` names (``sku:…``, an order number), as understood."""

    product_id: int | None = None
    product_label: str | None = None
    order_id: int | None = None
    order_number: str | None = None


@dataclass(frozen=True)
class Told:
    """A change and the colleagues concerned in Telegram (chat id, locale): told through the outbox for a new
    ticket, to be pushed by the caller for an assignment."""

    card: TicketCard
    tell: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Nudge:
    """An SLA push the job has claimed: ``breach`` to service managers, else to the assignee."""

    ticket: Ticket
    breach: bool
    chat_ids: tuple[tuple[int, str], ...]


def ticket_number(year: int, sequence: int) -> str:
    return f"T{year}-{sequence:04d}"


@dataclass(frozen=True)
class ReportLine:
    """One ticket as the report reads it (one narrow query; the figures are computed from these)."""

    category: str | None
    assignee: str | None
    status: Status
    created_at: datetime
    due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    satisfaction: int | None


@dataclass(frozen=True)
class ReportRow:
    label: str
    opened: int
    open_now: int
    closed: int
    breaches: int
    first_response_hours: float | None  # median
    resolve_hours: float | None  # median
    satisfaction: float | None  # average of the ratings given
    rated: int


@dataclass(frozen=True)
class Report:
    since: datetime
    total: ReportRow
    by_category: tuple[ReportRow, ...]
    by_assignee: tuple[ReportRow, ...]
