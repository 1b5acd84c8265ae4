"""Projects (專案): a name, optionally a customer, an owner and a status; expenses may be on one (``#name`` in the
one-message form).

- ``projects.manage`` to create one (the actor owns it) and to rename or change the status of one in scope.
- Who sees a project: the ``expenses`` query scope applied to its owner (a rep their own, a manager their
  department tree). Its card totals the expenses on it that the reader may see, not counting rejected ones.
- ``#name`` picks among every open (not closed) project: people log expenses on projects colleagues run, and the
  name is all the expense shows of it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.money import Money
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.expenses.model import PROJECT_NAME_LIMIT, Project, ProjectCard, ProjectStatus, fold
from crm.expenses.ports import ExpensesUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor

LIST_LIMIT = 50
PICK_LIMIT = 8  # projects offered as buttons when ``#name`` matches several


def project_name(text: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", text).split()).lstrip("#").strip()
    if not name:
        raise ValidationFailed("expenses.error_project_name")
    if len(name) > PROJECT_NAME_LIMIT:
        raise ValidationFailed("error.field_too_long", field="name", limit=PROJECT_NAME_LIMIT)
    return name


def name_key(name: str) -> str:
    return fold(unicodedata.normalize("NFKC", name))


class ProjectService:
    def __init__(self, uow: UnitOfWorkFactory[ExpensesUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    @staticmethod
    def _may_read(actor: Actor) -> None:
        if not any(actor.can(op) for op in ("projects.manage", "expenses.create", "expenses.approve")):
            actor.require("projects.manage")

    async def create(self, actor: Actor, name: str, customer_id: int | None = None) -> ProjectCard:
        actor.require("projects.manage")
        name = project_name(name)
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.expenses.projects.taken(name_key(name)):
                raise Conflict("expenses.error_project_taken", name=name)
            if customer_id is not None:
                await visible_customer(uow, actor, customer_id)
            project = await uow.expenses.projects.add(Project(
                id=0, name=name, owner_id=actor.staff_id, status=ProjectStatus.ACTIVE, customer_id=customer_id,
                created_at=now, updated_at=now), name_key(name))
            await audit.record(uow, actor.staff_id, "create", "project", project.id, {},
                               {"name": name, "customer_id": customer_id, "owner_id": actor.staff_id,
                                "status": project.status})
            card = await self._card(uow, actor, project)
            await uow.commit()
        return card

    async def _visible(self, uow: ExpensesUnitOfWork, actor: Actor, project_id: int) -> Project:
        project = await uow.expenses.projects.get(project_id)
        if project is None:
            raise NotFound()
        owner = await uow.organisation.staff.get(project.owner_id)
        if owner is None or not actor.scope_filter("expenses").allows(owner.id, owner.department_id):
            raise NotFound()
        return project

    async def _card(self, uow: ExpensesUnitOfWork, actor: Actor, project: Project) -> ProjectCard:
        owner = await uow.organisation.staff.get(project.owner_id)
        customer = (await uow.customers.customers.get(project.customer_id, include_deleted=True)
                    if project.customer_id is not None else None)
        sums, count = await uow.expenses.projects.totals(actor.scope_filter("expenses"), project.id)
        return ProjectCard(project, owner.name if owner else "?", customer.name if customer else None,
                           tuple(Money(amount, currency) for currency, amount in sums), count)

    async def card(self, actor: Actor, project_id: int) -> ProjectCard:
        self._may_read(actor)
        async with self._uow(write=False) as uow:
            return await self._card(uow, actor, await self._visible(uow, actor, project_id))

    async def listed(self, actor: Actor, page: int = 0) -> Sequence[Project]:
        """One page (``LIST_LIMIT`` + 1 rows, so the caller knows whether there is more)."""
        self._may_read(actor)
        async with self._uow(write=False) as uow:
            return await uow.expenses.projects.listed(actor.scope_filter("expenses"), limit=LIST_LIMIT + 1,
                                                      offset=page * LIST_LIMIT)

    async def set_status(self, actor: Actor, project_id: int, status: ProjectStatus) -> ProjectCard:
        actor.require("projects.manage")
        async with self._uow() as uow:
            project = await self._visible(uow, actor, project_id)
            if project.status is not status:
                now = self._clock.now()
                await uow.expenses.projects.update(project_id, status=status, updated_at=now)
                await audit.record(uow, actor.staff_id, "update", "project", project_id,
                                   {"status": project.status}, {"status": status})
                project = replace(project, status=status, updated_at=now)
            card = await self._card(uow, actor, project)
            await uow.commit()
        return card

    async def rename(self, actor: Actor, project_id: int, name: str) -> ProjectCard:
        """A new name, unique among live projects as a new project's is (another spelling of its own name — case,
        width — is fine). Expenses show the project by its id, so they follow the new name."""
        actor.require("projects.manage")
        name = project_name(name)
        key = name_key(name)
        async with self._uow() as uow:
            project = await self._visible(uow, actor, project_id)
            if name != project.name:
                if key != name_key(project.name) and await uow.expenses.projects.taken(key):
                    raise Conflict("expenses.error_project_taken", name=name)
                now = self._clock.now()
                await uow.expenses.projects.update(project_id, name=name, name_key=key, updated_at=now)
                await audit.record(uow, actor.staff_id, "update", "project", project_id, {"name": project.name},
                                   {"name": name})
                project = replace(project, name=name, updated_at=now)
            card = await self._card(uow, actor, project)
            await uow.commit()
        return card

    async def matching(self, actor: Actor, text: str) -> Sequence[Project]:
        """Open projects for ``#text``: the one named exactly so, else those whose name contains it."""
        if not actor.can("expenses.create") and not actor.can("expenses.budget"):
            raise PermissionDenied(operation="expenses.create")
        key = name_key(text.lstrip("#"))
        if not key:
            return []
        async with self._uow(write=False) as uow:
            found = await uow.expenses.projects.named(key, limit=PICK_LIMIT)
        exact = [p for p in found if name_key(p.name) == key]
        return exact[:1] if exact else found

    async def open_project(self, actor: Actor, project_id: int) -> Project:
        """An open project picked by a button (any project, as with ``#name``)."""
        if not actor.can("expenses.create") and not actor.can("expenses.budget"):
            raise PermissionDenied(operation="expenses.create")
        async with self._uow(write=False) as uow:
            project = await uow.expenses.projects.get(project_id)
        if project is None or project.status is ProjectStatus.CLOSED:
            raise NotFound()
        return project
