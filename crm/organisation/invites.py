"""Invites: how a rep joins. An admin or manager creates a one-time code for a role and department; the new
user opens ``https://t.me/<bot>?start=<code>`` and their Telegram account is bound to a new staff record."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from crm.core import locales
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied
from crm.organisation import audit
from crm.organisation.identity import TelegramIdentity
from crm.organisation.model import Invite, Staff
from crm.organisation.permissions import Actor
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

INVITE_PREFIX = "inv_"


def new_code() -> str:
    # Deep-link payloads allow 64 chars of A-Za-z0-9_-; token_urlsafe uses exactly that alphabet.
    return INVITE_PREFIX + secrets.token_urlsafe(18)


async def check_can_assign(uow: UnitOfWork, actor: Actor, role_id: int, department_id: int) -> None:
    """Nobody hands out more than they hold: no escalation through invites or role changes."""
    role = await uow.organisation.roles.get(role_id)
    if role is None or role.deleted_at is not None:
        raise NotFound()
    if not role.permissions <= actor.permissions:
        raise PermissionDenied("error.role_exceeds_yours")
    dep = await uow.organisation.departments.get(department_id)
    if dep is None or dep.deleted_at is not None:
        raise NotFound()
    if not actor.scope_filter("staff").allows(None, department_id):
        raise PermissionDenied("error.department_out_of_scope")


class InviteService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, ttl: timedelta = timedelta(days=7)) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl = ttl

    async def create(self, actor: Actor, role_id: int, department_id: int) -> Invite:
        actor.require("users.invite")
        now = self._clock.now()
        async with self._uow() as uow:
            await check_can_assign(uow, actor, role_id, department_id)
            invite = await uow.organisation.invites.add(Invite(
                id=0, code=new_code(), role_id=role_id, department_id=department_id,
                created_by=actor.staff_id, created_at=now, expires_at=now + self._ttl,
            ))
            await audit.record(uow, actor.staff_id, "create", "invite", invite.id, {},
                               {"role_id": role_id, "department_id": department_id,
                                "expires_at": invite.expires_at})
            await uow.commit()
        return invite

    async def list_open(self, actor: Actor) -> Sequence[Invite]:
        actor.require("users.invite")
        async with self._uow(write=False) as uow:
            invites = await uow.organisation.invites.list_open(self._clock.now())
        if actor.can("users.manage"):
            return invites
        return [i for i in invites if i.created_by == actor.staff_id]

    async def revoke(self, actor: Actor, invite_id: int) -> None:
        actor.require("users.invite")
        async with self._uow() as uow:
            invites = await uow.organisation.invites.list_open(self._clock.now())
            invite = next((i for i in invites if i.id == invite_id), None)
            if invite is None or (invite.created_by != actor.staff_id and not actor.can("users.manage")):
                raise NotFound()
            now = self._clock.now()
            await uow.organisation.invites.revoke(invite_id, now)
            await audit.record(uow, actor.staff_id, "revoke", "invite", invite_id, {"revoked_at": None},
                               {"revoked_at": now})
            await uow.commit()

    async def accept(self, code: str, who: TelegramIdentity) -> Staff:
        """Bind this Telegram account. Single use: a second opener gets ``invite.used``."""
        now = self._clock.now()
        async with self._uow() as uow:
            invite = await uow.organisation.invites.get_by_code(code)
            if invite is None or invite.revoked_at is not None:
                raise NotFound("invite.unknown")
            if invite.used_at is not None:
                raise Conflict("invite.used")
            if now >= invite.expires_at:
                raise Conflict("invite.expired")
            existing = await uow.organisation.staff.get_by_telegram_id(who.user_id)
            if existing is not None and existing.active and existing.deleted_at is None:
                raise Conflict("invite.already_member")
            if existing is not None:
                # A former colleague coming back keeps their history under the same staff record.
                before = {"active": existing.active, "role_id": existing.role_id,
                          "department_id": existing.department_id}
                after = {"active": True, "role_id": invite.role_id, "department_id": invite.department_id,
                         "deleted_at": None}
                await uow.organisation.staff.update(existing.id, **after)
                staff_id = existing.id
                await audit.record(uow, None, "rejoin", "staff", staff_id, before, after)
            else:
                # Their Telegram language becomes their language, so messages pushed to them (reminders,
                # handovers, agendas) read right before they ever choose one with /language.
                locale = locales.normalize(who.language_code) if who.language_code else None
                staff = await uow.organisation.staff.add(Staff(
                    id=0, name=who.display_name, role_id=invite.role_id, department_id=invite.department_id,
                    telegram_user_id=who.user_id, username=who.username, locale=locale, created_at=now,
                ))
                staff_id = staff.id
                await audit.record(uow, None, "join", "staff", staff_id, {},
                                   {"name": staff.name, "role_id": invite.role_id,
                                    "department_id": invite.department_id, "invite_id": invite.id})
            if not await uow.organisation.invites.claim(invite.id, staff_id, now):
                raise Conflict("invite.used")
            joined = await uow.organisation.staff.get(staff_id)
            await uow.commit()
        if joined is None:
            raise NotFound()
        return joined
