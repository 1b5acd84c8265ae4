"""Identity, invites, roles, staff and departments over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Scope
from storage import tables as t
from tests.support.org import ADMIN_TG, make_org


async def test_configured_admin_is_bootstrapped_once_and_strangers_are_nobody(engine: AsyncEngine,
                                                                              clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    assert org.admin.role_name == "admin"
    assert org.admin.can("roles.manage")
    again = await org.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert again is not None and again.staff_id == org.admin.staff_id
    assert await org.services.organisation.identity.actor_for(TelegramIdentity(555, "Mallory")) is None
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(t.staff))).scalar_one() == 1


async def test_invite_is_single_use_and_expires(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services
    rep_role = (await s.organisation.roles.assignable(org.admin))[2]
    assert rep_role.name == "rep"
    invite = await s.organisation.invites.create(org.admin, rep_role.id, org.north)
    assert invite.code.startswith("inv_") and len(invite.code) <= 64
    staff = await s.organisation.invites.accept(invite.code, TelegramIdentity(2001, "Bob", "Wang", "bobw"))
    assert (staff.name, staff.role_id, staff.department_id) == ("Bob Wang", rep_role.id, org.north)
    with pytest.raises(Conflict) as used:
        await s.organisation.invites.accept(invite.code, TelegramIdentity(2002, "Eve"))
    assert used.value.key == "invite.used"
    with pytest.raises(NotFound):
        await s.organisation.invites.accept("inv_nonexistent", TelegramIdentity(2002, "Eve"))
    late = await s.organisation.invites.create(org.admin, rep_role.id, org.north)
    clock.advance(timedelta(days=8))
    with pytest.raises(Conflict) as expired:
        await s.organisation.invites.accept(late.code, TelegramIdentity(2002, "Eve"))
    assert expired.value.key == "invite.expired"
    revoked = await s.organisation.invites.create(org.admin, rep_role.id, org.north)
    await s.organisation.invites.revoke(org.admin, revoked.id)
    with pytest.raises(NotFound):
        await s.organisation.invites.accept(revoked.code, TelegramIdentity(2002, "Eve"))


async def test_a_member_cannot_use_an_invite_twice(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    await org.join(org.admin, 2001, "Bob", "rep", org.north)
    roles = {r.name: r.id for r in await org.services.organisation.roles.assignable(org.admin)}
    invite = await org.services.organisation.invites.create(org.admin, roles["manager"], org.north)
    with pytest.raises(Conflict) as err:
        await org.services.organisation.invites.accept(invite.code, TelegramIdentity(2001, "Bob"))
    assert err.value.key == "invite.already_member"


async def test_no_escalation_through_invites_or_role_changes(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    roles = {r.name: r.id for r in await org.services.organisation.roles.list(org.admin)}
    assignable = {r.name for r in await org.services.organisation.roles.assignable(manager)}
    assert "admin" not in assignable and "rep" in assignable
    with pytest.raises(PermissionDenied):
        await org.services.organisation.invites.create(manager, roles["admin"], org.north)
    # A manager's staff scope is their department and below: South is out of reach.
    with pytest.raises(PermissionDenied):
        await org.services.organisation.invites.create(manager, roles["rep"], org.south)
    await org.services.organisation.invites.create(manager, roles["rep"], org.north_east)
    with pytest.raises(PermissionDenied):
        await org.services.organisation.staff.change_role(manager, org.admin.staff_id, roles["rep"])


async def test_staff_listing_respects_query_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    rep_n = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    rep_s = await org.join(org.admin, 3003, "Sue", "rep", org.south)
    seen, total = await org.services.organisation.staff.page(manager)
    assert {p.name for p in seen} == {"Mia", "Ned"} and total == 2
    seen, _ = await org.services.organisation.staff.page(rep_s)  # rep: staff scope = own department
    assert {p.name for p in seen} == {"Sue"}
    with pytest.raises(NotFound):
        await org.services.organisation.staff.get(manager, rep_s.staff_id)
    seen, total = await org.services.organisation.staff.page(org.admin)
    assert total == 4
    assert rep_n.scope("customers") is Scope.OWN


async def test_deactivation_locks_out_at_once_and_keeps_the_record(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    rep = await org.join(org.admin, 4001, "Rita", "rep", org.north)
    await org.services.organisation.staff.set_active(org.admin, rep.staff_id, False)
    assert await org.services.organisation.identity.actor_for(TelegramIdentity(4001, "Rita")) is None
    person = await org.services.organisation.staff.get(org.admin, rep.staff_id)
    assert person.active is False
    with pytest.raises(Conflict):
        await org.services.organisation.staff.set_active(org.admin, org.admin.staff_id, False)
    await org.services.organisation.staff.set_active(org.admin, rep.staff_id, True)
    assert await org.services.organisation.identity.actor_for(TelegramIdentity(4001, "Rita")) is not None


async def test_role_edits_apply_on_next_update_and_guard_the_last_admin(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services
    rep = await org.join(org.admin, 5001, "Ray", "rep", org.north)
    assert not rep.can("customers.export")
    await s.organisation.roles.toggle_permission(org.admin, rep.role_id, "customers.export")
    rep = await s.organisation.identity.actor_for(TelegramIdentity(5001, "Ray"))  # type: ignore[assignment]
    assert rep is not None and rep.can("customers.export")
    role = await s.organisation.roles.cycle_scope(org.admin, rep.role_id, "customers")
    assert role.scopes["customers"] is Scope.DEPARTMENT
    rep = await s.organisation.identity.actor_for(TelegramIdentity(5001, "Ray"))  # type: ignore[assignment]
    assert rep is not None and rep.scope("customers") is Scope.DEPARTMENT
    with pytest.raises(Conflict) as err:
        await s.organisation.roles.toggle_permission(org.admin, org.admin.role_id, "roles.manage")
    assert err.value.key == "error.last_admin"
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert admin is not None and admin.can("roles.manage")


async def test_custom_roles_copy_rename_delete(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services
    rep_role = next(r for r in await s.organisation.roles.list(org.admin) if r.name == "rep")
    senior = await s.organisation.roles.create(org.admin, "  Senior   rep ", copy_from=rep_role.id)
    assert senior.name == "Senior rep" and senior.permissions == rep_role.permissions
    with pytest.raises(Conflict):
        await s.organisation.roles.create(org.admin, "senior rep")
    with pytest.raises(ValidationFailed):
        await s.organisation.roles.create(org.admin, "   ")
    renamed = await s.organisation.roles.rename(org.admin, senior.id, "Key account rep")
    assert renamed.version > senior.version
    with pytest.raises(Conflict):
        await s.organisation.roles.delete(org.admin, rep_role.id)  # built-in
    await s.organisation.roles.delete(org.admin, senior.id)
    assert all(r.id != senior.id for r in await s.organisation.roles.list(org.admin))
    assert [r.id for r in await s.organisation.roles.deleted(org.admin)] == [senior.id]
    restored = await s.organisation.roles.restore(org.admin, senior.id)
    assert restored.deleted_at is None and restored.name == "Key account rep"
    assert await s.organisation.roles.deleted(org.admin) == []


async def test_departments_tree_and_soft_delete(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services
    names = [(depth, d.name) for depth, d in await s.organisation.departments.tree(org.admin)]
    assert names == [(0, "Company"), (1, "North"), (2, "North-East"), (1, "South")]
    with pytest.raises(Conflict):
        await s.organisation.departments.delete(org.admin, org.north)  # has a child
    await s.organisation.departments.delete(org.admin, org.north_east)
    assert [d.name for _, d in await s.organisation.departments.tree(org.admin)] == ["Company", "North", "South"]
    assert [d.id for d in await s.organisation.departments.deleted(org.admin)] == [org.north_east]
    await s.organisation.departments.restore(org.admin, org.north_east)
    assert len(await s.organisation.departments.tree(org.admin)) == 4


async def test_every_mutation_is_audited_with_before_and_after(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    rep = await org.join(org.admin, 6001, "Ann", "rep", org.north)
    await org.services.organisation.staff.change_department(org.admin, rep.staff_id, org.south)
    async with org.services.uow(write=False) as uow:
        entries = await uow.audit.for_entity("staff", rep.staff_id)
    actions = [e.action for e in entries]
    assert actions[:2] == ["change_department", "join"]
    change = entries[0]
    assert change.actor_id == org.admin.staff_id
    assert change.before == {"department_id": org.north} and change.after == {"department_id": org.south}
    assert change.at == clock.now()


async def test_preferences_validate_their_input(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    with pytest.raises(ValidationFailed):
        await org.services.organisation.staff.set_timezone(org.admin, "Mars/Olympus")
    assert await org.services.organisation.staff.set_timezone(org.admin, " America/New_York ") == "America/New_York"
    await org.services.organisation.staff.set_locale(org.admin, "zh-Hans")
    admin = await org.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada", language_code="en"))
    assert admin is not None and (admin.locale, admin.timezone) == ("zh-Hans", "America/New_York")


async def test_an_unchanged_login_reuses_its_actor_and_any_change_gives_a_fresh_one(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    """actor_for keeps the Actor of an unchanged login row; every change that matters shows in that row."""
    org = await make_org(engine, clock)
    s = org.services
    await org.join(org.admin, 6001, "Ria", "rep", org.north)
    ria = TelegramIdentity(6001, "Ria", language_code="en")
    first = await s.organisation.identity.actor_for(ria)
    assert first is not None and await s.organisation.identity.actor_for(ria) is first
    chinese = await s.organisation.identity.actor_for(TelegramIdentity(6001, "Ria", language_code="zh-hant"))
    assert chinese is not None and chinese.locale == "zh-Hant" and first.locale == "en"
    sub = await s.organisation.departments.create(org.admin, "North-West", org.north)
    moved = await s.organisation.identity.actor_for(ria)  # the organisation changed: department trees are rebuilt
    assert moved is not None and moved is not first and sub.id in moved.department_tree
    await s.organisation.staff.change_department(org.admin, first.staff_id, sub.id)
    assert (await s.organisation.identity.actor_for(ria)).department_id == sub.id  # type: ignore[union-attr]
    await s.organisation.roles.toggle_permission(org.admin, first.role_id, "customers.export")
    toggled = await s.organisation.identity.actor_for(ria)
    assert toggled is not None and toggled.can("customers.export") != first.can("customers.export")
    await s.organisation.staff.set_active(org.admin, first.staff_id, False)
    assert await s.organisation.identity.actor_for(ria) is None
