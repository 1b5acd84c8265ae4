"""Follow-ups as reps use them in chat: /log in one message (three languages), ambiguous and unknown customers,
guided logging and planning from buttons, location check-ins, /today and /agenda, reminder pushes and their
buttons, the morning agenda — and bad input at any step never losing the draft."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import CrmContext
from crm.core.clock import ManualClock
from crm.core.natural_dates import parse_when_prefix
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from scheduler.followups.agenda import agenda_job
from scheduler.followups.reminders import reminders_job
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

TAIPEI = ZoneInfo("Asia/Taipei")
# The harness clock starts on Thursday 26 Nov 2026, 10:00 in Taipei.


async def _join(bot: BotHarness, tg_id: int, name: str, language: str = "en", role: str = "rep") -> tuple[Chatter,
                                                                                                          Actor]:
    """Invite through the services and accept in chat, as a new colleague does."""
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], admin.department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor


async def _customer(bot: BotHarness, owner: Actor, name: str) -> int:
    return int((await bot.services.customers.customers.create(owner, CustomerDraft(name=name), force=True)).id)


async def _location(chatter: Chatter, latitude: float, longitude: float) -> list[ChatMessage]:
    return await chatter._do(chatter.harness.api.location(chatter.user, latitude, longitude, enqueue=False))


def _context(bot: BotHarness) -> Any:
    return CrmContext(bot.app)


async def _rows(engine: AsyncEngine, table: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


async def test_one_message_log_in_three_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        mei, mei_actor = await _join(bot, 3002, "美玲", "zh-hant")
        fang, fang_actor = await _join(bot, 3003, "芳", "zh-hans")
        acme = await _customer(bot, ned_actor, "Acme Trading")
        wang = await _customer(bot, mei_actor, "王大明工業")
        await _customer(bot, fang_actor, "王芳贸易")

        shown = await ned.text_of("/log Acme called about pricing next: tomorrow 3pm send the <quote>")
        assert "Acme Trading" in shown and "📞 Call" in shown and "called about pricing" in shown
        assert "Fri 27 Nov 15:00 (Asia/Taipei)" in shown and "send the <quote>" in shown
        assert "• 📞 Call" in ned.labels() and "✅ Save" in ned.labels()
        saved = "\n".join(m.text or "" for m in await ned.press("✅ Save"))
        assert "Saved" in saved and "Fri 27 Nov 15:00 (Asia/Taipei)" in saved

        shown = await mei.text_of("/log 王大明 拜訪，談報價 下次：明天下午3點 送報價")
        assert "王大明工業" in shown and "🚗 拜訪" in shown and "11月27日（週五）15:00（Asia/Taipei）" in shown
        await mei.press("✅ 儲存")
        assert "已儲存" in (mei.last.text or "")

        shown = await fang.text_of("/log 王芳 电话沟通交期 下次: 下周一上午9点 打电话")
        assert "王芳贸易" in shown and "📞 电话" in shown and "11月30日（周一）09:00（Asia/Taipei）" in shown
        await fang.press("✅ 保存")

        interactions = await _rows(engine, t.interactions)
        assert [(i.customer_id, i.kind) for i in interactions][-3:] == [(acme, "call"), (wang, "visit"),
                                                                       (interactions[-1].customer_id, "call")]
        followups = await _rows(engine, t.followups)
        assert [(f.text, f.due_at) for f in followups] == [
            ("send the <quote>", datetime(2026, 11, 27, 7, 0, tzinfo=UTC)),
            ("送報價", datetime(2026, 11, 27, 7, 0, tzinfo=UTC)),
            ("打电话", datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),
        ]


async def test_time_is_echoed_in_the_reps_own_zone(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        await _customer(bot, ned_actor, "Acme Trading")
        await ned.send("/timezone America/New_York")
        # 02:00 UTC is 21:00 on Wednesday in New York: "tomorrow" is Thursday there.
        shown = await ned.text_of("/log Acme met them -> tomorrow 3pm call back")
        assert "Thu 26 Nov 15:00 (America/New_York)" in shown
        await ned.press("✅ Save")
        followup = (await _rows(engine, t.followups))[-1]
        assert followup.due_at == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


async def test_ambiguous_customer_asks_with_buttons(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        await _customer(bot, ned_actor, "Acme Trading")
        foods = await _customer(bot, ned_actor, "Acme Foods")
        # Sue's customer is out of Ned's scope: never offered, never revealed.
        _, sue_actor = await _join(bot, 3002, "Sue")
        await _customer(bot, sue_actor, "Acme Secret")
        shown = await ned.text_of("/log Acme emailed the catalogue")
        assert "Several records" in shown
        labels = ned.labels()
        assert "🏢 Acme Trading" in labels and "🏢 Acme Foods" in labels
        assert not any("Secret" in label for label in labels)
        await ned.press("🏢 Acme Foods")
        assert "Acme Foods" in (ned.last.text or "") and "✉️ Email" in (ned.last.text or "")
        assert "emailed the catalogue" in (ned.last.text or "")
        await ned.press("✅ Save")
        assert (await _rows(engine, t.interactions))[-1].customer_id == foods


async def test_unknown_customer_creates_a_lead_keeping_the_log(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, _ = await _join(bot, 3001, "Ned")
        shown = await ned.text_of("/log Zeta met the buyer at the fair next: in 3 days send samples")
        assert "No customer" in shown and "met the buyer at the fair" in shown
        assert "Sun 29 Nov 09:00 (Asia/Taipei)" in shown  # the time is echoed before the one tap
        await ned.press("🌱 Create lead “Zeta” and save the log")
        assert "Saved" in (ned.last.text or "") and "Zeta" in (ned.last.text or "")
        lead = (await _rows(engine, t.leads))[-1]
        interaction = (await _rows(engine, t.interactions))[-1]
        followup = (await _rows(engine, t.followups))[-1]
        assert lead.name == "Zeta"
        assert (interaction.lead_id, interaction.kind, interaction.text) == (lead.id, "meeting",
                                                                            "met the buyer at the fair")
        assert (followup.lead_id, followup.text) == (lead.id, "send samples")
        assert followup.due_at == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)

        # A quoted name of several words makes a lead of exactly that name.
        await ned.send('/log "Omega Labs" called')
        await ned.press("🌱 Create lead “Omega Labs” and save the log")
        assert (await _rows(engine, t.leads))[-1].name == "Omega Labs"


async def test_guided_log_plan_and_call_back_from_buttons(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        acme = await _customer(bot, ned_actor, "Acme Trading")
        first = await bot.services.followups.followups.plan(ned_actor, Target(EntityKind.CUSTOMER, acme),
                                                  clock.now() + timedelta(hours=2), "prepare offer")
        shown = await ned.text_of("/today")
        assert "prepare offer" in shown and "Acme Trading" in shown
        today = ned.last.message_id
        await ned.press_data(f"fu:view:{first.id}", today)
        assert "prepare offer" in (ned.last.text or "")

        # Log step by step: kind → what happened → next step.
        await ned.press("📝 Log")
        assert "How were you in touch with Acme Trading" in (ned.last.text or "")
        await ned.press("🤝 Meeting")
        assert "What happened" in (ned.last.text or "")
        await ned.send("signed the framework contract")
        assert "Next step" in (ned.last.text or "")
        await ned.send("next tuesday 10am check delivery")
        shown = ned.last.text or ""
        assert "🤝 Meeting" in shown and "Tue 1 Dec 10:00 (Asia/Taipei)" in shown and "check delivery" in shown
        await ned.press("✅ Save")
        interaction = (await _rows(engine, t.interactions))[-1]
        assert (interaction.customer_id, interaction.kind) == (acme, "meeting")

        # Plan: when (echoed, one tap), then what.
        await ned.press_data(f"fu:view:{first.id}", today)
        await ned.press("➕ Plan")
        await ned.send("in 2 hours")
        assert "Thu 26 Nov 12:00 (Asia/Taipei)" in (ned.last.text or "")
        await ned.press("✅ Confirm")
        await ned.send("send the brochure")
        assert "Planned" in (ned.last.text or "")

        # Call-back reminder: only when.
        await ned.press_data(f"fu:view:{first.id}", today)
        await ned.press("📞 Call back")
        await ned.send("明天下午3點")
        assert "Fri 27 Nov 15:00 (Asia/Taipei)" in (ned.last.text or "")
        await ned.press("✅ Confirm")
        texts = [(f.text, f.due_at) for f in await _rows(engine, t.followups)]
        assert ("send the brochure", datetime(2026, 11, 26, 4, 0, tzinfo=UTC)) in texts
        assert ("Call back Acme Trading", datetime(2026, 11, 27, 7, 0, tzinfo=UTC)) in texts
        assert ("check delivery", datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) in texts


async def test_location_check_ins(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        acme = await _customer(bot, ned_actor, "Acme Trading")

        # While writing a log: the location is its check-in and makes it a visit.
        await ned.send("/log Acme talked about the new line")
        await _location(ned, 25.0330, 121.5654)
        assert "📍" in (ned.last.text or "") and "• 🚗 Visit" in ned.labels()
        await ned.press("✅ Save")
        first = (await _rows(engine, t.interactions))[-1]
        assert (first.kind, first.latitude, first.longitude) == ("visit", 25.0330, 121.5654)

        # No flow: which customer are you visiting?
        replies = await _location(ned, 25.04, 121.57)
        assert "Which customer are you visiting" in (replies[-1].text or "")
        await ned.send("Acme Trading")
        assert "On-site visit (check-in)" in (ned.last.text or "")
        await ned.press("✅ Save")
        second = (await _rows(engine, t.interactions))[-1]
        assert (second.customer_id, second.kind, second.latitude) == (acme, "visit", 25.04)

        # Right after a visit logged without a location.
        await ned.send("/log Acme visited the plant")
        await ned.press("✅ Save")
        assert "Share your location" in (ned.last.text or "")
        await _location(ned, 25.05, 121.58)
        assert "Check-in saved" in (ned.last.text or "")
        third = (await _rows(engine, t.interactions))[-1]
        assert (third.text, third.latitude, third.longitude) == ("visited the plant", 25.05, 121.58)


async def test_today_agenda_and_agenda_time(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        acme = Target(EntityKind.CUSTOMER, await _customer(bot, ned_actor, "Acme <Trading>"))
        plan = bot.services.followups.followups.plan
        await plan(ned_actor, acme, clock.now() - timedelta(days=1), "overdue quote")
        await plan(ned_actor, acme, clock.now() + timedelta(hours=3), "call at one")
        await plan(ned_actor, acme, clock.now() + timedelta(days=1), "tomorrow's visit")
        shown = await ned.text_of("/today")
        assert "Overdue (1)" in shown and "overdue quote" in shown and "Wed 25 Nov 10:00" in shown
        assert "Due (1)" in shown and "13:00 · Acme <Trading> — call at one" in shown
        assert "tomorrow's visit" not in shown
        shown = await ned.text_of("/agenda tomorrow")
        # Another day shows only its own items: what is overdue today is not tomorrow's business.
        assert "Fri 27 Nov" in shown and "tomorrow's visit" in shown and "overdue quote" not in shown
        await ned.press("◀️ Previous day")
        assert "call at one" in (ned.last.text or "")
        assert "couldn't read a date" in await ned.text_of("/agenda someday maybe")

        assert "08:30 (Asia/Taipei)" in await ned.text_of("/agendatime")
        assert "07:45" in await ned.text_of("/agendatime 7:45")
        assert "not a time" in await ned.text_of("/agendatime 25:99")
        assert "switched off" in await ned.text_of("/agendatime off")
        assert "is off" in await ned.text_of("/agendatime")

        # The morning agenda push (run the job's callback as the scheduler would).
        ned_actor = await bot.services.organisation.identity.actor_by_staff_id(ned_actor.staff_id)
        await bot.services.followups.agenda.set_time(ned_actor, "9:00")
        before = len(bot.api.sent_messages(3001))
        await agenda_job(_context(bot))
        await agenda_job(_context(bot))
        pushed = bot.api.sent_messages(3001)[before:]
        assert len(pushed) == 1 and "Good morning" in (pushed[0].text or "") and "call at one" in (pushed[0].text or "")


async def test_reminder_push_and_its_buttons(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        acme_id = await _customer(bot, ned_actor, "Acme Trading")
        acme = Target(EntityKind.CUSTOMER, acme_id)
        plan = bot.services.followups.followups.plan
        one = await plan(ned_actor, acme, clock.now() + timedelta(minutes=30), "call about the invoice")
        two = await plan(ned_actor, acme, clock.now() + timedelta(minutes=30), "send samples")
        three = await plan(ned_actor, acme, clock.now() + timedelta(minutes=30), "confirm the meeting")
        await reminders_job(_context(bot))
        assert not [m for m in bot.api.sent_messages(3001) if "Reminder" in (m.text or "")]
        clock.advance(timedelta(minutes=31))
        await reminders_job(_context(bot))
        pushes = [m for m in bot.api.sent_messages(3001) if "Reminder" in (m.text or "")]
        assert len(pushes) == 3 and "(late)" not in (pushes[0].text or "")
        assert "Thu 26 Nov 10:30 (Asia/Taipei)" in (pushes[0].text or "")
        assert [b.text for b in pushes[0].buttons] == ["✅ Done", "😴 1 hour", "🌅 Tomorrow 9:00", "📅 Next week",
                                                       "🗓 Reschedule", "🏢 Open customer"]
        by_id = {int(m.buttons[0].callback_data.split(":")[2]): m.message_id for m in pushes}  # type: ignore[union-attr]

        await ned.press("✅ Done", by_id[one.id])
        assert "Done: call about the invoice" in (bot.api.chat(3001).message(by_id[one.id]).text or "")
        await ned.press("🌅 Tomorrow 9:00", by_id[two.id])
        assert "Fri 27 Nov 09:00 (Asia/Taipei)" in (bot.api.chat(3001).message(by_id[two.id]).text or "")

        await ned.press("🗓 Reschedule", by_id[three.id])
        assert "New time" in (ned.last.text or "")
        assert "couldn't read" in await ned.text_of("whenever")
        assert "text" in "\n".join(m.text or "" for m in await ned.photo())  # a photo: we need text
        assert "in the past" in await ned.text_of("yesterday 9am")
        await ned.send("friday 10am")
        assert "Fri 27 Nov 10:00 (Asia/Taipei)" in (ned.last.text or "")
        await ned.press("✅ Confirm")
        assert "Moved" in (ned.last.text or "")

        stored = {f.id: f for f in await _rows(engine, t.followups)}
        assert stored[one.id].status == "done"
        assert stored[two.id].due_at == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
        assert stored[two.id].remind_state == "pending" and stored[two.id].status == "open"
        assert stored[three.id].due_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)

        # The snoozed one comes back the next morning, once.
        clock.set(datetime(2026, 11, 27, 9, 0, 30, tzinfo=TAIPEI))
        await reminders_job(_context(bot))
        await reminders_job(_context(bot))
        again = [m for m in bot.api.sent_messages(3001)
                 if "Reminder" in (m.text or "") and "send samples" in (m.text or "")]
        assert len(again) == 2  # the first push and the snoozed one


async def test_bad_input_never_loses_the_draft(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, reminder_tick_seconds=300) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, ned_actor = await _join(bot, 3001, "Ned")
        await _customer(bot, ned_actor, "Acme Trading")
        shown = await ned.text_of("/log Acme called about <the> order next: someday send it")
        assert "When?" in shown
        fuzz = random.Random(20261126)
        alphabet = "ab 12:明天下午點週后<>&\"'/\\\n💥"
        typed = ["blah", "<b>oops</b> & co", "💥" * 50, "/nonsense", "x" * 4000, "2月30日", "25點", "99999天後"]
        typed += ["".join(fuzz.choice(alphabet) for _ in range(fuzz.randint(1, 40))) for _ in range(25)]
        now = clock.now().astimezone(TAIPEI)
        typed = [x for x in typed if not ((parsed := parse_when_prefix(x, now)) and parsed[0].at > now)]
        for nasty in typed:
            replies = await ned.send(nasty)
            assert replies and all(m.text for m in replies), nasty  # always an answer, never a crash
            assert "went wrong" not in (replies[-1].text or ""), nasty
        assert "too long" in await ned.text_of("y" * 5000)
        await ned.photo()
        await ned.send("tomorrow 3pm")
        shown = ned.last.text or ""
        assert "called about <the> order" in shown and "Fri 27 Nov 15:00 (Asia/Taipei)" in shown

        # Change the time; a typo does not lose anything; a stale button is refused.
        await ned.press("🕒 Change time")
        assert "couldn't read" in await ned.text_of("tomorrowish")
        await ned.send("2026-12-03 14:00")
        assert "Thu 3 Dec 14:00 (Asia/Taipei)" in (ned.last.text or "")
        await ned.press("✏️ Edit text")
        await ned.send("called about the order (corrected)")
        assert "(corrected)" in (ned.last.text or "")
        first_confirm = ned.last.message_id

        # A new /log starts a new draft; the old draft's buttons no longer act.
        await ned.send("/log Acme second draft")
        second_confirm = ned.last.message_id
        await ned.press("✅ Save", first_confirm)
        answered = [q for q in bot.api._callback_queries.values() if q.message_id == first_confirm][-1]
        assert answered.show_alert and "earlier draft" in (answered.answer_text or "")
        assert await _rows(engine, t.interactions) == []
        await ned.press("✅ Save", second_confirm)
        assert [i.text for i in await _rows(engine, t.interactions)] == ["second draft"]
