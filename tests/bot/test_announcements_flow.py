"""The bulletin board in chat, over the real Application and the Bot API fake: /announce step by step with wrong
input at every step, to a department (its tree gets it, nobody else), "Got it", the author's read list, the nudge
(only the unread, once, at a working hour), an edit and a withdrawal reaching the messages already delivered, a
scheduled announcement, /cancel and the timeout, and forged presses that change nothing — in three languages."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.announcements.delivery import KICK_KEY
from crm.core.clock import ManualClock
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from scheduler.announcements.delivery import RoundStats, dispatcher_for
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

MIA, NED, SUE, MAX = 3101, 3102, 3103, 3104
# The delivery job's tick (REMINDER_TICK_SECONDS) out of the way: each round is run, and counted, by the test.
QUIET = {"reminder_tick_seconds": 300}


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


async def _company(bot: BotHarness, *, kick: bool = False) -> tuple[dict[str, Chatter], dict[str, int]]:
    """Ada (admin, root); North → North-East; South. Mia manages North (English), Ned is a rep in North-East
    (Traditional Chinese), Sue a rep in South and Max who manages it (Simplified).

    Without ``kick`` a publish, an edit or a "Got it" does not start a delivery round by itself: the test runs
    each round and counts what it did."""
    if not kick:
        bot.app.bot_data[KICK_KEY] = lambda: None
    await bot.user(ADMIN_ID, "Ada").send("/start")
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    departments = bot.services.organisation.departments
    north = await departments.create(admin, "North", admin.department_id)
    north_east = await departments.create(admin, "North-East", north.id)
    south = await departments.create(admin, "South", admin.department_id)
    mia, _ = await _join(bot, MIA, "Mia", "manager", north.id)
    ned, _ = await _join(bot, NED, "Ned", "rep", north_east.id, "zh-hant")
    sue, _ = await _join(bot, SUE, "Sue", "rep", south.id, "zh-hans")
    max_, _ = await _join(bot, MAX, "Max", "manager", south.id, "zh-hans")
    return {"mia": mia, "ned": ned, "sue": sue, "max": max_}, {"north": north.id, "south": south.id}


async def _drain(bot: BotHarness) -> RoundStats:
    return await dispatcher_for(bot.app).run_once()


def _announcements(bot: BotHarness, tg_id: int) -> list[ChatMessage]:
    """The announcements delivered to a chat (the author's previews carry no live button)."""
    return [m for m in bot.api.sent_messages(tg_id) if m.from_bot and "Stocktake" in (m.text or "")
            and not any(b.callback_data == "an:pv" for b in m.buttons)]


async def _compose_to_north(bot: BotHarness, mia: Chatter) -> None:
    """Mia's /announce, with a wrong answer at every step before the right one."""
    assert "What is the announcement?" in await mia.text_of("/announce")
    assert "caption" in "\n".join(m.text or "" for m in await mia.photo())  # a photo without its text
    assert "Who is it for?" in await mia.text_of("Stocktake <Friday> & inventory count, 9:00 at the warehouse")
    assert "Who is it for?" in await mia.text_of("North")  # typed at a button step: asked again
    await mia.press("🏢 A department…")
    assert mia.labels()[:3] == ["Company", "· North", "· · North-East"]
    assert "When should it go out?" in (await mia.press("· North"))[-1].text  # type: ignore[operator]
    assert "could not read that time" in await mia.text_of("whenever suits")
    assert "has passed" in await mia.text_of("yesterday 9am")
    await mia.press("⚡ Now")
    assert "Pin it" in await mia.text_of("sure")
    shown = await mia.press("📌 Pin")
    preview = next(m for m in shown if "Stocktake" in (m.text or ""))
    assert preview.text is not None and preview.text.startswith("📌📢 Announcement from Mia")
    assert "Stocktake <Friday> & inventory count" in preview.text
    assert [b.text for b in preview.buttons] == ["✅ Got it"]
    assert "To: department North (and below)" in (shown[-1].text or "") and "When: now" in (shown[-1].text or "")
    replies = await mia.press("✅ Got it", preview.message_id)  # the preview's button does nothing
    assert bot.told(replies, "This is the preview")
    assert "Pinned" in await mia.text_of("publish it!")  # typed at the last step: the summary again


async def test_announce_to_a_department_read_nudge_edit_withdraw(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, **QUIET) as bot:
        people, _ = await _company(bot)
        mia, ned, sue, max_ = people["mia"], people["ned"], people["sue"], people["max"]
        await _compose_to_north(bot, mia)
        done = (await mia.press("✅ Publish"))[-1]
        assert "Published: on its way to 2 people." in (done.text or "")
        screen = done.message_id  # the author's screen: each press redraws this message
        stats = await _drain(bot)
        assert stats.failed == 0
        assert len(_announcements(bot, NED)) == 1 and len(_announcements(bot, MIA)) == 1
        assert _announcements(bot, SUE) == [] and _announcements(bot, MAX) == [] and _announcements(bot, ADMIN_ID) == []
        delivered = _announcements(bot, NED)[0]
        assert (delivered.text or "").startswith("📌📢 公告｜Mia")
        # Pinned in each recipient's chat, quietly; nobody else's chat has a pin.
        assert bot.api.chat(NED).pinned == [delivered.message_id]
        assert bot.api.chat(MIA).pinned == [_announcements(bot, MIA)[0].message_id]
        assert bot.api.chat(SUE).pinned == [] and bot.api.chat(ADMIN_ID).pinned == []
        assert all(c.params.get("disable_notification") for c in bot.api.calls_to("pinChatMessage"))
        assert [b.text for b in delivered.buttons] == ["✅ 已讀"]
        read_data = delivered.buttons[0].callback_data
        assert read_data is not None
        announcement_id = int(read_data.split(":")[2])

        # Forged presses: Sue "reads" Ned's message, Sue and Max open the author's screens.
        await sue.send("/board")
        assert bot.t("zh-Hans", "announcements.board_empty") in (sue.last.text or "")
        await sue.send("/language")  # messages with buttons to forge presses on
        await max_.send("/board")
        for chatter, data in ((sue, read_data), (sue, f"ann:rd:{announcement_id}:0"),
                              (max_, f"ann:rd:{announcement_id}:0"), (max_, f"ann:ed:{announcement_id}"),
                              (max_, f"ann:wdok:{announcement_id}"), (max_, f"ann:open:{announcement_id}"),
                              (sue, "ann:read:999999"), (sue, "ann:read:abc"), (sue, "an:ok")):
            await chatter._do(bot.api.press(chatter.user, None, data, enqueue=False, forged=True))
        view = await bot.services.announcements.announcements.author_view(
            await bot.services.organisation.identity.actor_for(TelegramIdentity(MIA, "Mia")), announcement_id)
        assert (view.read, view.recipients, view.announcement.withdrawn) == (0, 2, False)

        # Ned: /board shows it unread; "Got it" on the delivered message.
        await ned.send("/board")
        assert "1 則未讀" in (ned.last.text or "") and ned.labels()[0].startswith("📌🔵")
        replies = await ned.press("✅ 已讀", delivered.message_id)
        assert bot.told(replies, "已標記為已讀")
        assert bot.api.chat(NED).message(delivered.message_id).buttons == []

        # Mia's read list.
        await mia.press("📣 Open it", screen)
        assert "Read by 1 of 2" in (bot.api.chat(MIA).message(screen).text or "")
        listed = (await mia.press("👀 Who has read it", screen))[-1].text or ""
        assert "✅ Ned" in listed and "⏳ Mia" in listed

        # The nudge: only Mia has not read; not at 20:00 on Friday, not at the weekend; Monday 09:00, once.
        clock.advance(timedelta(hours=34))  # Friday 20:00 in Taipei
        assert (await _drain(bot)).nudged == 0
        clock.advance(timedelta(hours=13))  # Saturday 09:00
        assert (await _drain(bot)).nudged == 0
        clock.advance(timedelta(hours=48))  # Monday 09:00
        assert (await _drain(bot)).nudged == 1
        nudged = bot.api.last_message(MIA)
        assert "You have not read this announcement from Mia" in (nudged.text or "")
        assert not any("還沒讀" in (m.text or "") for m in bot.api.sent_messages(NED))
        clock.advance(timedelta(hours=24))
        assert (await _drain(bot)).nudged == 0
        # Got it on the nudge: her delivered message loses its button as well.
        mias = _announcements(bot, MIA)[0]
        await mia.press("✅ Got it", nudged.message_id)
        assert (await _drain(bot)).edited == 1
        assert bot.api.chat(MIA).message(mias.message_id).buttons == []

        # The edit reaches the message already delivered (same chat, same message id).
        await mia.press("⬅️ Back", screen)
        assert "Send the new text" in ((await mia.press("✏️ Edit", screen))[-1].text or "")
        assert "no text" in await mia.text_of("   ")
        await mia.send("Stocktake moved to Saturday 10:00")
        await mia.press("✅ Save")
        assert (await _drain(bot)).edited == 2
        edited = bot.api.chat(NED).message(delivered.message_id)
        assert "Stocktake moved to Saturday 10:00" in (edited.text or "") and "（已編輯）" in (edited.text or "")
        assert edited.buttons == []  # Ned had read it: no "Got it" comes back

        # Withdrawn: the delivered message becomes a short note; restored: the text again.
        screen = mia.last.message_id  # the author's screen after saving
        await mia.press("🗑 Withdraw", screen)
        await mia.press("🗑 Yes, withdraw", screen)
        await _drain(bot)
        assert bot.api.chat(NED).message(delivered.message_id).text == "🚫 Mia 的一則公告已撤回。"
        assert bot.api.chat(NED).pinned == [] and bot.api.chat(MIA).pinned == []  # unpinned with the withdrawal
        await ned.send("/board")
        assert bot.t("zh-Hant", "announcements.board_empty") in (ned.last.text or "")
        await mia.press("♻️ Restore", screen)
        await _drain(bot)
        assert "Saturday 10:00" in (bot.api.chat(NED).message(delivered.message_id).text or "")
        assert bot.api.chat(NED).pinned == [delivered.message_id]  # and pinned again


async def test_a_scheduled_announcement_in_simplified_chinese_goes_out_at_its_time(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    async with running_bot(engine, clock, **QUIET) as bot:
        people, _ = await _company(bot)
        max_ = people["max"]
        assert "公告内容是什么" in await max_.text_of("/announce")
        assert "至多" not in await max_.text_of("Stocktake 盘点：周五上午九点，仓库集合")
        await max_.press("🎭 某个角色…")
        assert "什么时候发布" in ((await max_.press("销售"))[-1].text or "")
        assert "看不懂这个时间" in await max_.text_of("下下下个月")
        assert "要置顶" in await max_.text_of("明天上午9点")
        shown = await max_.press("不用")
        summary = shown[-1].text or ""
        assert "发给：角色 销售" in summary and "时间：2026-11-27 09:00" in summary and "不置顶" in summary
        assert "已排定：将于 2026-11-27 09:00 发布" in ((await max_.press("✅ 发布"))[-1].text or "")
        assert (await _drain(bot)).sent == 0
        assert _announcements(bot, NED) == []
        clock.advance(timedelta(hours=23, minutes=1))  # 09:01 the next day
        stats = await _drain(bot)
        assert stats.released == 1 and stats.sent == 2  # the reps: Ned and Sue
        assert (_announcements(bot, SUE)[0].text or "").startswith("📢 公告｜Max")
        assert _announcements(bot, MIA) == []


async def test_cancel_and_timeout_leave_nothing_behind(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock, **QUIET) as bot:
        people, _ = await _company(bot)
        sue, mia = people["sue"], people["mia"]
        assert bot.t("zh-Hans", "error.permission_denied") in await sue.text_of("/announce")
        await mia.send("/announce")
        await mia.send("Stocktake draft")
        await mia.press("👥 Everyone")
        asked_when = mia.last.message_id
        await mia.send("/cancel")
        await mia.send("tomorrow 9am")  # no question open any more: not an answer
        replies = await mia.press("⚡ Now", asked_when)
        assert bot.told(replies, bot.t("en", "error.stale_button"))
        await mia.send("/announce")
        clock.advance(timedelta(minutes=31))  # the question timed out
        assert "Who is it for?" not in await mia.text_of("Stocktake late draft")
        ann = bot.services.announcements.announcements
        actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(MIA, "Mia"))
        assert (await ann.mine(actor))[0] == []


async def test_a_document_with_its_caption_is_kept_and_handed_to_readers(engine: AsyncEngine, clock: ManualClock,
                                                                         tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        people, _ = await _company(bot, kick=True)
        mia, ned, sue = people["mia"], people["ned"], people["sue"]
        await mia.send("/announce")
        asked = await mia._do(bot.api.document(mia.user, "price-list.pdf", b"%PDF-1.4 prices", "application/pdf",
                                               caption="Stocktake price list for Friday", enqueue=False))
        assert "Who is it for?" in asked[-1].text  # type: ignore[operator]
        await mia.press("👥 Everyone")
        await mia.press("⚡ Now")
        shown = await mia.press("No")
        preview = next(m for m in shown if "Stocktake" in (m.text or ""))
        assert [b.text for b in preview.buttons] == ["📎 Attachment", "✅ Got it"]
        await mia.press("✅ Publish")
        await bot.app.settle(10)  # type: ignore[attr-defined]  # the round the publish started (CrmApplication)

        kept = list((tmp_path / "announcements").iterdir())
        assert len(kept) == 1 and kept[0].read_bytes() == b"%PDF-1.4 prices"
        assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
        delivered = _announcements(bot, NED)[0]
        await ned.press("📎 附件", delivered.message_id)
        assert [d.filename for d in bot.api.documents(NED)] == ["price-list.pdf"]
        announcement_id = int(str(delivered.buttons[0].callback_data).split(":")[2])
        await sue.send("/board")
        await sue.send("/language")
        # Withdrawn: the file is no longer handed out, also not to a forged press.
        actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(MIA, "Mia"))
        await bot.services.announcements.announcements.withdraw(actor, announcement_id)
        await sue._do(bot.api.press(sue.user, None, f"ann:file:{announcement_id}", enqueue=False, forged=True))
        assert bot.api.documents(SUE) == []
