"""Departments form a tree; every staff member belongs to exactly one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.organisation import audit
from crm.organisation.model import Department
from crm.organisation.permissions import Actor
from crm.unit_of_work import UnitOfWorkFactory

MAX_NAME = 80


def subtree(departments: Iterable[Department], root_id: int) -> frozenset[int]:
    """The ids of ``root_id`` and every department below it."""
    children: dict[int | None, list[int]] = {}
    for d in departments:
        if d.deleted_at is None:
            children.setdefault(d.parent_id, []).append(d.id)
    found = {root_id}
    stack = [root_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)


def ordered_tree(departments: Sequence[Department]) -> list[tuple[int, Department]]:
    """Depth-first order with depth, for display."""
    children: dict[int | None, list[Department]] = {}
    for d in departments:
        children.setdefault(d.parent_id, []).append(d)
    for kids in children.values():
        kids.sort(key=lambda d: d.name)
    known = {d.id for d in departments}
    roots = [d for d in departments if d.parent_id is None or d.parent_id not in known]
    out: list[tuple[int, Department]] = []

    def walk(dep: Department, depth: int) -> None:
        out.append((depth, dep))
        for kid in children.get(dep.id, []):
            walk(kid, depth + 1)

    for root in sorted(roots, key=lambda d: d.name):
        walk(root, 0)
    return out


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("error.name_empty")
    if len(cleaned) > MAX_NAME:
        raise ValidationFailed("error.name_too_long", limit=MAX_NAME)
    return cleaned


class DepartmentService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def tree(self, actor: Actor) -> list[tuple[int, Department]]:
        actor.require("users.view")
        async with self._uow(write=False) as uow:
            return ordered_tree(list(await uow.organisation.departments.list_all()))

    async def get(self, actor: Actor, department_id: int) -> Department:
        actor.require("users.view")
        async with self._uow(write=False) as uow:
            dep = await uow.organisation.departments.get(department_id)
        if dep is None or dep.deleted_at is not None:
            raise NotFound()
        return dep

    async def create(self, actor: Actor, name: str, parent_id: int | None) -> Department:
        actor.require("departments.manage")
        name = clean_name(name)
        async with self._uow() as uow:
            if parent_id is not None:
                parent = await uow.organisation.departments.get(parent_id)
                if parent is None or parent.deleted_at is not None:
                    raise NotFound()
            dep = await uow.organisation.departments.add(name, parent_id)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "create", "department", dep.id, {},
                               {"name": name, "parent_id": parent_id})
            await uow.commit()
        return dep

    async def rename(self, actor: Actor, department_id: int, name: str) -> None:
        actor.require("departments.manage")
        name = clean_name(name)
        async with self._uow() as uow:
            dep = await uow.organisation.departments.get(department_id)
            if dep is None or dep.deleted_at is not None:
                raise NotFound()
            await uow.organisation.departments.update(department_id, name=name)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "rename", "department", department_id,
                               {"name": dep.name}, {"name": name})
            await uow.commit()

    async def delete(self, actor: Actor, department_id: int) -> None:
        """Soft delete; refused while staff or sub-departments remain, so nobody is left without one."""
        actor.require("departments.manage")
        async with self._uow() as uow:
            deps = list(await uow.organisation.departments.list_all())
            dep = next((d for d in deps if d.id == department_id and d.deleted_at is None), None)
            if dep is None:
                raise NotFound()
            if dep.parent_id is None:
                raise Conflict("error.department_is_root")
            if any(d.parent_id == department_id and d.deleted_at is None for d in deps):
                raise Conflict("error.department_has_children")
            if await uow.organisation.departments.count_members(department_id):
                raise Conflict("error.department_has_members")
            now = self._clock.now()
            await uow.organisation.departments.update(department_id, deleted_at=now)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "delete", "department", department_id,
                               {"deleted_at": None}, {"deleted_at": now})
            await uow.commit()

    async def deleted(self, actor: Actor) -> list[Department]:
        actor.require("departments.manage")
        async with self._uow(write=False) as uow:
            return [d for d in await uow.organisation.departments.list_all(include_deleted=True) if d.deleted_at is not None]

    async def restore(self, actor: Actor, department_id: int) -> None:
        actor.require("departments.manage")
        async with self._uow() as uow:
            dep = await uow.organisation.departments.get(department_id)
            if dep is None or dep.deleted_at is None:
                raise NotFound()
            parent = await uow.organisation.departments.get(dep.parent_id) if dep.parent_id is not None else None
            if parent is not None and parent.deleted_at is not None:
                raise Conflict("error.department_parent_deleted")
            await uow.organisation.departments.update(department_id, deleted_at=None)
            await uow.organisation.state.bump()
            await audit.record(uow, actor.staff_id, "restore", "department", department_id,
                               {"deleted_at": dep.deleted_at}, {"deleted_at": None})
            await uow.commit()
