"""My office's records: documents filed from chat, personal events with their attendees, calendar feeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

TITLE_LIMIT = 200
TAG_LIMIT = 30
MAX_TAGS = 10
MAX_FILE_BYTES = 20 * 1024 * 1024  # the most a bot may download through getFile


class Visibility(StrEnum):
    ME = "me"  # the person who filed it, nobody else (not their manager either)
    DEPARTMENT = "department"  # everyone in the department it was filed from
    EVERYONE = "everyone"


class LinkKind(StrEnum):
    CUSTOMER = "customer"
    PROJECT = "project"
    OPPORTUNITY = "opportunity"
    TICKET = "ticket"


class FileKind(StrEnum):
    DOCUMENT = "document"  # sent again as a document: its name and type are Telegram's file's own
    PHOTO = "photo"


@dataclass(frozen=True)
class Upload:
    """A file or photo sent in chat: what Telegram keeps (the file id) and what we copy."""

    file_id: str
    name: str
    mime_type: str
    kind: FileKind
    size: int


@dataclass(frozen=True)
class Link:
    kind: LinkKind
    id: int
    label: str  # the linked record's name when filed, shown and searched


@dataclass(frozen=True)
class DocumentDraft:
    title: str
    tags: tuple[str, ...] = ()
    link: Link | None = None
    visibility: Visibility = Visibility.ME


@dataclass(frozen=True)
class Document:
    id: int
    owner_id: int
    department_id: int
    title: str
    title_key: str
    tags: tuple[str, ...]
    visibility: Visibility
    version: int
    latest: bool
    file_id: str
    file_name: str
    mime_type: str
    kind: FileKind
    size: int
    file_path: str | None = None  # the copy under DATA_DIR, relative to it
    link: Link | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class DocumentCard:
    document: Document
    owner_name: str
    versions: tuple[Document, ...] = ()  # every live version, newest first
    mine: bool = False


class EventKind(StrEnum):
    MEETING = "meeting"
    VISIT = "visit"
    CALL = "call"
    LEAVE = "leave"
    OTHER = "other"


class Answer(StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


@dataclass(frozen=True)
class Attendee:
    staff_id: int
    name: str
    answer: Answer = Answer.INVITED


@dataclass(frozen=True)
class EventDraft:
    kind: EventKind
    title: str
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    attendees: tuple[Attendee, ...] = ()


@dataclass(frozen=True)
class Event:
    id: int
    owner_id: int
    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime
    attendees: tuple[Attendee, ...] = field(default_factory=tuple)
    owner_name: str = ""
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class ScheduleItem:
    """One line of /schedule and one VEVENT of the feed: an event or an open follow-up."""

    starts_at: datetime
    ends_at: datetime | None
    title: str
    uid: str
    kind: str  # an EventKind's value, or "followup"
    event_id: int | None = None
    followup_id: int | None = None
