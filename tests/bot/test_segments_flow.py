"""Segments, handover and no-contact nudges as managers, reps and admins use them in chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import Classification, EntityKind, InteractionKind
from crm.followups.followups import Target
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.segments.model import SegmentFilter
from scheduler.followups.nudges import JOB_NAME, send_due_nudges
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot


@dataclass
class Team:
    ada: Chatter
    mia: Chatter  # manager, North
    ned: Chatter  # rep, North
    nat: Chatter  # rep, North, reads Traditional Chinese
    sue: Chatter  # rep, South
    actors: dict[str, Actor]


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, department_id: int,
                language: str = "en") -> tuple[Chatter, Actor]:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor


async def _team(bot: BotHarness) -> Team:
    ada = bot.user(ADMIN_ID, "Ada")
    await ada.send("/start")
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    north = await bot.services.organisation.departments.create(admin, "North", admin.department_id)
    south = await bot.services.organisation.departments.create(admin, "South", admin.department_id)
    mia, mia_a = await _join(bot, 3001, "Mia", "manager", north.id)
    ned, ned_a = await _join(bot, 3002, "Ned", "rep", north.id)
    nat, nat_a = await _join(bot, 3003, "Nat", "rep", north.id, "zh-hant")
    sue, sue_a = await _join(bot, 3004, "Sue", "rep", south.id)
    # Messages pushed to Nat (not answers to Nat) follow the language Nat chose, which is stored with her.
    await nat.send("/language")
    await nat.press("• 繁體中文")
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    return Team(ada, mia, ned, nat, sue, {"ada": admin, "mia": mia_a, "ned": ned_a, "nat": nat_a, "sue": sue_a})


async def _customer(bot: BotHarness, owner: Actor, name: str, **fields: Any) -> int:
    return int((await bot.services.customers.customers.create(owner, CustomerDraft(name=name, **fields),
                                                              force=True)).id)


async def _owners(engine: AsyncEngine, table: Any) -> dict[int, int]:
    async with engine.connect() as conn:
        return {row.id: row.owner_id for row in await conn.execute(select(table.c.id, table.c.owner_id))}


def _label(chatter: Chatter, prefix: str) -> str:
    return next(label for label in chatter.labels() if label.startswith(prefix))


async def _forge(chatter: Chatter, data: str, message_id: int | None = None) -> list[Any]:
    """A press with callback data the message does not offer: an old button, or a modified client."""
    api = chatter.harness.api
    return await chatter._do(api.press(chatter.user, message_id, data, enqueue=False, forged=True))


def _screen(chatter: Chatter) -> str:
    """The text of the message with the buttons: presses edit it in place."""
    message = chatter.harness.api.chat(chatter.user.id).last_keyboard_message()
    return (message.text or "") if message else ""


def _joined(messages: list[Any]) -> str:
    return "\n".join(m.text or "" for m in messages)


def _toast(bot: BotHarness) -> dict[str, Any]:
    return bot.api.calls_to("answerCallbackQuery")[-1].params


async def test_manager_builds_saves_and_lists_a_segment(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        ned = team.actors["ned"]
        acme = await _customer(bot, ned, "Acme", classification=Classification.POTENTIAL, tags=("vip",))
        await _customer(bot, ned, "Beta", classification=Classification.GENERAL, tags=("food",))
        jia = await _customer(bot, ned, "甲乙公司", classification=Classification.LOYAL, tags=("VIP",))
        await _customer(bot, team.actors["sue"], "Sue Co", classification=Classification.POTENTIAL, tags=("vip",))
        clock.advance(timedelta(days=40))
        mia = team.mia

        assert "No saved segments" in await mia.text_of("/segments")
        await mia.press("➕ New segment")
        assert "Matching customers: 3" in (mia.last.text or "")  # Ned's three; Sue is in another department
        await mia.press("🏷 Classification")
        await mia.press("▫️ Potential")
        assert _toast(bot)["text"] == "Matching customers: 1"
        await mia.press("▫️ Loyal")
        assert "✅ Potential" in mia.labels() and "✅ Loyal" in mia.labels()
        await mia.press("« Back")
        assert "Classification: Potential, Loyal" in (mia.last.text or "")

        # A typed filter: wrong kinds of answer are refused and the draft survives them.
        await mia.press("#️⃣ Tag")
        assert "waiting for a text" in "\n".join(m.text or "" for m in await mia.photo())
        assert "too long" in await mia.text_of("x" * 5000)
        built = await mia.text_of("#VIP")
        assert "Tags (any): #VIP" in built and "Classification: Potential, Loyal" in built
        assert "Matching customers: 2" in built
        await mia.press("⏳ No contact for…")
        assert "1 and 3650" in await mia.text_of("forever")
        builder = _joined(await mia.press("30"))  # the menu message turns back into the builder
        assert "No contact for 30+ days" in builder and "Matching customers: 2" in builder

        # Owner choices are the colleagues whose customers Mia may see.
        await mia.press("👤 Owner")
        assert {"▫️ Mia", "▫️ Ned", "▫️ Nat"} <= set(mia.labels()) and "▫️ Sue" not in mia.labels()
        await mia.press("▫️ Ned")
        assert "✅ Ned" in mia.labels()
        await mia.press("« Back")
        assert "Owner: Ned" in _screen(mia)

        await mia.press("💾 Save")
        saved = await mia.text_of("VIP <north> & co")
        assert "Segment “VIP <north> & co” saved" in saved
        await mia.press("📋 List customers (2)")
        message = mia.last
        assert [b.callback_data for b in message.buttons[:2]] == [f"cu:open:{acme}", f"cu:open:{jia}"]
        assert all(len((b.callback_data or "").encode()) <= 64 for b in message.buttons)

        listing = await mia.text_of("/segments")
        assert "VIP <north> & co · 2" in "\n".join(mia.labels()) and "Segments" in listing
        # Ned (a rep) does not see his manager's segment; a forged button gets "not found".
        assert "No saved segments" in await team.ned.text_of("/segments")
        segment_id = int(mia.last.buttons[0].callback_data.split(":")[2])  # type: ignore[union-attr]
        assert bot.told(await _forge(team.ned, f"sg:ls:{segment_id}:0"), "Not found")

        # Delete, then restore from the same message.
        await mia.press(_label(mia, "🎯 VIP"))
        await mia.press("🗑 Delete")
        await mia.press("Yes, delete")
        assert "deleted" in (mia.last.text or "")
        await mia.press(_label(mia, "♻️ Restore"))
        assert "restored" in "\n".join(m.text or "" for m in bot.api.chat(mia.user.id).bot_messages[-2:])


async def test_handover_preview_confirm_and_notices(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        s = bot.services
        ned = team.actors["ned"]
        acme = await _customer(bot, ned, "Acme", tags=("vip",))
        beta = await _customer(bot, ned, "Beta")
        lead = await s.customers.leads.create(ned, "陳小姐", phone_list=("0933 111 222",))
        await s.followups.followups.plan(ned, Target(EntityKind.CUSTOMER, beta), clock.now() + timedelta(days=1),
                               "visit")
        await s.segments.segments.create(team.actors["mia"], "VIPs", SegmentFilter(tags=frozenset({"vip"})))
        mia = team.mia

        await mia.send("/handover")
        assert "Sue" not in " ".join(mia.labels())
        await mia.press(_label(mia, "Ned · 4"))
        assert set(mia.labels()) >= {"Mia", "Nat"} and "Ned" not in mia.labels()
        await mia.press("Nat")
        await mia.press("🎯 VIPs")
        preview = mia.last.text or ""
        assert "1 customer(s) · 0 open lead(s) · 0 open follow-up(s)" in preview and "VIPs" in preview
        await mia.press("✅ Confirm handover")
        assert "Handed over from Ned to Nat" in (mia.last.text or "")
        owners = await _owners(engine, t.customers)
        assert owners[acme] == team.actors["nat"].staff_id and owners[beta] == ned.staff_id
        assert "Mia handed your records over to Nat" in (bot.api.last_message(team.ned.user.id).text or "")
        assert "Mia 已將 Ned 的資料移交給您" in (bot.api.last_message(team.nat.user.id).text or "")

        # Everything else goes to Kim, who never opened the bot, while Ned has blocked it: still done.
        admin = team.actors["ada"]
        roles = {r.name: r.id for r in await s.organisation.roles.assignable(admin)}
        invite = await s.organisation.invites.create(admin, roles["rep"], ned.department_id)
        kim = await s.organisation.invites.accept(invite.code, TelegramIdentity(3005, "Kim"))
        bot.api.block(team.ned.user)
        await mia.send("/handover")
        await mia.press(_label(mia, "Ned · 3"))
        await mia.press("Kim")
        await mia.press("📦 Everything (3)")
        assert "1 customer(s) · 1 open lead(s) · 1 open follow-up(s)" in (mia.last.text or "")
        await mia.press("✅ Confirm handover")
        assert "Handed over from Ned to Kim" in (mia.last.text or "")
        assert (await _owners(engine, t.customers))[beta] == kim.id
        assert (await _owners(engine, t.leads))[lead.id] == kim.id
        assert set((await _owners(engine, t.followups)).values()) == {kim.id}
        # Pressing Confirm again moves nothing twice.
        await _forge(mia, f"ho:go:{ned.staff_id}:{kim.id}:0", mia.last.message_id)
        assert "Nothing to move" in (mia.last.text or "")


async def test_deactivation_requires_a_handover_first(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        ned = team.actors["ned"]
        acme = await _customer(bot, ned, "Acme")
        ada = team.ada
        await ada.send("/users")
        await ada.press("Ned")
        await ada.press("⛔ Deactivate")
        blocked = ada.last.text or ""
        assert "Ned still owns open work" in blocked and "1 customer(s)" in blocked
        assert "🤝 Hand over first" in ada.labels() and "Yes, deactivate" not in ada.labels()
        # An old or forged confirmation button cannot skip the handover either.
        await _forge(ada, f"us:offok:{ned.staff_id}")
        assert "Ned still owns open work" in (ada.last.text or "")
        assert (await bot.services.organisation.identity.actor_by_staff_id(ned.staff_id)) is not None

        await ada.press("🤝 Hand over first")
        await ada.press("Nat")
        await ada.press("📦 Everything (1)")
        await ada.press("✅ Confirm handover")
        assert (await _owners(engine, t.customers))[acme] == team.actors["nat"].staff_id
        await ada.press("⛔ Deactivate Ned now")
        await ada.press("Yes, deactivate")
        assert "deactivated" in (ada.last.text or "")
        assert (await bot.services.organisation.identity.actor_by_staff_id(ned.staff_id)) is None


async def test_reps_cannot_hand_over_and_only_admins_set_nudges(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        ned, nat = team.actors["ned"], team.actors["nat"]
        acme = await _customer(bot, ned, "Acme")
        assert "don't have permission" in await team.ned.text_of("/handover")
        await team.ned.send("/segments")  # any message with buttons: a modified client presses what it likes
        await _forge(team.ned, f"ho:go:{ned.staff_id}:{nat.staff_id}:0")
        assert _toast(bot).get("show_alert") is True
        assert (await _owners(engine, t.customers))[acme] == ned.staff_id
        assert "/handover" not in await team.ned.text_of("/help")
        assert "/handover" in await team.mia.text_of("/help")
        assert "don't have permission" in await team.ned.text_of("/nudges")

        shown = await team.mia.text_of("/nudges")
        assert "Potential: 14 days" in shown and "Only an admin" in shown and team.mia.labels() == []
        await team.mia.send("/segments")
        await _forge(team.mia, "nud:s:loyal:7")
        assert _toast(bot).get("show_alert") is True


async def test_nudges_are_sent_once_a_day_with_the_configured_days(engine: AsyncEngine,
                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        assert bot.app.job_queue is not None
        for job in bot.app.job_queue.get_jobs_by_name(JOB_NAME):  # driven by hand here, not by the timer
            job.schedule_removal()
        team = await _team(bot)
        ned = team.actors["ned"]
        await _customer(bot, ned, "Acme", classification=Classification.POTENTIAL)
        await _customer(bot, ned, "Beta", classification=Classification.GENERAL)
        loyal = await _customer(bot, ned, "甲乙公司", classification=Classification.LOYAL)
        await _customer(bot, team.actors["nat"], "Nat Co", classification=Classification.LOYAL)
        clock.advance(timedelta(days=20))
        await bot.services.followups.followups.log(ned, Target(EntityKind.CUSTOMER, loyal), InteractionKind.CALL,
                                         "Quarterly call")
        clock.advance(timedelta(days=20))  # 40 days since creation; the loyal customer was called 20 days ago

        ada = team.ada
        await ada.send("/nudges")
        await ada.press("Loyal · 60 days")
        await ada.press("7")
        assert "Loyal: 7 days" in (ada.last.text or "")
        await ada.press("General · 30 days")
        assert "1 and 365" in await ada.text_of("soon")
        assert "General: off" in await ada.text_of("關閉")

        sent = await send_due_nudges(bot.services, bot.app.bot, bot.runtime.catalogs)
        assert sent == 2  # Ned and Nat; nobody else owns customers
        nudge = bot.api.last_message(team.ned.user.id)
        assert "2 of your customers" in (nudge.text or "")
        assert "Acme (Potential) — 40 days" in (nudge.text or "") and "甲乙公司 (Loyal) — 20 days" in (nudge.text or "")
        assert "Beta" not in (nudge.text or "")
        assert [b.text for b in nudge.buttons] == ["🏢 Acme", "🏢 甲乙公司"]
        assert "該聯絡了" in (bot.api.last_message(team.nat.user.id).text or "")

        assert await send_due_nudges(bot.services, bot.app.bot, bot.runtime.catalogs) == 0  # once per day
        clock.advance(timedelta(days=1))
        bot.api.block(team.nat.user)  # a blocked bot does not stop the others' nudges
        assert await send_due_nudges(bot.services, bot.app.bot, bot.runtime.catalogs) == 1
