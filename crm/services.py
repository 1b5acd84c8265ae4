"""The service layer as one object, built once by the composition root and handed to handlers and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from crm.agenda import AgendaService
from crm.campaigns import CampaignService
from crm.clock import Clock
from crm.contacts_leads import ContactService, LeadService
from crm.customers import CustomerService
from crm.departments import DepartmentService
from crm.exporting import ExportService
from crm.followups import FollowUpService
from crm.handover import HandoverService
from crm.identity import IdentityService
from crm.importing import ImportService
from crm.invites import InviteService
from crm.mailing_labels import LabelService
from crm.messaging import MessagingService
from crm.nudges import NudgeService
from crm.ports.outbox import InboundSmsHandler, OutboxWorker
from crm.ports.repositories import UnitOfWorkFactory
from crm.reminders import ReminderService
from crm.roles import RoleService
from crm.segments import SegmentService
from crm.staff import StaffService
from crm.subscriptions import ConsentAndQuietHoursPolicy, SubscriptionService


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
