"""The service layer as one object, built once by the composition root and handed to handlers and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.clock import Clock
from crm.customers.contacts_leads import ContactService, LeadService
from crm.customers.customers import CustomerService
from crm.customers.exporting import ExportService
from crm.customers.importing import ImportService
from crm.followups.agenda import AgendaService
from crm.followups.followups import FollowUpService
from crm.followups.nudges import NudgeService
from crm.followups.reminders import ReminderService
from crm.messaging.campaigns import CampaignService
from crm.messaging.mailing_labels import LabelService
from crm.messaging.messaging import MessagingService
from crm.messaging.ports.outbox import InboundSmsHandler, OutboxWorker
from crm.messaging.subscriptions import ConsentAndQuietHoursPolicy, SubscriptionService
from crm.organisation.departments import DepartmentService
from crm.organisation.identity import IdentityService
from crm.organisation.invites import InviteService
from crm.organisation.roles import RoleService
from crm.organisation.staff import StaffService
from crm.segments.handover import HandoverService
from crm.segments.segments import SegmentService
from crm.unit_of_work import UnitOfWorkFactory


@dataclass
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    identity: IdentityService
    invites: InviteService
    roles: RoleService
    staff: StaffService
    departments: DepartmentService
    customers: CustomerService
    contacts: ContactService
    leads: LeadService
    followups: FollowUpService
    importing: ImportService
    exporting: ExportService
    reminders: ReminderService
    agenda: AgendaService
    subscriptions: SubscriptionService
    sms_policy: ConsentAndQuietHoursPolicy
    campaigns: CampaignService
    mailing_labels: LabelService
    # Outgoing messages: chat sends, the dispatcher the scheduler drives, and texts customers send us.
    messaging: MessagingService
    outbox_worker: OutboxWorker
    inbound_sms: InboundSmsHandler
    segments: SegmentService
    handover: HandoverService
    nudges: NudgeService
