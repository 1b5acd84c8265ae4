"""Build services over a real database and a small organisation to test against."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.organisation.defaults import ensure_defaults
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services

ADMIN_TG = 1001


@dataclass
class Org:
    services: Services
    admin: Actor
    north: int  # department ids
    south: int
    north_east: int

    async def join(self, actor: Actor, tg_id: int, name: str, role: str, department_id: int) -> Actor:
        """Invite and accept: the only way a new staff member appears."""
        roles = {r.name: r.id for r in await self.services.organisation.roles.assignable(actor)}
        invite = await self.services.organisation.invites.create(actor, roles[role], department_id)
        await self.services.organisation.invites.accept(invite.code, TelegramIdentity(tg_id, name))
        joined = await self.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name))
        assert joined is not None
        return joined


async def make_org(engine: AsyncEngine, clock: ManualClock) -> Org:
    settings = Settings(admin_telegram_ids=frozenset({ADMIN_TG}), _env_file=None)
    services = build_services(settings, engine, clock)
    await ensure_defaults(services.uow)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada", username="ada"))
    assert admin is not None
    root = admin.department_id
    north = await services.organisation.departments.create(admin, "North", root)
    south = await services.organisation.departments.create(admin, "South", root)
    north_east = await services.organisation.departments.create(admin, "North-East", north.id)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_TG, "Ada"))
    assert admin is not None
    return Org(services, admin, north.id, south.id, north_east.id)
