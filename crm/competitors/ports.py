"""What the competitors module needs from storage (``storage/competitors`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from crm.competitors.model import (
    Competitor,
    CompetitorProduct,
    Intel,
    LossAnswer,
    PriceSide,
)
from crm.organisation.permissions import ScopeFilter
from crm.sales.ports import SalesUnitOfWork


class CompetitorRepository(Protocol):
    async def add(self, competitor: Competitor, key: str) -> Competitor: ...
    async def get(self, competitor_id: int, *, include_deleted: bool = False) -> Competitor | None: ...
    async def by_key(self, key: str) -> Competitor | None:
        """The live competitor whose name is this one (``name_key``)."""
        ...
    async def update(self, competitor_id: int, **fields: Any) -> None: ...
    async def listed(self, *, deleted: bool = False, limit: int, offset: int = 0) -> Sequence[Competitor]:
        """Live (or deleted) competitors by name."""
        ...
    async def names(self) -> Sequence[tuple[int, str]]:
        """Every live competitor's (id, name)."""
        ...


class ProductRepository(Protocol):
    async def add(self, product: CompetitorProduct) -> CompetitorProduct: ...
    async def of(self, competitor_id: int) -> Sequence[CompetitorProduct]:
        """Their live products, the latest seen first."""
        ...
    async def ours(self, category_ids: Sequence[int], *, per_category: int) -> dict[int, Sequence[PriceSide]]:
        """Our catalog's live, active products in these categories with their list prices, by category."""
        ...
    async def category_names(self, category_ids: Sequence[int]) -> dict[int, str]: ...


class IntelRepository(Protocol):
    async def add(self, intel: Intel) -> Intel: ...
    async def get(self, intel_id: int, *, include_deleted: bool = False) -> Intel | None: ...
    async def update(self, intel_id: int, **fields: Any) -> None: ...
    async def listed(self, scope: ScopeFilter, competitor_id: int, *, limit: int, offset: int) -> Sequence[Intel]:
        """Live intel on one competitor written by people in the scope, the latest first."""
        ...


class OpportunityLinkRepository(Protocol):
    async def linked(self, opportunity_id: int) -> Sequence[int]:
        """The competitors linked to the opportunity."""
        ...
    async def link(self, opportunity_id: int, competitor_id: int, at: datetime) -> None: ...
    async def unlink(self, opportunity_id: int, competitor_id: int) -> None: ...
    async def win_loss(self, scope: ScopeFilter, competitor_id: int, since: datetime, before: datetime
                       ) -> tuple[int, int, int]:
        """(won, lost, lost to them) of live opportunities linked to the competitor closed in ``[since, before)``
        and owned by someone in the scope."""
        ...


class LossRepository(Protocol):
    async def open(self, opportunity_id: int, owner_id: int, at: datetime) -> None:
        """Ask (again) who won a lost opportunity: a fresh question, not yet pushed or answered."""
        ...
    async def get(self, opportunity_id: int) -> tuple[int, datetime | None, LossAnswer | None, int | None,
                                                       str | None] | None:
        """(owner id, asked at, answer, winner, why)."""
        ...
    async def unasked(self, *, limit: int) -> Sequence[int]:
        """Opportunities whose question has not been pushed yet, oldest first."""
        ...
    async def update(self, opportunity_id: int, **fields: Any) -> None: ...


class FileStore(Protocol):
    """Where intel photos are kept besides Telegram (storage/competitors/files.py: files under DATA_DIR)."""

    def save(self, intel_id: int, data: bytes) -> str:
        """The path the copy was written to, relative to the store's folder's parent."""
        ...


class CompetitorsRepositories(Protocol):
    @property
    def competitors(self) -> CompetitorRepository: ...
    @property
    def products(self) -> ProductRepository: ...
    @property
    def intel(self) -> IntelRepository: ...
    @property
    def links(self) -> OpportunityLinkRepository: ...
    @property
    def losses(self) -> LossRepository: ...


class CompetitorsUnitOfWork(SalesUnitOfWork, Protocol):
    @property
    def competitors(self) -> CompetitorsRepositories: ...
