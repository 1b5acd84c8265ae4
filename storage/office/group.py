"""The office module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.office.repositories import SqlCalendarRepository, SqlDocumentRepository, SqlEventRepository


class OfficeRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def documents(self) -> SqlDocumentRepository:
        return SqlDocumentRepository(self._conn)

    @cached_property
    def events(self) -> SqlEventRepository:
        return SqlEventRepository(self._conn)

    @cached_property
    def calendars(self) -> SqlCalendarRepository:
        return SqlCalendarRepository(self._conn)
