"""The organisation module: who people are, their roles, departments and invites.

The module's services as one namespace: ``services.organisation.<service>``."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.core.extension import ExtensionPoint
from crm.organisation.departments import DepartmentService
from crm.organisation.digest import DigestSection, DigestTrend
from crm.organisation.identity import IdentityService
from crm.organisation.invites import InviteService
from crm.organisation.kpi import KpiSource
from crm.organisation.roles import RoleService
from crm.organisation.staff import StaffService


@dataclass
class OrganisationServices:
    identity: IdentityService
    invites: InviteService
    roles: RoleService
    staff: StaffService
    departments: DepartmentService
    # Parts of a manager's digest, added by the modules that know the figures (crm/organisation/digest.py).
    digest_sections: ExtensionPoint[DigestSection] = field(default_factory=ExtensionPoint)
    # Lines of the weekly and monthly digests' trend chart, added the same way.
    digest_trends: ExtensionPoint[DigestTrend] = field(default_factory=ExtensionPoint)
    # What performance reviews measure, added by the modules that know the figures (crm/organisation/kpi.py).
    kpi_sources: ExtensionPoint[KpiSource] = field(default_factory=ExtensionPoint)
