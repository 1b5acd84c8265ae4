"""The messaging module: the outbox and its dispatcher, SMS / e-mail / fax, subscriptions and consent, campaigns
and SMS review, address labels."""

from __future__ import annotations

from bot.i18n import Catalogs
from bot.module import Module, Wiring
from crm.customers.module import CustomersServices
from crm.messaging.campaigns import CampaignService
from crm.messaging.mailing_labels import LabelService, sender_address
from crm.messaging.messaging import SentMessagesSection
from crm.messaging.module import MessagingServices
from crm.messaging.subscriptions import CatalogTexts, ConsentAndQuietHoursPolicy, SmsProgram, SubscriptionService
from crm.segments.module import SegmentsServices
from handlers.core.menu import Command
from handlers.messaging import campaigns, mailing_labels, messaging, subscriptions
from outbound.dispatch_wiring import build_outbound
from outbound.labels_pdf import ReportlabLabelRenderer
from scheduler.messaging import outbox, sms_review
from storage.messaging import tables
from storage.offloop import worker_beside


def build(wiring: Wiring) -> MessagingServices:
    settings, uow, clock = wiring.settings, wiring.uow, wiring.clock
    segments = wiring.need(SegmentsServices).segments
    program = SmsProgram.from_settings(settings)
    outbound = build_outbound(settings, uow, clock, sinks=wiring.sinks)
    subscription_service = SubscriptionService(uow, clock, program, CatalogTexts(lambda: Catalogs().messages))
    policy = ConsentAndQuietHoursPolicy(uow, program)
    # Before each send the SMS programme decides consent and quiet hours; carrier opt-outs reach the consents.
    outbound.connect(policy=policy, consent=subscription_service)
    # The customer card shows what was sent to the customer.
    wiring.need(CustomersServices).customers.card_sections.add(SentMessagesSection())
    return MessagingServices(
        messaging=outbound.messaging,
        outbox_worker=outbound.dispatcher,
        inbound_sms=subscription_service,  # texts customers send us: STOP, HELP, keywords
        subscriptions=subscription_service,
        sms_policy=policy,
        campaigns=CampaignService(uow, clock, program, segments=segments),
        mailing_labels=LabelService(uow, clock, ReportlabLabelRenderer(),
                                    sender_address(settings.company_name, settings.company_address),
                                    segments=segments, worker=worker_beside(uow, clock)),
    )


MODULE = Module(
    name="messaging",
    requires=("organisation", "customers", "segments", "followups"),
    build=build,
    operations=("sms.send", "sms.send_direct", "sms.review", "email.send", "fax.send"),
    commands=(
        Command("outbox", "messaging.cmd_outbox"),
        Command("templates", "subscriptions.cmd_templates", "sms.send"),
        Command("campaign", "subscriptions.cmd_campaign", "sms.send"),
        Command("review", "subscriptions.cmd_review", "sms.review"),
        Command("consent", "subscriptions.cmd_consent", "sms.send"),
        Command("labels", "subscriptions.cmd_labels", "customers.view"),
    ),
    handlers=(messaging.register, campaigns.register, subscriptions.register, mailing_labels.register),
    jobs=(outbox.register, sms_review.register),
    tables=(tables.outbox, tables.outbox_attachments, tables.outbox_early_reports, tables.sms_topics,
            tables.sms_consents, tables.sms_templates, tables.sms_campaigns),
)
