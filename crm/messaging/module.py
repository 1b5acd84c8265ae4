"""The messaging module: the outbox, SMS / e-mail / fax, subscriptions, campaigns and review, labels.

The module's services as one namespace: ``services.messaging.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.messaging.campaigns import CampaignService
from crm.messaging.mailing_labels import LabelService
from crm.messaging.messaging import MessagingService
from crm.messaging.ports.outbox import InboundSmsHandler, OutboxWorker
from crm.messaging.subscriptions import ConsentAndQuietHoursPolicy, SubscriptionService


@dataclass
class MessagingServices:
    messaging: MessagingService
    outbox_worker: OutboxWorker
    inbound_sms: InboundSmsHandler
    subscriptions: SubscriptionService
    sms_policy: ConsentAndQuietHoursPolicy
    campaigns: CampaignService
    mailing_labels: LabelService
