"""My office in chat, in three languages: a PDF sent with no caption is offered "File it", filed with a title,
tags and a customer, found by a two-character Chinese tag and by one character, sent again with its own name and
type, filed again as a second version, deleted and restored; another rep (and a manager) never sees a "me"
document, also through forged presses; an event with a colleague who accepts; the .ics feed fetched over
loopback HTTP, parsed back with icalendar and checked, and a reset token answering 404."""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.http import HttpServer, build_http_app
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from scheduler.followups.reminders import dispatcher_for
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NAT, NED, SUE, MIA = 3201, 3202, 3203, 3204
TAIPEI = ZoneInfo("Asia/Taipei")
PDF = b"%PDF-1.7 price list"


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    """A press of callback data no message of this chat carries."""
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _documents(engine: AsyncEngine) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(t.office_documents).order_by(t.office_documents.c.id)))


async def _send_file(bot: BotHarness, chatter: Chatter, name: str, content: bytes, mime: str) -> str:
    return _text(await chatter._do(bot.api.document(chatter.user, name, content, mime, enqueue=False)))


async def test_a_pdf_is_filed_found_by_two_chinese_characters_sent_again_versioned_and_restored(
        engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)

        offered = await _send_file(bot, nat, "報價單 2027.pdf", PDF, "application/pdf")
        assert "要把 報價單 2027.pdf 歸檔到我的辦公室嗎" in offered
        assert nat.labels() == ["📁 歸檔", "暫不"]
        asked = _text(await nat.press("📁 歸檔"))
        assert "請用一行輸入標題" in asked
        echoed = await nat.text_of("2027 價目表 #報價 #重點 @台積電")
        assert "這樣對嗎" in echoed and "標題：2027 價目表" in echoed and "標籤：#報價 #重點" in echoed
        assert "連結：客戶 台積電" in echoed and "檔案：報價單 2027.pdf" in echoed and "可見範圍：僅限本人" in echoed
        assert "這樣對嗎" in await nat.text_of("好")  # typed at the echo: shown again, nothing saved
        assert await _documents(engine) == []
        assert "可見範圍：本部門" in _text(await nat.press("本部門"))
        filed = _text(await nat.press("✅ 儲存"))
        assert "已歸檔" in filed and "2027 價目表" in filed and "第 1 版" in filed and "客戶：台積電" in filed

        (row,) = await _documents(engine)
        assert (row.file_name, row.mime_type, row.kind, row.visibility) == ("報價單 2027.pdf", "application/pdf",
                                                                            "document", "department")
        kept = bot.runtime.settings.data_dir / row.file_path
        assert kept.read_bytes() == PDF and stat.S_IMODE(os.stat(kept).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(kept.parent).st_mode) == 0o700

        for query in ("/docs #報價", "/docs 報價", "/docs 價", "/docs 台積電", "/docs 2027"):
            await nat.send(query)
            assert nat.labels() == ["📄 2027 價目表"], query
        assert "找不到「#報告」的文件" in await nat.text_of("/docs #報告")
        await nat.send("台積電")  # the customer's card: its documents one tap away
        await nat.press("🏢 台積電")
        assert "連結到此的文件" in _text(await nat.press("📁 文件"))
        assert nat.labels() == ["📄 2027 價目表"]

        await nat.press("📄 2027 價目表")
        before = len(bot.api.documents(NAT))
        assert "📤 2027 價目表" in _text(await nat.press("📤 傳給我"))
        sent = bot.api.documents(NAT)[before:]
        assert [(d.filename, d.mime_type, d.content) for d in sent] == [("報價單 2027.pdf", "application/pdf", PDF)]

        # The same title again: a second version, listed once, the first still on the card.
        await _send_file(bot, nat, "draft.pdf", b"%PDF draft", "application/pdf")
        older = nat.last
        await _send_file(bot, nat, "報價單 2027 v2.pdf", PDF + b" v2", "application/pdf")
        stale = await nat.press("📁 歸檔", older.message_id)  # the older offer no longer files anything
        assert bot.told(stale, bot.t("zh-Hant", "error.stale_button"))
        await nat.press("📁 歸檔")
        await nat.send("2027 價目表 #報價")
        card = _text(await nat.press("✅ 儲存"))
        assert "第 2 版" in card and "其他版本：v1" in card
        assert [r.file_name for r in await _documents(engine)] == ["報價單 2027.pdf", "報價單 2027 v2.pdf"]
        await nat.send("/docs #報價")
        assert nat.labels() == ["📄 2027 價目表 v2"]

        await nat.press("📄 2027 價目表 v2")
        deleted = _text(await nat.press("🗑 刪除"))
        assert "已移到回收桶" in deleted
        await nat.send("/docs #報價")
        assert nat.labels() == ["📄 2027 價目表"]  # the first version shows again
        await nat.send("/docs trash")
        assert nat.labels() == ["♻️ 📄 2027 價目表 v2"]
        assert "已還原" in _text(await nat.press(1))
        await nat.send("/docs #報價")
        assert nat.labels() == ["📄 2027 價目表 v2"]


