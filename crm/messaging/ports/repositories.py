"""The messaging module's repository group and unit of work."""

from __future__ import annotations

from typing import Protocol

from crm.followups.ports import FollowUpsUnitOfWork
from crm.messaging.ports.outbox import OutboxRepository
from crm.messaging.ports.subscriptions import CampaignRepository, SubscriptionRepository, TemplateRepository


class MessagingRepositories(Protocol):
    outbox: OutboxRepository
    subscriptions: SubscriptionRepository
    templates: TemplateRepository
    campaigns: CampaignRepository


class MessagingUnitOfWork(FollowUpsUnitOfWork, Protocol):
    messaging: MessagingRepositories
