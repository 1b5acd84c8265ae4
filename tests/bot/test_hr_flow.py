"""The HR module in chat, in all three languages: a transfer moves a rep in the department tree and offers the
customer handover; a quarter's review whose actuals are checked against figures computed by hand on a fixed data
set (targets set by buttons, a score, a comment echoed, the person's acknowledgement); /mykpi and /teamkpi with
its chart; a colleague without the permission sees nothing of another's record, also through forged presses."""

from __future__ import annotations

import html
import io
import os
import re
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from matplotlib import image
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.hr.periods import parse_code
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

MIA, REX, SAM, NED, TOM = 4101, 4102, 4103, 4104, 4105
LANGUAGES = {"en": "en", "zh-Hant": "zh-hant", "zh-Hans": "zh-hans"}
NOTE = {"en": "yesterday Moved to the north team", "zh-Hant": "昨天 調往北區業務組", "zh-Hans": "昨天 调往北区业务组"}


def _plain(html_text: str) -> str:
    """What a message's HTML looks like on screen."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


def _data(replies: list[ChatMessage]) -> list[str]:
    return [b.callback_data or "" for m in replies for b in m.buttons]


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    return await chatter._do(bot.api.press(chatter.user, None, data, enqueue=False, forged=True))


async def _admin(bot: BotHarness) -> Actor:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    admin: Actor | None = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    assert admin is not None
    return admin


async def _team(bot: BotHarness, locale: str) -> dict[str, Any]:
    """Sales (with North below it) and Support under Ada's department; Mia manages Sales; Rex and Sam are reps in
    Sales, Ned a rep there too, Tom a rep in Support."""
    admin = await _admin(bot)
    departments = bot.services.organisation.departments
    sales = await departments.create(admin, "Sales", admin.department_id)
    north = await departments.create(admin, "North", sales.id)
    support = await departments.create(admin, "Support", admin.department_id)
    people: dict[str, Any] = {"admin": admin, "sales": sales, "north": north, "support": support}
    for tg, name, role, dep in ((MIA, "Mia", "manager", sales), (REX, "Rex", "rep", sales),
                                (SAM, "Sam", "rep", sales), (NED, "Ned", "rep", sales), (TOM, "Tom", "rep", support)):
        chatter, actor = await join(bot, tg, name, role, LANGUAGES[locale])
        await bot.services.organisation.staff.change_department(admin, actor.staff_id, dep.id)
        await bot.services.organisation.staff.set_timezone(actor, "Asia/Taipei")
        fresh = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg, name))
        people[name] = (chatter, fresh)
    return people


@pytest.mark.parametrize("locale", list(LANGUAGES))
async def test_a_transfer_moves_the_rep_and_offers_the_handover(engine: AsyncEngine, clock: ManualClock,
                                                                locale: str) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot, locale)
        mia, mias = team["Mia"]
        _, rexs = team["Rex"]
        await bot.services.customers.customers.create(rexs, CustomerDraft(name="Acme Trading"), force=True)

        def tr(key: str, **params: Any) -> str:
            return _plain(bot.t(locale, key, **params))

        listed = await mia.send("/hr")
        assert tr("hr.people_title") in _text(listed)
        assert "Tom" not in [b.text for m in listed for b in m.buttons]  # Support is not Mia's tree
        card = _text(await mia.press("Rex"))
        assert tr("hr.card_title", name="Rex") in card and tr("hr.field_department", value="Sales") in card

        await mia.press(tr("hr.btn_event"))
        asked = _text(await mia.press(tr("hr.kind_transfer")))
        assert tr("hr.ask_department") in asked
        assert "Support" not in mia.labels()  # only departments in Mia's own tree
        await mia.press("· · North")
        await mia.send(NOTE[locale])
        echoed = _text([mia.last])
        assert tr("hr.check_department", name="North") in echoed
        local_yesterday = date(2026, 11, 25)  # the clock starts on 2026-11-26 in Taipei
        assert tr("hr.check_on", on=local_yesterday.isoformat()) in echoed, echoed
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.hr_events))).scalar_one() == 0

        saved = await mia.press(tr("hr.btn_save"))
        said = _text(saved)
        assert tr("hr.event_saved", what=tr("hr.kind_transfer")) in said
        assert tr("hr.handover_offer_transfer") in said
        assert f"ho:pick:{rexs.staff_id}" in _data(saved)
        async with engine.connect() as conn:
            rex_row = (await conn.execute(select(t.staff).where(t.staff.c.id == rexs.staff_id))).one()
            event = (await conn.execute(select(t.hr_events))).one()
            audited = (await conn.execute(select(func.count()).select_from(t.audit_log).where(
                t.audit_log.c.entity_id == rexs.staff_id, t.audit_log.c.actor_id == mias.staff_id,
                t.audit_log.c.action.in_(("hr_event", "change_department"))))).scalar_one()
        assert rex_row.department_id == team["north"].id and rex_row.active
        assert (event.kind, event.from_department_id, event.to_department_id) == (
            "transfer", team["sales"].id, team["north"].id)
        assert event.occurred_on == local_yesterday and event.note == NOTE[locale].split(" ", 1)[1]
        assert audited == 2

        handover = await mia.press(tr("hr.btn_handover"))
        assert any(d.startswith(f"ho:to:{rexs.staff_id}:") for d in _data(handover))  # the segments module's flow

        await mia.send("/hr Rex")
        timeline = _text(await mia.press(tr("hr.btn_timeline")))
        assert tr("hr.kind_transfer") in timeline and "North" in timeline and local_yesterday.isoformat() in timeline


async def test_a_departure_with_customers_waits_for_the_handover_then_locks_the_login(
        engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot, "en")
        mia, mias = team["Mia"]
        _, rexs = team["Rex"]
        _, sams = team["Sam"]
        await bot.services.customers.customers.create(rexs, CustomerDraft(name="Acme Trading"), force=True)
        await mia.send("/hr Rex")
        await mia.press("➕ Key event")
        await mia.press("Departure")
        await mia.send("today Moved abroad")
        saved = await mia.press("✅ Save")
        assert "1 customer(s)" in _text(saved) and "hr:off:" + str(rexs.staff_id) in _data(saved)
        async with engine.connect() as conn:
            assert (await conn.execute(select(t.staff.c.active).where(t.staff.c.id == rexs.staff_id))).scalar_one()
        still = await mia.press("🔒 Lock the login (after the handover)")
        assert "1 customer(s)" in _text(still)
        await bot.services.segments.handover.execute(mias, rexs.staff_id, sams.staff_id, None)
        locked = await mia.press("🔒 Lock the login (after the handover)")
        assert "Their login is locked" in _text(locked) and "Left" in _text(locked)
        async with engine.connect() as conn:
            assert not (await conn.execute(select(t.staff.c.active).where(t.staff.c.id == rexs.staff_id))).scalar_one()


# ---- a quarter's review on a fixed data set ------------------------------------------------------------------------

def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _fixed_data(engine: AsyncEngine, rex: int, sam: int, tom: int) -> None:
    """Q4 2026 in Taipei (UTC+8) is [2026-09-30 16:00Z, 2026-12-31 16:00Z). By hand:
    Rex — interactions 6 (5 plain + the one at 01:00 on Oct 1 local), visits 3, new customers 2, follow-ups done on
    time 2; Sam — interactions 2, visits 1, new customers 1, on time 1; Tom (out of scope) — 4 interactions."""
    now = _utc("2026-11-01T00:00:00")
    customer = {"kind": "company", "phones": [], "classification": "potential", "tags": [], "updated_at": now}
    async with engine.begin() as conn:
        ids = {}
        for key, owner, created, deleted in (
                ("r_old", rex, "2026-09-15T03:00:00", None), ("r1", rex, "2026-10-02T03:00:00", None),
                ("r2", rex, "2026-12-31T15:59:00", None), ("r_gone", rex, "2026-11-02T03:00:00", now),
                ("r_next", rex, "2026-12-31T16:00:00", None), ("s1", sam, "2026-11-20T03:00:00", None),
                ("t1", tom, "2026-11-20T03:00:00", None)):
            ids[key] = (await conn.execute(insert(t.customers).values(
                name=key, owner_id=owner, created_at=_utc(created), deleted_at=deleted, **customer
            ).returning(t.customers.c.id))).scalar_one()
        rows = []
        for author, kind, at, deleted in (
                (rex, "visit", "2026-10-05T02:00:00", None), (rex, "visit", "2026-11-05T02:00:00", None),
                (rex, "visit", "2026-12-05T02:00:00", None), (rex, "call", "2026-10-06T02:00:00", None),
                (rex, "email", "2026-11-07T02:00:00", None),
                (rex, "call", "2026-09-30T17:00:00", None),  # 01:00 on Oct 1 in Taipei: inside
                (rex, "visit", "2026-09-30T12:00:00", None),  # 20:00 on Sep 30 in Taipei: outside
                (rex, "visit", "2026-12-31T17:00:00", None),  # 01:00 on Jan 1 in Taipei: outside
                (rex, "visit", "2026-11-09T02:00:00", now),  # deleted
                (sam, "visit", "2026-10-10T02:00:00", None), (sam, "call", "2026-11-10T02:00:00", None),
                *[(tom, "visit", f"2026-10-1{d}T02:00:00", None) for d in range(4)]):
            rows.append({"customer_id": ids["r1"], "author_id": author, "kind": kind, "text": "x",
                         "occurred_at": _utc(at), "created_at": _utc(at), "deleted_at": deleted})
        await conn.execute(insert(t.interactions), rows)
        followups = []
        for owner, due, done, status in (
                (rex, "2026-10-10T02:00:00", "2026-10-09T02:00:00", "done"),  # on time
                (rex, "2026-11-10T02:00:00", "2026-11-10T02:00:00", "done"),  # on the minute: on time
                (rex, "2026-11-10T02:00:00", "2026-11-12T02:00:00", "done"),  # late
                (rex, "2026-12-10T02:00:00", None, "open"),
                (rex, "2026-09-20T02:00:00", "2026-09-19T02:00:00", "done"),  # done in Q3
                (sam, "2026-10-20T02:00:00", "2026-10-19T02:00:00", "done")):
            followups.append({"customer_id": ids["r1"], "owner_id": owner, "text": "f", "due_at": _utc(due),
                              "status": status, "remind_state": "sent", "reminded_late": False,
                              "created_at": _utc("2026-09-01T00:00:00"),
                              "completed_at": _utc(done) if done else None})
        await conn.execute(insert(t.followups), followups)


@pytest.mark.parametrize("locale", list(LANGUAGES))
async def test_a_quarter_review_against_hand_computed_figures_acknowledged_by_the_rep(
        engine: AsyncEngine, clock: ManualClock, locale: str) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot, locale)
        mia, mias = team["Mia"]
        rex, rexs = team["Rex"]
        sam, sams = team["Sam"]
        _, toms = team["Tom"]
        await _fixed_data(engine, rexs.staff_id, sams.staff_id, toms.staff_id)

        def tr(key: str, **params: Any) -> str:
            return _plain(bot.t(locale, key, **params))

        # Targets by buttons: Rex 2 interactions a month (a quarter: 6); every rep 6 visits a quarter.
        await mia.send("/hr Rex")
        await mia.press(tr("hr.btn_targets"))
        await mia.press(tr("kpi.interactions"))
        await mia.press(tr("hr.target_mp"))
        assert tr("hr.error_target") in await mia.text_of("two")
        echoed = await mia.text_of("2")
        assert tr("hr.check_target", measure=tr("kpi.interactions"), period=tr("hr.target_mp"), value="2",
                  name="Rex") in echoed
        assert tr("hr.target_saved") in _text(await mia.press(tr("hr.btn_save")))
        await mia.press(tr("hr.btn_targets"))
        await mia.press(tr("kpi.visits"))
        await mia.press(tr("hr.target_qr"))
        await mia.send("6")
        await mia.press(tr("hr.btn_save"))

        await mia.send("/hr Rex")
        await mia.press(tr("hr.btn_review"))
        quarter = tr("hr.period_q", label="2026 Q4")
        figures = _text(await mia.press(quarter))
        expected = [
            tr("hr.kpi_line", name=tr("kpi.interactions"), actual="6", target="6", share="100.0"),
            tr("hr.kpi_line", name=tr("kpi.visits"), actual="3", target="6", share="50.0"),
            tr("hr.kpi_line_no_target", name=tr("kpi.new_customers"), actual="2"),
            tr("hr.kpi_line_no_target", name=tr("kpi.followups_on_time"), actual="2"),
            tr("hr.attainment", share="75.0"),
        ]
        for line in expected:
            assert line in figures, (line, figures)

        await mia.press("★★★★")
        assert tr("hr.press_button") not in await mia.text_of("Steady quarter, more visits please")
        assert tr("hr.check_review") in _text([mia.last])
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.reviews))).scalar_one() == 0
        await mia.press(tr("hr.btn_submit"))
        pushed = rex.last
        assert tr("hr.review_push") in (pushed.text or "") and tr("hr.attainment", share="75.0") in (pushed.text or "")
        acked = _text(await rex.press(tr("hr.btn_acknowledge")))
        assert tr("hr.review_acknowledged") in acked
        async with engine.connect() as conn:
            review = (await conn.execute(select(t.reviews))).one()
        assert (review.staff_id, review.reviewer_id, review.score, review.status) == (
            rexs.staff_id, mias.staff_id, 4, "acknowledged")
        assert review.period_start == date(2026, 10, 1) and review.comment == "Steady quarter, more visits please"
        assert {x["kpi"]: x["actual"] for x in review.lines} == {
            "interactions": "6", "visits": "3", "new_customers": "2", "followups_on_time": "2", "revenue": "0",
            "orders": "0", "collections": "0", "tickets_in_sla": "0"}

        # Sam's own progress; the team ranked with its chart (Tom is in Support: not Mia's).
        mine = await sam.text_of("/mykpi")
        assert tr("hr.kpi_line", name=tr("kpi.visits"), actual="1", target="6", share="16.7") in mine
        assert tr("hr.kpi_line_no_target", name=tr("kpi.interactions"), actual="2") in mine
        ranked = await mia.send("/teamkpi")
        text = _text(ranked)
        assert tr("hr.team_row", rank=1, name="Rex", share="75.0") in text
        assert tr("hr.team_row", rank=2, name="Sam", share="16.7") in text and "Tom" not in text
        photo = next(m for m in ranked if m.kind == "photo")
        assert photo.document is not None
        assert image.imread(io.BytesIO(photo.document.content), format="png").shape[1] > 200
        # A rep may not rank the team.
        assert tr("error.permission_denied") in await sam.text_of("/teamkpi")


@pytest.mark.parametrize("locale", list(LANGUAGES))
async def test_a_colleague_without_the_permission_sees_nothing_of_another_record(
        engine: AsyncEngine, clock: ManualClock, locale: str) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot, locale)
        mia, mias = team["Mia"]
        ned, _ = team["Ned"]
        _, rexs = team["Rex"]
        rex_id = rexs.staff_id
        await bot.services.hr.records.edit(mias, rex_id, "phone", "+886 912 345 678")
        await bot.services.hr.records.edit(mias, rex_id, "employee_no", "E-0042")
        await _fixed_data(engine, rex_id, team["Sam"][1].staff_id, team["Tom"][1].staff_id)
        review = await bot.services.hr.reviews.submit(mias, rex_id, parse_code("q20264"), 3, "ok")

        def tr(key: str, **params: Any) -> str:
            return _plain(bot.t(locale, key, **params))

        own = await ned.text_of("/hr")  # without hr.view: one's own card
        assert tr("hr.card_title", name="Ned") in own and "E-0042" not in own
        assert tr("hr.nobody", name="Rex") in await ned.text_of("/hr Rex")
        secret = ("E-0042", "912 345", "Rex")
        for data in (f"hr:open:{rex_id}", f"hr:tl:{rex_id}:0", f"hr:edit:{rex_id}", f"hr:ef:{rex_id}:p",
                     f"hr:st:{rex_id}:x", f"hr:ev:{rex_id}", f"hr:ek:{rex_id}:departure",
                     f"hr:ed:{rex_id}:{team['north'].id}", f"hr:kp:{rex_id}", f"hr:kq:{rex_id}:q20264",
                     f"hr:rv:{rex_id}", f"hr:rp:{rex_id}:q20264", f"hr:rs:{rex_id}:q20264:1", f"hr:tg:{rex_id}",
                     f"hr:tk:{rex_id}:visits", f"hr:tt:{rex_id}:visits:qr", f"hr:ack:{review.id}",
                     f"hr:off:{rex_id}", "hr:es", "hr:eg", "hr:rg", "hr:ts", "hr:list:0", "hr:open:999999"):
            replies = await _forge(bot, ned, data)
            shown = _text(replies)
            assert not any(s in shown for s in secret), (data, shown)
            assert (bot.told(replies, tr("error.not_found")) or bot.told(replies, tr("error.permission_denied"))
                    or bot.told(replies, tr("error.stale_button")) or tr("hr.people_title") in shown), (data, shown)
        async with engine.connect() as conn:
            rex_row = (await conn.execute(select(t.staff).where(t.staff.c.id == rex_id))).one()
            events = (await conn.execute(select(func.count()).select_from(t.hr_events))).scalar_one()
            targets = (await conn.execute(select(func.count()).select_from(t.kpi_targets))).scalar_one()
            status = (await conn.execute(select(t.reviews.c.status))).scalar_one()
            profile = (await conn.execute(select(t.staff_profiles).where(
                t.staff_profiles.c.staff_id == rex_id))).one()
        assert rex_row.department_id == team["sales"].id and rex_row.active
        assert (events, targets, status, profile.status) == (0, 0, "submitted", "active")
        # Ned's own /mykpi shows only his own figures (none), and Mia in her scope sees Rex's card.
        assert "E-0042" in await mia.text_of("/hr Rex")


async def test_an_award_with_a_file_keeps_a_private_copy_and_resends_it(engine: AsyncEngine, clock: ManualClock,
                                                                        tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        team = await _team(bot, "zh-Hans")
        mia, _ = team["Mia"]
        _, rexs = team["Rex"]
        await mia.send("/hr Rex")
        await mia.press("➕ 重大事件")
        asked = _text(await mia.press("奖励"))
        assert "昨天" in asked  # the example is in the reader's language
        pdf = b"%PDF-1.4 award letter"
        echoed = _text(await mia._do(bot.api.document(mia.user, "award.pdf", pdf, "application/pdf",
                                                      caption="11月20日 年度最佳业务", enqueue=False)))
        assert "日期：2026-11-20" in echoed and "说明：年度最佳业务" in echoed and "award.pdf" in echoed
        assert "请点击上方的按钮" in await mia.text_of("好")  # typed text at the echo saves nothing
        await mia.press("✅ 保存")
        async with engine.connect() as conn:
            event = (await conn.execute(select(t.hr_events))).one()
        assert (event.kind, event.occurred_on, event.note, event.file_name) == (
            "award", date(2026, 11, 20), "年度最佳业务", "award.pdf")
        kept = tmp_path / str(event.file_path)
        assert kept.read_bytes() == pdf and stat.S_IMODE(os.stat(kept).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(kept.parent).st_mode) == 0o700

        await mia.send("/hr Rex")
        await mia.press("🗓 历程")
        resent = await mia.press("📎 2026-11-20 award.pdf")
        assert any(m.document is not None and m.document.content == pdf for m in resent)
        assert rexs.staff_id == event.staff_id


async def test_typed_input_is_checked_echoed_and_cancellable(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        team = await _team(bot, "en")
        mia, mias = team["Mia"]
        _, rexs = team["Rex"]
        await mia.send("/hr Rex")
        await mia.press("✏️ Edit")
        await mia.press("Phone")
        assert "does not look like a phone number" in await mia.text_of("<script>alert(1)</script>")
        assert "does not look like a phone number" in await mia.text_of("🙂")
        echo = (await mia.send("+886 2 2345 6789"))[-1]
        assert "Set Phone to: +886 2 2345 6789?" in (echo.text or "")
        assert "choose one of the buttons" in await mia.text_of("yes")
        await mia.send("/cancel")
        late = await _forge(bot, mia, "hr:es")  # the echo's Save, pressed after /cancel
        assert bot.told(late, bot.t("en", "error.stale_button")), echo.message_id
        card = await bot.services.hr.records.card(mias, rexs.staff_id)
        assert card.profile.phone is None  # nothing before the tap, and the tap never came

        await mia.send("/hr Rex")
        await mia.press("✏️ Edit")
        await mia.press("Title")
        echoed = await mia.text_of("<b>Lead</b> & co")
        assert "<b>Lead</b> & co" in echoed  # shown as typed: escaped, not bold
        await mia.press("✅ Save")
        assert (await bot.services.hr.records.card(mias, rexs.staff_id)).profile.title == "<b>Lead</b> & co"

        await mia.send("/hr Rex")
        await mia.press("✏️ Edit")
        await mia.press("Manager")
        assert "No single colleague matches" in await mia.text_of("Nobody Here")
        await mia.send("Mia")
        await mia.press("✅ Save")
        assert (await bot.services.hr.records.card(mias, rexs.staff_id)).manager_name == "Mia"

        await mia.send("/hr Rex")
        await mia.press("➕ Key event")
        await mia.press("Warning")
        assert "Please add a note" in await mia.text_of("yesterday")
        await mia.send("x" * 1200)
        assert "too long" in _text([mia.last])
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.hr_events))).scalar_one() == 0
        await mia.send("/cancel")
        assert bot.told(await _forge(bot, mia, "hr:eg"), bot.t("en", "error.stale_button"))
