"""The service layer as one object, built once by the composition root and handed to handlers and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from crm.clock import Clock
from crm.contacts_leads import ContactService, LeadService
from crm.customers import CustomerService
from crm.followups import FollowUpService
from crm.departments import DepartmentService
from crm.identity import IdentityService
from crm.invites import InviteService
from crm.ports.repositories import UnitOfWorkFactory
from crm.roles import RoleService
from crm.staff import StaffService


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
