"""The service layer as one object, built once by the composition root (``bot/modules``) and handed to handlers
and jobs: one namespace per module, ``services.customers.customers.search(...)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.announcements.module import AnnouncementsServices
from crm.billing.module import BillingServices
from crm.competitors.module import CompetitorsServices
from crm.contracts.module import ContractsServices
from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.module import CustomersServices
from crm.digests.module import DigestsServices
from crm.expenses.module import ExpensesServices
from crm.fields.module import FieldsServices
from crm.followups.module import FollowUpsServices
from crm.hr.module import HrServices
from crm.messaging.module import MessagingServices
from crm.office.module import OfficeServices
from crm.orders.module import OrdersServices
from crm.organisation.module import OrganisationServices
from crm.sales.module import SalesServices
from crm.segments.module import SegmentsServices
from crm.service.module import ServiceServices


@dataclass
class Services:
    # The whole unit of work (every module's repositories); modules' services type their own view of it.
    uow: UnitOfWorkFactory[Any]
    clock: Clock
    # One field per registered module (bot/modules/__init__.py), in the registry's order; a test checks the two
    # agree, so a module cannot be registered without being reachable here, or the reverse.
    organisation: OrganisationServices
    customers: CustomersServices
    segments: SegmentsServices
    fields: FieldsServices
    followups: FollowUpsServices
    messaging: MessagingServices
    sales: SalesServices
    orders: OrdersServices
    billing: BillingServices
    expenses: ExpensesServices
    contracts: ContractsServices
    announcements: AnnouncementsServices
    service: ServiceServices
    competitors: CompetitorsServices
    hr: HrServices
    office: OfficeServices
    digests: DigestsServices
