"""The follow-ups module's storage: reminder rows (interactions and follow-ups are a customer's activity, with the
customers module)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.followups.repositories import SqlReminderRepository


class FollowUpRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def reminders(self) -> SqlReminderRepository:
        return SqlReminderRepository(self._conn)
