"""Who is this Telegram user? Turns a Telegram account into an Actor — or into nobody.

Runs on every update, so it costs one indexed query: the staff row with its role's version and the
organisation version. Roles and the department tree are cached in-process and reloaded when a version moves,
which keeps permission changes and deactivation effective on the very next update, also across processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.core import locales
from crm.core.clock import Clock
from crm.core.names import person_name
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.organisation.departments import subtree
from crm.organisation.model import Department, LoginInfo, Role, Staff
from crm.organisation.permissions import Actor
from crm.organisation.ports import OrganisationUnitOfWork

ROOT_DEPARTMENT_NAME = "Company"


@dataclass(frozen=True)
class TelegramIdentity:
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        """The staff name a new account gets: 美玲 + 林 → 林美玲, as everywhere (crm.core.names.person_name)."""
        return person_name(self.first_name, self.last_name) or self.username or str(self.user_id)


@dataclass(frozen=True)
class IdentityDefaults:
    locale: str = locales.EN
    timezone: str = "Asia/Taipei"
    bare_zh: str = locales.ZH_HANT


_ACTOR_MEMO = 1024  # signed-in people of the moment; more only when a team is larger than that


class IdentityService:
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrganisationUnitOfWork],
        clock: Clock,
        *,
        admin_telegram_ids: frozenset[int] = frozenset(),
        defaults: IdentityDefaults | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._admin_ids = admin_telegram_ids
        self.defaults = defaults or IdentityDefaults()
        self._roles: dict[int, Role] = {}
        self._org_version = -1
        self._departments: list[Department] = []
        self._trees: dict[int, frozenset[int]] = {}
        self._actors: dict[tuple[LoginInfo, str | None], Actor] = {}

    def locale_for(self, staff: Staff | None, telegram_language: str | None) -> str:
        if staff is not None and staff.locale:
            return staff.locale
        return locales.normalize(telegram_language, default=self.defaults.locale, bare_zh=self.defaults.bare_zh)

    async def actor_for(self, who: TelegramIdentity) -> Actor | None:
        """The active staff member behind this Telegram account, or None for everyone else."""
        async with self._uow(write=False) as uow:
            login = await uow.organisation.staff.get_login(who.user_id)
            if login is None or not login.staff.active or login.staff.deleted_at is not None:
                staff = None
            else:
                staff = login.staff
                await self._refresh_caches(uow, login.role_version, login.staff.role_id, login.org_version)
        if staff is None or login is None:
            if who.user_id in self._admin_ids:
                return await self._bootstrap_admin(who)
            return None
        # The login row carries the role's and the organisation's versions: an equal row means an equal actor.
        key = (login, who.language_code)
        actor = self._actors.get(key)
        if actor is None:
            if len(self._actors) >= _ACTOR_MEMO:
                self._actors.clear()
            actor = self._actors[key] = self._actor(staff, who.language_code)
        return actor

    async def actor_by_staff_id(self, staff_id: int) -> Actor | None:
        """For scheduler jobs that act on behalf of a staff member (reminders, digests)."""
        async with self._uow(write=False) as uow:
            staff = await uow.organisation.staff.get(staff_id)
            if staff is None or not staff.active or staff.deleted_at is not None:
                return None
            role = await uow.organisation.roles.get(staff.role_id)
            version = await uow.organisation.state.version()
            await self._refresh_caches(uow, role.version if role else 0, staff.role_id, version)
        return self._actor(staff, None)

    def _actor(self, staff: Staff, telegram_language: str | None) -> Actor:
        role = self._roles[staff.role_id]
        return Actor(
            staff_id=staff.id,
            telegram_user_id=staff.telegram_user_id,
            name=staff.name,
            role_id=role.id,
            role_name=role.name,
            department_id=staff.department_id,
            permissions=role.permissions,
            scopes=role.scopes,
            department_tree=self._tree(staff.department_id),
            locale=self.locale_for(staff, telegram_language),
            timezone=staff.timezone or self.defaults.timezone,
        )

    def _tree(self, department_id: int) -> frozenset[int]:
        tree = self._trees.get(department_id)
        if tree is None:
            tree = self._trees[department_id] = subtree(self._departments, department_id)
        return tree

    async def _refresh_caches(self, uow: OrganisationUnitOfWork, role_version: int, role_id: int,
                              org_version: int) -> None:
        if org_version != self._org_version:
            self._departments = list(await uow.organisation.departments.list_all())
            self._trees = {}
            self._roles = {}
            self._org_version = org_version
        cached = self._roles.get(role_id)
        if cached is None or cached.version != role_version:
            role = await uow.organisation.roles.get(role_id)
            if role is not None:
                self._roles[role_id] = role

    def forget_caches(self) -> None:
        self._org_version = -1
        self._roles = {}
        self._actors = {}

    async def _bootstrap_admin(self, who: TelegramIdentity) -> Actor | None:
        """ADMIN_TELEGRAM_IDS become admins on their first message: how a fresh install gets its first user."""
        async with self._uow() as uow:
            existing = await uow.organisation.staff.get_by_telegram_id(who.user_id)
            role = await uow.organisation.roles.get_by_name("admin")
            root = next((d for d in await uow.organisation.departments.list_all() if d.parent_id is None), None)
            if role is None or root is None:
                return None
            if existing is None:
                staff = await uow.organisation.staff.add(Staff(
                    id=0, name=who.display_name, role_id=role.id, department_id=root.id,
                    telegram_user_id=who.user_id, username=who.username, created_at=self._clock.now(),
                ))
                await audit.record(uow, None, "bootstrap_admin", "staff", staff.id, {},
                                   {"name": staff.name, "role_id": role.id, "telegram_user_id": who.user_id})
            else:
                # A configured admin who was deactivated stays out: the setting only seeds, it never overrides.
                return None
            await uow.commit()
        return await self.actor_for(who)
