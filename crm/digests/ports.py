"""What the digests module needs from storage (``storage/digests``) and from outbound (the trend chart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from crm.organisation.ports import OrganisationUnitOfWork


@dataclass(frozen=True)
class Recipient:
    """An active staff member reachable on Telegram whose role holds ``digests.receive``, with their settings
    (``frequency`` None: the default)."""

    staff_id: int
    timezone: str | None
    frequency: str | None


class DigestRepository(Protocol):
    async def frequency(self, staff_id: int) -> str | None: ...
    async def set_frequency(self, staff_id: int, frequency: str, at: datetime) -> None: ...
    async def recipients(self, role_ids: Sequence[int]) -> Sequence[Recipient]:
        """Active staff with a Telegram account and one of these roles."""
        ...
    async def claimed(self, staff_ids: Sequence[int], since: date) -> set[tuple[int, str, date]]:
        """(staff id, frequency, period's first day) of the claims of these people for periods from ``since``."""
        ...
    async def claim(self, staff_id: int, frequency: str, first: date, at: datetime) -> bool:
        """Insert the claim of one digest unless it exists (a unique key): True for exactly one caller."""
        ...
    async def release(self, staff_id: int, frequency: str, first: date) -> None:
        """Drop an unsent claim: the push failed for a reason that may pass."""
        ...
    async def mark_sent(self, staff_id: int, frequency: str, first: date, at: datetime) -> None: ...


class DigestsRepositories(Protocol):
    @property
    def digests(self) -> DigestRepository: ...


class DigestsUnitOfWork(OrganisationUnitOfWork, Protocol):
    @property
    def digests(self) -> DigestsRepositories: ...


class TrendChart(Protocol):
    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[int]]]) -> bytes:
        """A PNG: one line per (name, values), ``points`` naming the x-axis positions."""
        ...
