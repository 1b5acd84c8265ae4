"""A demo company for the console: an admin, a manager and two reps, so a newcomer can try crmbot in a minute.

Everything is created through the same services the bot uses (invites included), so the demo data is audited
and shaped exactly like real data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from bot.demo_customers import seed_customers
from bot.demo_products import seed_products
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.services import Services
from storage import tables as t


@dataclass(frozen=True)
class DemoPerson:
    telegram_id: int
    first_name: str
    last_name: str | None
    username: str
    language_code: str
    role: str
    department: str  # key into DEPARTMENTS; "" = the company itself

    @property
    def identity(self) -> TelegramIdentity:
        return TelegramIdentity(self.telegram_id, self.first_name, self.last_name, self.username,
                                self.language_code)


ADMIN = DemoPerson(900001, "Ada", "Admin", "ada_admin", "en", "admin", "")
PEOPLE: tuple[DemoPerson, ...] = (
    ADMIN,
    DemoPerson(900002, "美玲", "林", "meiling_lin", "zh-hant", "manager", "taipei"),
    DemoPerson(900003, "Jason", "Chen", "jason_chen", "en", "rep", "taipei"),
    DemoPerson(900004, "芳", "王", "wang_fang", "zh-hans", "rep", "shanghai"),
)
DEPARTMENTS = {"taipei": "台北業務部 Taipei Sales", "shanghai": "上海销售部 Shanghai Sales"}
_SEEDED_KEY = "demo_seeded"


def find_person(name: str) -> DemoPerson | None:
    needle = name.strip().lstrip("@").lower()
    for person in PEOPLE:
        names = {person.username.lower(), person.first_name.lower(),
                 f"{person.first_name} {person.last_name or ''}".strip().lower(),
                 f"{person.last_name or ''}{person.first_name}".lower(), person.role}
        if needle in names:
            return person
    for person in PEOPLE:
        if needle and (needle in person.username.lower() or needle in person.first_name.lower()):
            return person
    return None


async def seed(services: Services) -> bool:
    """Create the demo company once; False when it was already there."""
    async with services.uow(write=False) as uow:
        conn = uow.connection
        if (await conn.execute(select(t.app_kv.c.value).where(t.app_kv.c.key == _SEEDED_KEY))).first():
            return False
    admin = await services.organisation.identity.actor_for(ADMIN.identity)
    if admin is None:
        raise RuntimeError("the demo admin must be listed in ADMIN_TELEGRAM_IDS")
    departments = {"": admin.department_id}
    for key, name in DEPARTMENTS.items():
        departments[key] = (await services.organisation.departments.create(admin, name, admin.department_id)).id
    admin = await services.organisation.identity.actor_for(ADMIN.identity)
    assert admin is not None
    roles = {r.name: r.id for r in await services.organisation.roles.list(admin)}
    owners: dict[str, Actor] = {}
    for person in PEOPLE:
        if person is ADMIN:
            continue
        invite = await services.organisation.invites.create(admin, roles[person.role], departments[person.department])
        await services.organisation.invites.accept(invite.code, person.identity)
        owner = await services.organisation.identity.actor_for(person.identity)
        assert owner is not None
        owners[person.username] = owner
    await seed_customers(services, owners)
    await seed_products(services, admin)
    async with services.uow() as uow:
        await uow.connection.execute(insert(t.app_kv).values(key=_SEEDED_KEY, value="1"))
        await uow.commit()
    return True
