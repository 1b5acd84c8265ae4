"""Every command and a forged press of every kind of button, for every default role and a stranger:
allowed or refused exactly as the role says, re-checked on the server, and nothing out of scope shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.modules import commands
from crm.core.clock import ManualClock
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import DEFAULT_ROLES
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

ROLE_USERS = {"manager": 7001, "rep": 7002, "reviewer": 7003, "finance": 7004}
PERMISSIONS = {r.name: r.permissions for r in DEFAULT_ROLES}


async def _staff(bot: BotHarness) -> dict[str, Any]:
    s = bot.services
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    south = await s.organisation.departments.create(admin, "South", admin.department_id)
    north = await s.organisation.departments.create(admin, "North", admin.department_id)
    roles = {r.name: r.id for r in await s.organisation.roles.list(admin)}
    for name, tg in ROLE_USERS.items():
        invite = await s.organisation.invites.create(admin, roles[name], north.id)
        await s.organisation.invites.accept(invite.code, TelegramIdentity(tg, name.title()))
    invite = await s.organisation.invites.create(admin, roles["rep"], south.id)
    victim = await s.organisation.invites.accept(invite.code, TelegramIdentity(7999, "Victor"))
    return {"roles": roles, "root": admin.department_id, "south": south.id, "north": north.id, "victim": victim}


def _denied(bot: BotHarness, locale: str = "en") -> str:
    return bot.t(locale, "error.permission_denied")


async def test_every_command_for_every_role(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        await _staff(bot)
        people: dict[str, Chatter] = {"admin": admin}
        people |= {name: bot.user(tg, name.title()) for name, tg in ROLE_USERS.items()}
        stranger = bot.user(6666, "Eve")
        refusal = _denied(bot)
        for role, chatter in people.items():
            for command in commands():
                replies = await chatter.send(f"/{command.name}")
                text = "\n".join(m.text or "" for m in replies)
                # A predicate (``needs`` that is not an operation) only hides a command from /help: it is no refusal.
                allowed = not isinstance(command.needs, str) or command.needs in PERMISSIONS[role]
                assert replies, (role, command.name)
                assert (refusal not in text) == allowed, (role, command.name, text[:200])
                await chatter.send("/cancel")
        for command in commands():
            text = "\n".join(m.text or "" for m in await stranger.send(f"/{command.name}"))
            assert bot.t("en", "auth.unknown_user") in text, command.name


async def test_forged_button_presses_are_rechecked(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        org = await _staff(bot)
        rep_role, admin_role, victim = org["roles"]["rep"], org["roles"]["admin"], org["victim"]
        samples = [
            (f"rl:view:{rep_role}", "roles.manage"),
            (f"rl:perm:{rep_role}:0", "roles.manage"),
            (f"rl:scope:{rep_role}:0", "roles.manage"),
            (f"rl:delok:{rep_role}", "roles.manage"),
            (f"us:setrole:{victim.id}:{admin_role}", "users.manage"),
            (f"us:offok:{victim.id}", "users.manage"),
            (f"us:setdep:{victim.id}:{org['north']}", "users.manage"),
            (f"inv:dep:{rep_role}:{org['root']}", "users.invite"),
            (f"dp:new:{org['root']}", "departments.manage"),
            (f"dp:del:{org['south']}", "departments.manage"),
        ]

        async def snapshot() -> tuple[Any, ...]:
            async with engine.connect() as conn:
                role = (await conn.execute(select(t.roles.c.version).where(t.roles.c.id == rep_role))).scalar()
                staff = (await conn.execute(select(t.staff.c.role_id, t.staff.c.active, t.staff.c.department_id)
                                            .where(t.staff.c.id == victim.id))).one()
                invites = (await conn.execute(select(func.count()).select_from(t.invites))).scalar()
                deps = (await conn.execute(select(func.count()).select_from(t.departments)
                                           .where(t.departments.c.deleted_at.is_(None)))).scalar()
            return role, tuple(staff), invites, deps

        refusal = _denied(bot)
        for role, tg in ROLE_USERS.items():
            chatter = bot.user(tg, role.title())
            for data, needs in samples:
                if needs in PERMISSIONS[role]:
                    continue
                await chatter.send("/language")  # any message with a keyboard to press on
                before = await snapshot()
                await bot.api.deliver(bot.app, bot.api.press(chatter.user, None, data, enqueue=False, forged=True))
                answer = bot.api.calls_to("answerCallbackQuery")[-1].params
                assert answer.get("text") == refusal and answer.get("show_alert"), (role, data, answer)
                assert await snapshot() == before, (role, data)
                assert not bot.api.unanswered_callback_queries()


async def test_nothing_out_of_scope_is_shown(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        org = await _staff(bot)
        victor = org["victim"]  # a rep in South
        rep = bot.user(ROLE_USERS["rep"], "Rep")  # a rep in North: staff scope = own department
        listing = await rep.text_of("/users")
        assert "Victor" not in listing and "Ada" not in listing and "Manager" in str(rep.labels())
        await rep.send("/language")
        replies = await rep._do(bot.api.press(rep.user, None, f"us:view:{victor.id}", enqueue=False, forged=True))
        assert bot.told(replies, bot.t("en", "error.not_found"))
        assert all("Victor" not in (m.text or "") for m in bot.api.sent_messages(rep.user.id))
