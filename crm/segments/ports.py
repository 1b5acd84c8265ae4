"""Storage for saved segments, for moving records between owners (handover), and for small settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from crm.customers.model import Customer
from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.permissions import ScopeFilter
from crm.segments.model import MovedItems, OwnedCounts, Segment, SegmentQuery


class SegmentRepository(Protocol):
    async def add(self, name: str, owner_id: int, filters: Mapping[str, Any], created_at: datetime) -> Segment: ...
    async def get(self, segment_id: int, *, include_deleted: bool = False) -> Segment | None: ...
    async def update(self, segment_id: int, **fields: Any) -> None: ...
    async def list_visible(self, owner_id: int, others: ScopeFilter | None, *, deleted: bool = False,
                           limit: int = 100) -> Sequence[Segment]:
        """Segments created by ``owner_id``, plus those of the staff ``others`` covers (a staff scope)."""
        ...
    async def name_taken(self, owner_id: int, name: str) -> bool: ...

    async def count_customers(self, query: SegmentQuery, *, owner_id: int | None = None) -> int: ...
    async def customers(self, query: SegmentQuery, *, offset: int = 0, limit: int = 20) -> Sequence[Customer]: ...
    async def customer_ids(self, query: SegmentQuery) -> Sequence[int]: ...
    async def no_contact(self, owner_id: int, cutoffs: Mapping[str, datetime], *, limit: int
                         ) -> tuple[Sequence[Customer], int]:
        """An owner's customers of each classification (key) last contacted before its cut-off, longest
        neglected first (at most ``limit``), and how many there are in all."""
        ...


class OwnershipRepository(Protocol):
    """Bulk owner changes. Set-based (one UPDATE per kind of record), so handing over thousands is one step."""

    async def owned(self, owner_id: int, segment: SegmentQuery | None) -> OwnedCounts:
        """Everything ``owner_id`` would hand over: all their open work, or only a segment's customers."""
        ...
    async def owned_by(self, owner_ids: Sequence[int]) -> Mapping[int, OwnedCounts]: ...
    async def reassign(self, from_id: int, to_id: int, segment: SegmentQuery | None, at: datetime) -> MovedItems: ...
    async def record_moves(self, actor_id: int, moved: MovedItems, from_id: int, to_id: int,
                           at: datetime) -> None:
        """One audit row per moved record (before/after owner_id), written in one batch."""
        ...


class SegmentRepositories(Protocol):
    @property
    def segments(self) -> SegmentRepository: ...
    @property
    def ownership(self) -> OwnershipRepository: ...


class SegmentsUnitOfWork(CustomersUnitOfWork, Protocol):
    @property
    def segments(self) -> SegmentRepositories: ...
