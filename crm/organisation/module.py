"""The organisation module: who people are, their roles, departments and invites.

The module's services as one namespace: ``services.organisation.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.organisation.departments import DepartmentService
from crm.organisation.identity import IdentityService
from crm.organisation.invites import InviteService
from crm.organisation.roles import RoleService
from crm.organisation.staff import StaffService


@dataclass
class OrganisationServices:
    identity: IdentityService
    invites: InviteService
    roles: RoleService
    staff: StaffService
    departments: DepartmentService
