"""The segments module's storage: saved segments and ownership (handover)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.segments.repositories import SqlOwnershipRepository, SqlSegmentRepository


class SegmentRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def segments(self) -> SqlSegmentRepository:
        return SqlSegmentRepository(self._conn)

    @cached_property
    def ownership(self) -> SqlOwnershipRepository:
        return SqlOwnershipRepository(self._conn)
