"""What the service module needs from storage (``storage/service`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from crm.orders.ports import OrdersUnitOfWork
from crm.organisation.permissions import ScopeFilter
from crm.service.model import Entry, ReportLine, Ticket


class TicketRepository(Protocol):
    async def next_sequence(self, year: int) -> int:
        """One more than the highest number used this year (the unique (year, sequence) index catches a race)."""
        ...
    async def add(self, ticket: Ticket) -> Ticket: ...
    async def get(self, ticket_id: int) -> Ticket | None:
        """A live (not deleted) ticket."""
        ...
    async def update(self, ticket_id: int, **fields: Any) -> None: ...
    async def listed(self, scope: ScopeFilter, *, mine: int | None, open_only: bool, limit: int) -> Sequence[Ticket]:
        """Live tickets whose owner or assignee the scope allows (``mine``: those that person owns, works on or
        opened)."""
        ...
    async def awaiting_satisfaction(self, phone: str) -> Ticket | None:
        """The latest closed ticket of this number whose satisfaction question is unanswered."""
        ...
    async def report_lines(self, scope: ScopeFilter, since: datetime) -> Sequence[ReportLine]:
        """Live tickets opened since ``since`` whose owner or assignee the scope allows, as the report reads
        them (with the assignee's name)."""
        ...
    async def resolved_in_time(self, staff_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, int]:
        """Per person among ``staff_ids`` (the assignee, else the owner): live tickets resolved in ``[start, end)``
        before they were due (performance reviews)."""
        ...
    async def claim_nudges(self, now: datetime) -> Sequence[Ticket]:
        """Open, assigned tickets past their nudge time not yet nudged, marked nudged in the same statement."""
        ...
    async def claim_breaches(self, now: datetime) -> Sequence[Ticket]:
        """Open tickets past their due time whose managers were not told, marked told in the same statement."""
        ...


class EntryRepository(Protocol):
    async def add(self, entry: Entry) -> Entry: ...
    async def of(self, ticket_id: int, *, limit: int) -> Sequence[Entry]:
        """The latest entries, newest first."""
        ...


class ServiceRepositories(Protocol):
    @property
    def tickets(self) -> TicketRepository: ...
    @property
    def entries(self) -> EntryRepository: ...


class ServiceUnitOfWork(OrdersUnitOfWork, Protocol):
    @property
    def service(self) -> ServiceRepositories: ...
