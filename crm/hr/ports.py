"""What the HR module needs from storage (``storage/hr`` implements it) and from outbound (the team chart)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from crm.hr.model import HrEvent, KpiTarget, PeriodKind, Review, StaffProfile
from crm.organisation.ports import OrganisationUnitOfWork


class ProfileRepository(Protocol):
    async def get(self, staff_id: int) -> StaffProfile | None: ...
    async def save(self, profile: StaffProfile) -> None:
        """Insert or replace the profile of ``profile.staff_id``."""
        ...


class EventRepository(Protocol):
    async def add(self, event: HrEvent) -> HrEvent: ...
    async def get(self, event_id: int) -> HrEvent | None: ...
    async def update(self, event_id: int, **fields: Any) -> None: ...
    async def timeline(self, staff_id: int, *, limit: int, offset: int = 0) -> Sequence[HrEvent]:
        """Live events of one person, the latest first."""
        ...


class TargetRepository(Protocol):
    async def for_people(self, staff_ids: Sequence[int], role_ids: Sequence[int]) -> Sequence[KpiTarget]:
        """Every target set for these people or these roles."""
        ...
    async def set(self, target: KpiTarget, by: int) -> Decimal | None:
        """Set (or, with a target of 0, remove) one target; the one it replaced, if any."""
        ...


class ReviewRepository(Protocol):
    async def add(self, review: Review) -> Review: ...
    async def get(self, review_id: int) -> Review | None: ...
    async def find(self, staff_id: int, kind: PeriodKind, first: date) -> Review | None:
        """The live review of a person for a period."""
        ...
    async def update(self, review_id: int, **fields: Any) -> None: ...
    async def of_person(self, staff_id: int, *, limit: int) -> Sequence[Review]:
        """Live reviews of one person, the latest period first."""
        ...


class FileStore(Protocol):
    """Where files attached to events are kept besides Telegram (storage/hr/files.py: under DATA_DIR)."""

    def save(self, event_id: int, name: str, data: bytes) -> str:
        """The path the copy was written to, relative to the store's folder's parent."""
        ...


class TeamChart(Protocol):
    """The team's attainment as a PNG (outbound/kpi_chart.py); called in the worker, off the event loop."""

    def render(self, title: str, people: Sequence[tuple[str, float]]) -> bytes: ...


class HrRepositories(Protocol):
    @property
    def profiles(self) -> ProfileRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def targets(self) -> TargetRepository: ...
    @property
    def reviews(self) -> ReviewRepository: ...


class HrUnitOfWork(OrganisationUnitOfWork, Protocol):
    @property
    def hr(self) -> HrRepositories: ...
