"""What an announcement is, who it goes to, and what its author and readers see of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

BODY_LIMIT = 3500  # Telegram allows 4,096 characters; the header, the author and "(edited)" need the rest
PAGE = 10
NAMES_PAGE = 30


class AudienceKind(StrEnum):
    ALL = "all"
    DEPARTMENT = "department"  # that department and the ones below it
    ROLE = "role"


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    target_id: int | None = None


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    file_id: str  # Telegram's, to send it again without uploading
    path: str | None = None  # our own copy under DATA_DIR, relative to it


@dataclass(frozen=True)
class AnnouncementDraft:
    body: str
    audience: Audience
    publish_at: datetime | None = None  # None: now
    pinned: bool = False
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Announcement:
    id: int
    author_id: int
    body: str
    audience: Audience
    pinned: bool
    publish_at: datetime
    published_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    attachment: Attachment | None = None
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: int | None = None

    @property
    def withdrawn(self) -> bool:
        return self.deleted_at is not None

    @property
    def edited(self) -> bool:
        return self.edited_at is not None


@dataclass(frozen=True)
class BoardItem:
    """One announcement as one reader sees it."""

    announcement: Announcement
    author_name: str
    read: bool


@dataclass(frozen=True)
class AuthorView:
    """One announcement as its author (or an admin) sees it: with the read-receipt counts."""

    announcement: Announcement
    author_name: str
    audience_name: str
    recipients: int
    read: int
    delivered: int


@dataclass(frozen=True)
class ReadList:
    view: AuthorView
    read_names: tuple[str, ...]
    unread_names: tuple[str, ...]
    page: int
    has_more: bool


@dataclass(frozen=True)
class AudienceChoice:
    id: int
    name: str
    depth: int = 0


@dataclass(frozen=True)
class Audiences:
    departments: tuple[AudienceChoice, ...]
    roles: tuple[AudienceChoice, ...]


@dataclass(frozen=True)
class Published:
    announcement: Announcement
    recipients: int  # 0 while it is scheduled


# ---- delivery (the dispatcher's side) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Where and how one recipient's message goes."""

    id: int
    staff_id: int
    chat_id: int | None
    message_id: int | None  # set: the message is delivered and is to be edited to the current text
    read: bool
    locale: str | None
    timezone: str | None


@dataclass(frozen=True)
class DueMessage:
    recipient: Recipient
    announcement: Announcement
    author_name: str


@dataclass(frozen=True)
class NudgeDue:
    recipient: Recipient
    announcement: Announcement
    author_name: str
