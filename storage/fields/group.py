"""The custom fields module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.fields.repositories import SqlFieldRepository, SqlValueRepository


class FieldsRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def fields(self) -> SqlFieldRepository:
        return SqlFieldRepository(self._conn)

    @cached_property
    def values(self) -> SqlValueRepository:
        return SqlValueRepository(self._conn)
