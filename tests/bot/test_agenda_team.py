"""The first hour with the bot, as reps and managers meet it: daily pushes at the right hour after a late start,
an agenda that tells the truth about what is overdue (and pages, and shows far years), a manager's team view
that stays inside their scope, and reps deleting the records they created by mistake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import CrmContext
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from scheduler.followups.agenda import agenda_job
from scheduler.followups.nudges import nudge_job
from scheduler.followups.reminders import reminders_job
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

TAIPEI = ZoneInfo("Asia/Taipei")
# The harness clock starts on Thursday 26 Nov 2026, 10:00 in Taipei.
BOB, CAROL, MIA, ZED = 3101, 3102, 3103, 3104  # rep North, rep South, manager North, rep North
NOT_FOUND = "Not found"


@dataclass
class Team:
    bob: Actor
    carol: Actor
    mia: Actor
    zed: Actor


async def _team(bot: BotHarness) -> Team:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    s = bot.services
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    north = await s.organisation.departments.create(admin, "North", admin.department_id)
    south = await s.organisation.departments.create(admin, "South", admin.department_id)
    roles = {r.name: r.id for r in await s.organisation.roles.list(admin)}

    async def join(tg: int, name: str, role: str, department: int) -> Actor:
        invite = await s.organisation.invites.create(admin, roles[role], department)
        who = TelegramIdentity(tg, name)
        await s.organisation.invites.accept(invite.code, who)
        actor = await s.organisation.identity.actor_for(who)
        assert actor is not None
        bot.user(tg, name)
        return actor  # type: ignore[no-any-return]

    return Team(await join(BOB, "Bob", "rep", north.id), await join(CAROL, "Carol", "rep", south.id),
                await join(MIA, "Mia", "manager", north.id), await join(ZED, "Zed", "rep", north.id))


async def _customer(bot: BotHarness, owner: Actor, name: str) -> int:
    return int((await bot.services.customers.customers.create(owner, CustomerDraft(name=name), force=True)).id)


def _text(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


def _data(chatter: Chatter) -> list[str]:
    message = chatter.harness.api.chat(chatter.user.id).last_keyboard_message()
    return [b.callback_data or "" for b in message.buttons] if message else []


async def _forged(chatter: Chatter, data: str) -> tuple[str, str | None]:
    """A modified client pressing a button it never got: what changed in the chat, and the callback's answer."""
    api = chatter.harness.api
    update = api.press(chatter.user, None, data, enqueue=False, forged=True)
    before = {m.message_id: (m.text, m.reply_markup) for m in api.chat(chatter.user.id).bot_messages}
    await api.deliver(chatter.harness.app, update)
    record = api.callback_query(update["callback_query"]["id"])
    assert record.answered, f"{data} left the button spinning"
    changed = [m for m in api.chat(chatter.user.id).bot_messages
               if before.get(m.message_id) != (m.text, m.reply_markup)]
    return _text(changed), record.answer_text


