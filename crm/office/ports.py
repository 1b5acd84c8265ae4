"""What the office module needs from storage (``storage/office`` implements it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from crm.customers.ports import CustomersUnitOfWork
from crm.office.model import Answer, Document, Event, EventDraft


class Viewer(Protocol):
    """Whose documents a reader may see: their own, their department's shared ones, everyone's shared ones."""

    @property
    def staff_id(self) -> int: ...
    @property
    def department_id(self) -> int: ...


class DocumentRepository(Protocol):
    async def add(self, document: Document, terms: set[str]) -> Document: ...
    async def get(self, document_id: int, *, include_deleted: bool = False) -> Document | None: ...
    async def versions(self, owner_id: int, title_key: str) -> Sequence[Document]:
        """Every live version of one owner's title, the newest first."""
        ...
    async def last_version(self, owner_id: int, title_key: str) -> int:
        """The highest version number ever filed under this title (deleted ones count), 0 for none."""
        ...
    async def mark_latest(self, owner_id: int, title_key: str) -> None:
        """Only the newest live version of the title is ``latest`` (what lists and searches show)."""
        ...
    async def set_deleted(self, document_id: int, at: datetime | None) -> None: ...
    async def set_path(self, document_id: int, path: str) -> None: ...
    async def visible(self, viewer: Viewer, *, exact: Sequence[str] = (), prefixes: Sequence[str] = (),
                      link: tuple[str, int] | None = None, deleted: bool = False, limit: int,
                      offset: int = 0) -> Sequence[Document]:
        """Latest versions the viewer may see whose search terms include every ``exact`` term and start with
        every prefix (no terms: the newest), or linked to this record; ``deleted``: the viewer's own trash."""
        ...


class EventRepository(Protocol):
    async def add(self, owner_id: int, draft: EventDraft, at: datetime) -> Event: ...
    async def get(self, event_id: int, *, include_deleted: bool = False) -> Event | None: ...
    async def answer(self, event_id: int, staff_id: int, answer: Answer, at: datetime) -> bool:
        """Record an invited person's answer; False when they are not invited to it."""
        ...
    async def set_deleted(self, event_id: int, at: datetime | None) -> None: ...
    async def update(self, event_id: int, *, title: str, starts_at: datetime, ends_at: datetime) -> None: ...
    async def invite(self, event_id: int, staff_ids: Sequence[int]) -> None:
        """Add these people to the event, invited (not yet answered)."""
        ...
    async def uninvite(self, event_id: int, staff_ids: Sequence[int]) -> None:
        """Take these people off the event (their reminder rows' links too)."""
        ...
    async def set_reminder(self, event_id: int, staff_id: int, followup_id: int) -> None:
        """The person's reminder of the event is this follow-up row (replacing an earlier one)."""
        ...
    async def reminders(self, event_id: int) -> Mapping[int, int]:
        """staff id → the follow-up row reminding them of the event."""
        ...
    async def reminded(self, followup_ids: Sequence[int]) -> Mapping[int, Event]:
        """Which of these follow-ups remind of an event (live or not): follow-up id → the event."""
        ...
    async def of_person(self, staff_id: int, start: datetime, end: datetime) -> Sequence[Event]:
        """Live events overlapping [start, end) that the person owns or has accepted."""
        ...


class CalendarRepository(Protocol):
    async def set_token(self, staff_id: int, token_hash: str, at: datetime) -> None:
        """The person's one feed token (the previous one, if any, stops working)."""
        ...
    async def has_token(self, staff_id: int) -> bool: ...
    async def owner_of(self, token_hash: str) -> int | None: ...


class WeekChart(Protocol):
    def render(self, title: str, days: Sequence[str], bars: Sequence[tuple[int, float, float, str, str]]) -> bytes:
        """A PNG of one week: a column per day (``days`` name them), a bar per (day index, start hour, length in
        hours, title, kind)."""
        ...


class OfficeRepositories(Protocol):
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def calendars(self) -> CalendarRepository: ...


class OfficeUnitOfWork(CustomersUnitOfWork, Protocol):
    @property
    def office(self) -> OfficeRepositories: ...
