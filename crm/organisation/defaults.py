"""A fresh database gets the default roles and a root department, once."""

from __future__ import annotations

from crm.organisation import audit
from crm.organisation.identity import ROOT_DEPARTMENT_NAME
from crm.organisation.permissions import DEFAULT_ROLES
from crm.unit_of_work import UnitOfWorkFactory


async def ensure_defaults(uow_factory: UnitOfWorkFactory, company_name: str = ROOT_DEPARTMENT_NAME) -> None:
    async with uow_factory() as uow:
        changed = False
        for template in DEFAULT_ROLES:
            if await uow.organisation.roles.get_by_name(template.name) is None:
                role = await uow.organisation.roles.add(template.name, template.permissions, template.scopes,
                                                        is_system=True)
                await audit.record(uow, None, "create", "role", role.id, {},
                                   {"name": role.name, "permissions": role.permissions, "scopes": role.scopes})
                changed = True
        if not any(d.parent_id is None for d in await uow.organisation.departments.list_all()):
            dep = await uow.organisation.departments.add(company_name, None)
            await audit.record(uow, None, "create", "department", dep.id, {}, {"name": company_name})
            changed = True
        if changed:
            await uow.organisation.state.bump()
            await uow.commit()
