"""The organisation module: identity, invites, roles, staff, departments."""

from __future__ import annotations

from datetime import timedelta

from bot.module import Module, Wiring
from crm.organisation.departments import DepartmentService
from crm.organisation.identity import IdentityDefaults, IdentityService
from crm.organisation.invites import InviteService
from crm.organisation.module import OrganisationServices
from crm.organisation.roles import RoleService
from crm.organisation.staff import StaffService
from handlers.core.menu import Command
from handlers.organisation import registration
from storage.organisation import tables


def build(wiring: Wiring) -> OrganisationServices:
    settings, uow, clock = wiring.settings, wiring.uow, wiring.clock
    return OrganisationServices(
        identity=IdentityService(
            uow, clock, admin_telegram_ids=settings.admin_telegram_ids,
            defaults=IdentityDefaults(settings.default_locale, settings.default_timezone, settings.zh_script),
        ),
        invites=InviteService(uow, clock, ttl=timedelta(hours=settings.invite_ttl_hours)),
        roles=RoleService(uow, clock),
        staff=StaffService(uow, clock),
        departments=DepartmentService(uow, clock),
    )


MODULE = Module(
    name="organisation",
    requires=(),
    build=build,
    operations=("users.view", "users.invite", "users.manage", "roles.manage", "departments.manage", "audit.view",
                "trash.restore"),
    commands=(
        Command("start", "cmd.start"),
        Command("help", "cmd.help"),
        Command("me", "cmd.me"),
        Command("language", "cmd.language"),
        Command("timezone", "cmd.timezone"),
        Command("invite", "cmd.invite", "users.invite"),
        Command("users", "cmd.users", "users.view"),
        Command("departments", "cmd.departments", "users.view"),
        Command("roles", "cmd.roles", "roles.manage"),
    ),
    handlers=(registration.register,),
    tables=(tables.org_state, tables.departments, tables.roles, tables.staff, tables.invites, tables.audit_log),
)
