"""What the announcements module needs from storage (``storage/announcements`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crm.announcements.model import Announcement, AnnouncementDraft, DueMessage, NudgeDue
from crm.organisation.permissions import ScopeFilter
from crm.organisation.ports import OrganisationUnitOfWork


@dataclass(frozen=True)
class Counts:
    recipients: int
    read: int
    delivered: int


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row: ``state`` sent | failed | pending (retry at ``next_at``)."""

    recipient_id: int
    state: str
    version: int
    message_id: int | None = None
    next_at: datetime | None = None


@dataclass(frozen=True)
class UnreadRow:
    staff_id: int
    name: str
    unread: int


class AnnouncementRepository(Protocol):
    async def add(self, author_id: int, draft: AnnouncementDraft, publish_at: datetime,
                  now: datetime) -> Announcement: ...
    async def get(self, announcement_id: int, *, withdrawn: bool = False) -> Announcement | None:
        """A live announcement, or also a withdrawn one with ``withdrawn``."""
        ...
    async def update(self, announcement_id: int, **fields: Any) -> None: ...
    async def bump(self, announcement_id: int, now: datetime, **fields: Any) -> None:
        """Change it and move its version, so every delivered message is edited to the new text."""
        ...
    async def scheduled_due(self, now: datetime, limit: int) -> Sequence[int]: ...
    async def release(self, announcement_id: int, now: datetime, *, department_ids: Sequence[int] | None = None,
                      role_id: int | None = None) -> int | None:
        """List the recipients (active staff, of those departments or that role when given), once: None when it
        was released already or withdrawn meanwhile."""
        ...
    async def board(self, staff_id: int, *, offset: int, limit: int) -> Sequence[tuple[Announcement, str, bool]]:
        """Live, published announcements addressed to the staff member: pinned first, newest first, with the
        author's name and whether it was read."""
        ...
    async def addressed(self, announcement_id: int, staff_id: int) -> bool | None:
        """Whether the staff member read it (None: not addressed to them)."""
        ...
    async def mark_read(self, announcement_id: int, staff_id: int, now: datetime,
                        pressed_message_id: int | None = None) -> bool:
        """The receipt, once. A delivered message other than the one pressed (Got it on the nudge, or on the
        copy /board opened) is due again as an edit, so that it loses its button too."""
        ...
    async def authored(self, author_id: int | None, *, offset: int, limit: int) -> Sequence[Announcement]:
        """An author's announcements (every author's with None), withdrawn and scheduled ones too."""
        ...
    async def counts(self, announcement_id: int) -> Counts: ...
    async def names(self, announcement_id: int, *, read: bool, offset: int, limit: int) -> Sequence[str]: ...
    async def unread_in_scope(self, scope: ScopeFilter, *, limit: int) -> tuple[int, Sequence[UnreadRow]]:
        """Unread deliveries of live announcements to staff in the scope: the total and the people with most."""
        ...
    async def published_between(self, scope: ScopeFilter, start: datetime, end: datetime) -> int: ...


class DeliveryRepository(Protocol):
    async def claim(self, worker: str, now: datetime, lease_until: datetime, limit: int) -> Sequence[DueMessage]: ...
    async def sending(self, worker: str, recipient_ids: Sequence[int]) -> Sequence[int]:
        """Mark claimed rows as out on the wire; the ids still held by the worker."""
        ...
    async def finish(self, worker: str, outcomes: Sequence[Outcome], now: datetime) -> int: ...
    async def release(self, worker: str, recipient_ids: Sequence[int]) -> None: ...
    async def abandon_stale(self, now: datetime) -> int:
        """Rows left "sending" by a worker whose lease ran out: counted as sent, never sent again."""
        ...
    async def nudge_candidates(self, delivered_before: datetime, limit: int) -> Sequence[NudgeDue]: ...
    async def claim_nudges(self, recipient_ids: Sequence[int], now: datetime) -> Sequence[int]:
        """Mark as nudged, once: the ids this caller won."""
        ...


class AnnouncementsRepositories(Protocol):
    @property
    def announcements(self) -> AnnouncementRepository: ...
    @property
    def deliveries(self) -> DeliveryRepository: ...


class AnnouncementsUnitOfWork(OrganisationUnitOfWork, Protocol):
    @property
    def announcements(self) -> AnnouncementsRepositories: ...
