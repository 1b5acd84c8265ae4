"""The announcements module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.announcements.repositories import SqlAnnouncementRepository, SqlDeliveryRepository


class AnnouncementsRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def announcements(self) -> SqlAnnouncementRepository:
        return SqlAnnouncementRepository(self._conn)

    @cached_property
    def deliveries(self) -> SqlDeliveryRepository:
        return SqlDeliveryRepository(self._conn)
