"""The messaging module's storage: the outbox, SMS subscriptions, templates and campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.messaging.outbox import SqlOutboxRepository
from storage.messaging.subscriptions import (
    SqlCampaignRepository,
    SqlSubscriptionRepository,
    SqlTemplateRepository,
)


class MessagingRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def outbox(self) -> SqlOutboxRepository:
        return SqlOutboxRepository(self._conn, self._now)

    @cached_property
    def subscriptions(self) -> SqlSubscriptionRepository:
        return SqlSubscriptionRepository(self._conn)

    @cached_property
    def templates(self) -> SqlTemplateRepository:
        return SqlTemplateRepository(self._conn)

    @cached_property
    def campaigns(self) -> SqlCampaignRepository:
        return SqlCampaignRepository(self._conn)
