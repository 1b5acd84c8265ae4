"""Events in chat, in three languages: an end or a length on the /event line ("明天下午3點到5點", "10am 30min",
"2小时", a leave over several days); changing an event's time, title and attendees from its card (typed,
echoed, saved), each attendee told in their own language, the new ones invited and those taken off told,
the reminder rows moved with the event (the same rows) and every change audited; an attendee and another rep
change nothing, also through forged presses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NAT, NED, SUE, MIA = 3401, 3402, 3403, 3404
TAIPEI = ZoneInfo("Asia/Taipei")


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _rows(engine: AsyncEngine, table: Any) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(table).order_by(table.c.id)))


def _message(bot: BotHarness, chat_id: int, text: str) -> int:
    """The latest message of the bot in this chat that says ``text`` (as it is now)."""
    return next(m.message_id for m in reversed(bot.api.chat(chat_id).bot_messages) if text in (m.text or ""))


async def _reminders(engine: AsyncEngine, event_id: int) -> dict[int, tuple[int, datetime, str]]:
    """staff id → (follow-up id, due, status) of their reminder of the event."""
    r, f = t.office_event_reminders, t.followups
    async with engine.connect() as conn:
        rows = await conn.execute(select(r.c.staff_id, f.c.id, f.c.due_at, f.c.status)
                                  .join(f, f.c.id == r.c.followup_id).where(r.c.event_id == event_id))
        return {row.staff_id: (row.id, row.due_at, row.status) for row in rows}


async def test_an_end_or_a_length_on_the_event_line_in_three_languages(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, _ = await join(bot, NAT, "Nat", "rep", "zh-hant")
        ned, _ = await join(bot, NED, "Ned", "rep")
        sue, _ = await join(bot, SUE, "Sue", "rep", "zh-hans")

        echoed = await nat.text_of("/event 會議 明天下午3點到5點 預算檢討")
        assert "這樣對嗎" in echoed and "2026-11-27 15:00–17:00" in echoed and "預算檢討" in echoed
        await nat.press("✅ 儲存")
        assert "2026-11-27 15:00–17:00" in await ned.text_of("/event meeting tomorrow 3pm-5pm budget review")
        await ned.press("Cancel")
        echoed = await ned.text_of("/event call friday 10am 30min Acme")
        assert "2026-11-27 10:00–10:30" in echoed and "Kind: call" in echoed
        assert "2026-11-27 09:00–11:00" in await sue.text_of("/event 拜访 明天上午9点 2小时 台积电")
        echoed = await sue.text_of("/event 请假 下周一到下周三")
        assert "2026-11-30 00:00 – 2026-12-03 00:00" in echoed
        await sue.press("✅ 保存")
        assert "结束时间必须晚于开始时间" not in echoed
        assert "最长 31 天" in await sue.text_of("/event 请假 下周一到2027-03-01")
        (meeting, leave) = await _rows(engine, t.office_events)
        assert (meeting.starts_at, meeting.ends_at) == (datetime(2026, 11, 27, 7, 0, tzinfo=ZoneInfo("UTC")),
                                                        datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("UTC")))
        assert leave.ends_at - leave.starts_at == timedelta(days=3)


async def test_an_event_changed_from_its_card_attendees_told_and_reminders_moved(engine: AsyncEngine,
                                                                                clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, _ = await join(bot, NAT, "Nat", "rep", "zh-hant")
        ned, _ = await join(bot, NED, "Ned", "rep")
        sue, _ = await join(bot, SUE, "Sue", "rep", "zh-hans")
        mia, _ = await join(bot, MIA, "Mia", "rep")

        await nat.send("/event 會議 明天下午3點到5點 預算檢討 @Ned @Sue")
        await nat.press("✅ 儲存")
        (event,) = await _rows(engine, t.office_events)
        await ned.press("✅ Accept")
        before = await _reminders(engine, event.id)
        assert len(before) == 2  # Nat's and Ned's

        # The card from the saved event: the owner's buttons.
        card = _text(await nat.press("✏️ 修改", _message(bot, NAT, "已加入行程")))
        assert "預算檢討" in card and nat.labels() == ["🕒 時間", "✏️ 標題", "👥 參加者", "🗑 取消行程"]
        assert "請輸入「預算檢討」的新時間" in _text(await nat.press("🕒 時間"))
        assert "看不懂" in await nat.text_of("hello")  # asked again, nothing kept
        echoed = await nat.text_of("後天下午4點到6點")
        assert "這樣對嗎" in echoed and "2026-11-28 16:00–18:00" in echoed
        assert "這樣對嗎" in await nat.text_of("好")  # typed at the echo: shown again
        assert (await _rows(engine, t.office_events))[0].starts_at == event.starts_at

        # Another rep and an attendee change nothing, also through forged presses.
        for chatter, locale in ((mia, "en"), (ned, "en")):
            for data in (f"ofe:ed:{event.id}:time", f"ofe:ed:{event.id}:title", f"ofe:ed:{event.id}:who",
                         f"ofe:del:{event.id}"):
                replies = await _forge(bot, chatter, data)
                assert bot.told(replies, bot.t(locale, "error.not_found")), data
            replies = await _forge(bot, chatter, "ofe:esave")
            assert bot.told(replies, bot.t(locale, "error.stale_button"))
        assert bot.told(await _forge(bot, mia, f"ofe:open:{event.id}"), bot.t("en", "error.not_found"))
        assert bot.told(await _forge(bot, nat, f"ofe:ed:{event.id}:when"), bot.t("zh-Hant", "error.stale_button"))
        assert (await _rows(engine, t.office_events))[0].starts_at == event.starts_at

        saved = _text(await nat.press("✅ 儲存", _message(bot, NAT, "2026-11-28 16:00–18:00")))
        assert "行程已修改" in saved and "2026-11-28 16:00–18:00" in saved
        (moved,) = await _rows(engine, t.office_events)
        assert moved.starts_at == datetime(2026, 11, 28, 16, 0, tzinfo=TAIPEI)
        told = bot.api.last_message(NED).text or ""
        assert "Nat changed an event you are on" in told and "2026-11-28 16:00–18:00" in told
        assert ned.labels() == ["✖️ Decline"]  # accepted already
        told = bot.api.last_message(SUE).text or ""
        assert "Nat 修改了您参加的日程" in told and sue.labels() == ["✅ 接受", "✖️ 婉拒"]
        after = await _reminders(engine, event.id)
        assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}  # the same rows, moved
        assert {v[1] for v in after.values()} == {datetime(2026, 11, 28, 15, 45, tzinfo=TAIPEI)}

        # The title, then the attendees: Ned taken off (told, his reminder cancelled), Mia invited.
        await nat.press("✏️ 標題", _message(bot, NAT, "行程已修改"))
        await nat.send("預算定案")
        await nat.press("✅ 儲存")
        assert "Nat changed an event" in (bot.api.last_message(NED).text or "")
        assert "預算定案" in (bot.api.last_message(NED).text or "")
        await nat.press("👥 參加者", _message(bot, NAT, "行程已修改"))
        assert "找不到" in await nat.text_of("@Nobody")
        echoed = await nat.text_of("@Sue @Mia")
        assert "Mia (" in echoed and "Ned" not in echoed
        await nat.press("✅ 儲存")
        assert "Nat took you off “預算定案”" in (bot.api.last_message(NED).text or "")
        assert "Nat invites you" in (bot.api.last_message(MIA).text or "") and mia.labels() == ["✅ Accept",
                                                                                                "✖️ Decline"]
        final = await _reminders(engine, event.id)
        followups = {r.id: r for r in await _rows(engine, t.followups)}
        assert [followups[v[0]].status for v in final.values()] == ["open"]  # Nat's only
        cancelled = [f for f in followups.values() if f.status == "cancelled"]
        assert len(cancelled) == 1 and cancelled[0].text == "🗓 預算定案"
        await mia.press("✅ Accept")
        assert len(await _reminders(engine, event.id)) == 2

        # The day's list opens the card: the owner's buttons for her, the answer still open for Mia.
        await nat.send("/schedule 後天")
        assert "16:00 👥 預算定案" in nat.labels()
        assert "預算定案" in _text(await nat.press("16:00 👥 預算定案")) and "🕒 時間" in nat.labels()
        await mia.send("/schedule 2026-11-28")
        await mia.press("16:00 👥 預算定案")
        assert mia.labels() == ["✖️ Decline"]

        audit = [r for r in await _rows(engine, t.audit_log) if r.entity == "event" and r.action == "update"]
        assert [sorted(r.after) for r in audit] == [["ends_at", "starts_at"], ["title"], ["attendees"]]
        assert re.search(r"預算定案", str(audit[1].after))
