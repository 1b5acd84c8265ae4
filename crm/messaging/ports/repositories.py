"""The messaging module's repository group and unit of work."""

from __future__ import annotations

from typing import Protocol

from crm.followups.ports import FollowUpsUnitOfWork
from crm.messaging.ports.outbox import OutboxRepository
from crm.messaging.ports.subscriptions import CampaignRepository, SubscriptionRepository, TemplateRepository


class MessagingRepositories(Protocol):
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def subscriptions(self) -> SubscriptionRepository: ...
    @property
    def templates(self) -> TemplateRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...


class MessagingUnitOfWork(FollowUpsUnitOfWork, Protocol):
    @property
    def messaging(self) -> MessagingRepositories: ...
