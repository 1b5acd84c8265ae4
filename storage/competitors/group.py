"""The competitors module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.competitors.repositories import (
    SqlCompetitorProductRepository,
    SqlCompetitorRepository,
    SqlIntelRepository,
    SqlLossRepository,
    SqlOpportunityLinkRepository,
)


class CompetitorsRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def competitors(self) -> SqlCompetitorRepository:
        return SqlCompetitorRepository(self._conn)

    @cached_property
    def products(self) -> SqlCompetitorProductRepository:
        return SqlCompetitorProductRepository(self._conn)

    @cached_property
    def intel(self) -> SqlIntelRepository:
        return SqlIntelRepository(self._conn)

    @cached_property
    def links(self) -> SqlOpportunityLinkRepository:
        return SqlOpportunityLinkRepository(self._conn)

    @cached_property
    def losses(self) -> SqlLossRepository:
        return SqlLossRepository(self._conn)