async def test_daily_pushes_skip_a_missed_slot_and_come_next_morning(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        team = await _team(bot)
        context: Any = CrmContext(bot.app)
        acme = Target(EntityKind.CUSTOMER, await _customer(bot, team.bob, "Acme"))
        plan = bot.services.followups.followups.plan
        # Three weeks later the bot was down all day and starts at 23:12; Acme has not been contacted since.
        clock.set(datetime(2026, 12, 16, 23, 12, tzinfo=TAIPEI))
        await plan(team.bob, acme, datetime(2026, 12, 16, 12, 0, tzinfo=TAIPEI), "send the catalogue")
        await plan(team.bob, acme, datetime(2026, 12, 16, 20, 0, tzinfo=TAIPEI), "call the buyer")
        before = len(bot.api.sent_messages(BOB))
        await agenda_job(context)
        await nudge_job(context)
        await reminders_job(context)
        late = [m.text or "" for m in bot.api.sent_messages(BOB)[before:]]
        # The reminders Bob asked for still fire, marked late; the daily pushes do not come at 23:12.
        assert len(late) == 2 and all("Reminder (late)" in text for text in late)
        assert not any("Good morning" in text or "Time to get in touch" in text for text in late)

        clock.set(datetime(2026, 12, 17, 0, 30, tzinfo=TAIPEI))  # a new local day, before its slots
        await agenda_job(context)
        await nudge_job(context)
        assert len(bot.api.sent_messages(BOB)) == before + 2

        clock.set(datetime(2026, 12, 17, 8, 30, tzinfo=TAIPEI))
        await agenda_job(context)
        await agenda_job(context)
        await nudge_job(context)  # its slot is 09:00
        pushed = [m.text or "" for m in bot.api.sent_messages(BOB)[before + 2:]]
        assert len(pushed) == 1 and "Good morning" in pushed[0] and "send the catalogue" in pushed[0]

        clock.set(datetime(2026, 12, 17, 9, 0, tzinfo=TAIPEI))
        await agenda_job(context)
        await nudge_job(context)
        await nudge_job(context)
        pushed = [m.text or "" for m in bot.api.sent_messages(BOB)[before + 3:]]
        assert len(pushed) == 1 and "Time to get in touch" in pushed[0] and "Acme" in pushed[0]

        # Within MISSED_SLOT a late start still sends today's push: down at 08:30, up at 10:00.
        clock.set(datetime(2026, 12, 18, 10, 0, tzinfo=TAIPEI))
        await agenda_job(context)
        pushed = [m.text or "" for m in bot.api.sent_messages(BOB)[before + 4:]]
        assert len(pushed) == 1 and "Good morning" in pushed[0]


async def test_agenda_overdue_means_before_now_pages_and_shows_far_years(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        bob = bot.chatters[BOB]
        acme = Target(EntityKind.CUSTOMER, await _customer(bot, team.bob, "Acme"))
        plan = bot.services.followups.followups.plan
        now = clock.now()
        await plan(team.bob, acme, now - timedelta(days=1), "overdue quote")
        await plan(team.bob, acme, now + timedelta(hours=3), "call at one")
        await plan(team.bob, acme, now + timedelta(days=1), "tomorrow's visit")
        await plan(team.bob, acme, datetime(2099, 1, 1, 9, 0, tzinfo=TAIPEI), "far away")
        for i in range(12):
            await plan(team.bob, acme, datetime(2026, 11, 30, 8, i, tzinfo=TAIPEI), f"busy {i:02d}")

        shown = await bob.text_of("/today")
        assert "Today, Thu 26 Nov" in shown and "2026" not in shown
        assert "Overdue (1)" in shown and "overdue quote" in shown and "Due (1)" in shown
        assert "tomorrow's visit" not in shown and "busy" not in shown

        shown = await bob.text_of("/agenda tomorrow")
        assert "Fri 27 Nov" in shown and "tomorrow's visit" in shown
        assert "Overdue" not in shown and "overdue quote" not in shown and "call at one" not in shown

        shown = await bob.text_of("/agenda 2099-01-01")
        assert "Thu 1 Jan 2099" in shown and "far away" in shown and "Overdue" not in shown
        assert "busy" not in shown and "tomorrow's visit" not in shown

        shown = await bob.text_of("/agenda 2026-11-30")
        assert "Due (12)" in shown and "busy 11" in shown and "Overdue" not in shown
        items = [d for d in _data(bob) if d.startswith("fu:view:")]
        assert len(items) == 10 and "Buttons 1–10 of 12" in shown
        assert all(len(d.encode()) <= 64 for d in _data(bob))
        assert "fu:day:20261130:10" in _data(bob)
        await bob.press("More ▶️")
        assert "Buttons 11–12 of 12" in (bob.last.text or "")
        assert len([d for d in _data(bob) if d.startswith("fu:view:")]) == 2
        assert "fu:day:20261130:0" in _data(bob)
        await bob.press("◀️ Back")
        assert len([d for d in _data(bob) if d.startswith("fu:view:")]) == 10


async def test_manager_sees_the_team_within_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        s = bot.services
        bob, carol, mia = bot.chatters[BOB], bot.chatters[CAROL], bot.chatters[MIA]
        plan = s.followups.followups.plan
        now = clock.now()
        acme = await _customer(bot, team.bob, "Acme")
        zeta = await _customer(bot, team.zed, "Zeta")
        sud = await _customer(bot, team.carol, "Sud Secret")
        await plan(team.bob, Target(EntityKind.CUSTOMER, acme), now - timedelta(days=1), "overdue quote")
        await plan(team.bob, Target(EntityKind.CUSTOMER, acme), now + timedelta(hours=3), "call at one")
        await plan(team.zed, Target(EntityKind.CUSTOMER, zeta), now + timedelta(hours=2), "zeta demo")
        await plan(team.zed, Target(EntityKind.CUSTOMER, zeta), now + timedelta(hours=4), "zeta follow")
        await plan(team.carol, Target(EntityKind.CUSTOMER, sud), now - timedelta(hours=1), "south secret")

        # The manager's own agenda stays hers, with a way to the team.
        shown = await mia.text_of("/today")
        assert "Nothing due" in shown and "overdue quote" not in shown
        assert "fu:team" in _data(mia)
        shown = _text(await mia.press("👥 Team"))
        assert "Bob: 1 due today, 1 overdue" in shown and "Zed: 2 due today, 0 overdue" in shown
        assert "Mia: 0 due today, 0 overdue" in shown and "Carol" not in shown
        assert "fu:rep:" + str(team.carol.staff_id) not in _data(mia)
        shown = _text(await mia.press("Bob · ⚠️1 · 🗓1"))
        assert "Bob" in shown and "overdue quote" in shown and "call at one" in shown and "zeta" not in shown
        card = _text(await mia.press(next(label for label in mia.labels() if label.startswith("⚠️"))))
        assert "overdue quote" in card and "Acme" in card
        await mia.send("/team")
        assert "Bob: 1 due today" in (mia.last.text or "")

        # /customers: hers (none yet) with a Team toggle listing everyone's in scope, owner named.
        assert "no customers yet" in await mia.text_of("/customers")
        await mia.press("👥 Team")
        shown_labels = mia.labels()
        assert "🏢 Acme · Bob" in shown_labels and "🏢 Zeta · Zed" in shown_labels
        assert not any("Sud" in label for label in shown_labels)
        # A card in scope shows the open follow-ups of its owner to the manager.
        card = _text(await mia.press("🏢 Acme · Bob"))
        assert "overdue quote" in card and "call at one" in card

        # A rep sees only their own: no team button, and forged presses show nothing of anyone else's.
        await bob.send("/today")
        assert "fu:team" not in _data(bob)
        await bob.send("/customers")
        assert "cu:team:0" not in _data(bob)
        changed, answer = await _forged(bob, f"fu:rep:{team.zed.staff_id}")
        assert "zeta" not in changed and answer is not None and NOT_FOUND in answer
        await _forged(bob, "cu:team:0")
        assert bob.labels()[:1] == ["🏢 Acme · Bob"] and not any("Zeta" in label for label in bob.labels())
        changed, _ = await _forged(bob, "fu:team")
        assert "Zed" not in changed and "Bob: 1 due today, 1 overdue" in changed
        # Nor does the manager reach past her scope: Carol is in South.
        changed, answer = await _forged(mia, f"fu:rep:{team.carol.staff_id}")
        assert "south secret" not in changed and answer is not None and NOT_FOUND in answer
        await carol.send("/today")
        changed, answer = await _forged(carol, f"fu:rep:{team.bob.staff_id}")
        assert "overdue quote" not in changed and answer is not None and NOT_FOUND in answer


async def test_rep_deletes_own_record_but_nobody_elses(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot)
        s = bot.services
        bob = bot.chatters[BOB]
        oops = await _customer(bot, team.bob, "Oops Typo Ltd")
        zeta = await _customer(bot, team.zed, "Zeta")
        await bob.send("/find Oops")
        await bob.press("🏢 Oops Typo Ltd")
        await bob.press("⋯ More")
        assert bob.labels()[:3] == ["📜 History", "➕ Add contact", "🗑 Delete"]
        await bob.press("🗑 Delete")
        assert "deleted" in _text(await bob.press("Yes, delete"))
        assert (await s.customers.customers.search(team.bob, "Oops")).hits == ()
        trash, _ = await s.customers.customers.trash(team.mia)
        assert [c.name for c in trash] == ["Oops Typo Ltd"]  # the manager can restore it from /trash
        await s.customers.customers.restore(team.mia, oops)
        # A forged delete of a colleague's customer: not found, and nothing changes.
        changed, answer = await _forged(bob, f"cu:delok:{zeta}")
        assert "Zeta" not in changed and answer is not None and NOT_FOUND in answer
        assert (await s.customers.customers.get(team.zed, zeta)).deleted_at is None