async def test_a_me_document_is_nobody_elses_also_through_forged_presses(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        sue, _ = await join(bot, SUE, "Sue", "rep", "zh-hans")
        mia, _ = await join(bot, MIA, "Mia", "manager")

        # A spreadsheet is still the import's, a captioned /intel photo still intel: no "File it" for them.
        assert "File it" not in await _send_file(bot, ned, "customers.csv", b"name\nAcme\n", "text/csv")
        assert "File it" not in ned.labels()
        await ned.send("/cancel")
        intel = _text(await ned._do(bot.api.photo(ned.user, b"\xff\xd8", caption="/intel Acme 8折", enqueue=False)))
        assert "File it" not in intel and "File it" not in ned.labels()
        await ned.send("/cancel")

        await _send_file(bot, ned, "salary.xlsx.pdf", b"%PDF secret", "application/pdf")
        await ned.press("📁 File it")
        await ned.send("Salary notes #hr")
        assert "Only me" in (ned.last.text or "")
        await ned.press("✅ Save")
        await bot.api.deliver(bot.app, bot.api.photo(ned.user, b"\xff\xd8team", enqueue=False))
        await ned.press("📁 File it")
        await ned.send("Team photo #hr")
        await ned.press("Everyone")
        await ned.press("✅ Save")
        private, shared = await _documents(engine)

        # "@<ticket number>" links the ticket (a project by its name the same way).
        acme = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        ticket = (await bot.services.service.tickets.open(neds, acme.id, "Chiller leaks")).card.ticket
        await bot.api.deliver(bot.app, bot.api.photo(ned.user, b"\xff\xd8leak", enqueue=False))
        await ned.press("📁 File it")
        assert f"Linked to: Ticket {ticket.number} Chiller leaks" in await ned.text_of(f"Leak @{ticket.number}")
        await ned.press("✅ Save")
        assert (await _documents(engine))[-1].link_kind == "ticket"

        assert "找不到「Salary」的文件" in await sue.text_of("/docs Salary")
        await sue.send("/docs #hr")
        assert sue.labels() == ["🖼 Team photo"]
        await mia.send("/docs #hr")
        assert mia.labels() == ["🖼 Team photo"]  # a manager neither
        before = len(bot.api.documents(SUE))
        for data in (f"ofd:open:{private.id}", f"ofd:send:{private.id}", f"ofd:del:{private.id}",
                     f"ofd:rst:{private.id}", f"ofd:del:{shared.id}"):
            replies = await _forge(bot, sue, data)
            assert "Salary" not in _text(replies) and "secret" not in _text(replies), data
            assert bot.told(replies, bot.t("zh-Hans", "error.not_found")), data
        assert len(bot.api.documents(SUE)) == before
        assert [r.deleted_at for r in await _documents(engine)] == [None, None, None]
        assert bot.api.calls_to("sendPhoto") == [] or all(c.params.get("chat_id") != SUE
                                                           for c in bot.api.calls_to("sendPhoto"))


async def test_an_event_with_a_colleague_who_accepts_and_the_calendar_feed(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock, public_base_url="https://crm.example.test") as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        sue, sues = await join(bot, SUE, "Sue", "rep", "zh-hans")
        ned, neds = await join(bot, NED, "Ned", "rep")

        assert "/event [会议|拜访|电话|请假|其他]" in await sue.text_of("/event")  # alone: how to use it
        assert "看不懂时间" in await sue.text_of("/event 会议 改天 预算检讨")  # no time: said, nothing kept
        assert "找不到名为「Nobody」的唯一在职同事" in await sue.text_of("/event 明天下午3点 预算检讨 @Nobody")
        echoed = await sue.text_of("/event 会议 明天下午3点 预算检讨 @Ned")
        assert "这样对吗" in echoed and "预算检讨" in echoed and "类型：会议" in echoed
        assert "2026-11-27 15:00–16:00" in echoed and "参加者：Ned (已邀请)" in echoed
        saved = _text(await sue.press("✅ 保存"))
        assert "已加入日程" in saved
        invitation = bot.api.last_message(NED).text or ""
        assert "Sue invites you" in invitation and "预算检讨" in invitation and "2026-11-27 15:00–16:00" in invitation
        assert ned.labels() == ["✅ Accept", "✖️ Decline"]
        nat, _ = await join(bot, NAT, "Nat", "rep", "zh-hant")
        event_id = int(re.search(r"ofe:acc:(\d+)", str(bot.api.last_message(NED).reply_markup))[1])  # type: ignore[index]
        forged = await _forge(bot, nat, f"ofe:acc:{event_id}")  # not invited: nothing to accept
        assert bot.told(forged, bot.t("zh-Hant", "error.not_found"))
        accepted = _text(await ned.press("✅ Accept"))
        assert "Accepted" in accepted and "Ned (accepted)" in accepted
        assert "15:00 👥 预算检讨" in await ned.text_of("/schedule tomorrow")
        assert "预算检讨" in await ned.text_of("/schedule week")
        photos = len(bot.api.calls_to("sendPhoto"))
        assert "Your week" in _text(await ned.press("🖼 As a picture"))
        (drawn,) = bot.api.calls_to("sendPhoto")[photos:]
        assert drawn.params["chat_id"] == NED
        picture = bot.api.last_message(NED).document
        assert picture is not None and picture.content.startswith(b"\x89PNG\r\n\x1a\n")

        # Sue's own private event and follow-up, Ned's follow-up.
        await sue.send("/event 请假 下周一")
        await sue.press("✅ 保存")
        acme = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        due = datetime(2026, 11, 28, 10, 30, tzinfo=TAIPEI)
        await bot.services.followups.followups.plan(neds, Target(EntityKind.CUSTOMER, acme.id), due, "Call Acme, x")
        mine = await bot.services.customers.customers.create(sues, CustomerDraft(name="Sue's"), force=True)
        await bot.services.followups.followups.plan(sues, Target(EntityKind.CUSTOMER, mine.id), due, "Sue only")

        given = await ned.text_of("/calendar")
        url = re.search(r"https://crm\.example\.test(/calendar/[A-Za-z0-9_-]+\.ics)", given)
        assert url is not None, given
        assert "already have" in await ned.text_of("/calendar")
        server = HttpServer(build_http_app(bot.app), "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                got = await http.get(url[1])
                assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
                feed = icalendar.Calendar.from_ical(got.content)
                events = {str(e["SUMMARY"]): e for e in feed.walk("VEVENT")}
                assert set(events) == {"预算检讨", "Call Acme, x"}
                meeting = events["预算检讨"].decoded("DTSTART")
                assert meeting == datetime(2026, 11, 27, 15, 0, tzinfo=TAIPEI)
                assert str(meeting.tzinfo) == "Asia/Taipei" and "Asia/Taipei" in got.text
                assert events["Call Acme, x"].decoded("DTSTART") == due
                assert "Call Acme\\, x" in got.text  # RFC 5545 escaping

                assert "new calendar feed" in await ned.text_of("/calendar reset")
                assert (await http.get(url[1])).status_code == 404
                assert (await http.get("/calendar/" + "x" * 43 + ".ics")).status_code == 404
                fresh = re.search(r"(/calendar/[A-Za-z0-9_-]+\.ics)", ned.last.text or "")
                assert fresh is not None and (await http.get(fresh[1])).status_code == 200
        finally:
            await server.stop()

        # Fifteen minutes before the meeting, its owner and the colleague who accepted are reminded by the
        # follow-ups' durable reminder job; nothing else is due yet.
        clock.set(datetime(2026, 11, 27, 14, 45, 30, tzinfo=TAIPEI))
        assert (await dispatcher_for(bot.app).run_once()).sent == 2
        assert "Coming up</b> at 2026-11-27 15:00: 预算检讨" in (bot.api.last_message(NED).html or "")
        assert "即将开始（2026-11-27 15:00）：预算检讨" in (bot.api.last_message(SUE).text or "")
        assert ned.labels()[0] == "🗓 My day"
        assert "15:00 👥 预算检讨" in _text(await ned.press("🗓 My day"))
