"""Managers' digests over a real database: the figures of a fixed data set against hand-computed numbers in all
three languages, the query scope, the schedule and the missed-digest rule with a manual clock, a digest sent once
by two bot processes on one database, and the weekly chart."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from matplotlib import image
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.app import build_services
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core import locales
from crm.core.clock import ManualClock
from crm.core.errors import PermissionDenied
from crm.digests.digests import CHART_TITLE_KEY, Digest, DigestService, DueDigest
from crm.digests.schedule import Frequency, LocalPeriod
from crm.organisation.permissions import Actor
from crm.services import Services
from scheduler.digests.digests import send_due_digests
from storage import tables as t
from storage.engine import create_engine
from storage.offloop import worker_beside
from storage.uow import SqlUnitOfWorkFactory
from tests.support.org import ADMIN_TG, Org, make_org
from views.digests.texts import digest_message, translator

TAIPEI = ZoneInfo("Asia/Taipei")
THURSDAY = date(2026, 11, 26)  # the conftest clock's day: its daily digest covers Wednesday the 25th


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TAIPEI).astimezone(UTC)


@dataclass
class Team:
    org: Org
    mia: Actor  # manager of North (sees North-East too)
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    sam: Actor  # manager of South

    @property
    def services(self) -> Services:
        return self.org.services


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    return Team(org, await org.join(org.admin, 3001, "Mia", "manager", org.north),
                await org.join(org.admin, 3002, "Ned", "rep", org.north_east),
                await org.join(org.admin, 3004, "Sue", "rep", org.south),
                await org.join(org.admin, 3005, "Sam", "manager", org.south))


async def _seed(engine: AsyncEngine, team: Team) -> None:
    """The fixed data set (times in Taipei); the figures each test expects are worked out beside each row."""
    mia, ned, sue = team.mia.staff_id, team.ned.staff_id, team.sue.staff_id
    gone = local(25, 20)

    def customer(owner: int, at: datetime, deleted: datetime | None = None) -> dict[str, Any]:
        return {"name": f"C{owner}-{at:%d%H%M}", "phones": [], "tags": [], "owner_id": owner, "created_at": at,
                "updated_at": at, "deleted_at": deleted}

    def lead(owner: int, at: datetime) -> dict[str, Any]:
        return {"name": f"L{owner}-{at:%d%H}", "phones": [], "owner_id": owner, "created_at": at, "updated_at": at}

    def logged(author: int, at: datetime, deleted: datetime | None = None) -> dict[str, Any]:
        return {"author_id": author, "kind": "call", "text": "called", "occurred_at": at, "created_at": at,
                "deleted_at": deleted}

    def followup(owner: int, due: datetime, status: str = "open", done: datetime | None = None) -> dict[str, Any]:
        return {"owner_id": owner, "text": "call back", "due_at": due, "status": status, "created_at": local(20, 9),
                "completed_at": done}

    async with engine.begin() as conn:
        category = (await conn.execute(select(t.expense_categories.c.id).limit(1))).scalar()
        if category is None:  # PostgreSQL's tests empty every table, the seeded categories too
            category = (await conn.execute(insert(t.expense_categories).values(
                key="other", name="Other", words="", sequence=90).returning(t.expense_categories.c.id))).scalar_one()

        def expense(staff: int, amount: str, currency: str, at: datetime, status: str = "submitted",
                    decided: datetime | None = None) -> dict[str, Any]:
            return {"staff_id": staff, "category_id": category, "amount": Decimal(amount), "currency": currency,
                    "spent_on": at.date(), "status": status, "created_at": at, "updated_at": at,
                    "decided_at": decided, "decided_by": mia if decided else None}

        await conn.execute(insert(t.customers), [
            customer(ned, local(25, 9)), customer(ned, local(25, 15)),  # Wednesday: North 2
            customer(ned, local(24, 10)),  # Tuesday: North's previous 1
            customer(mia, local(25, 23, 30)),  # still Wednesday in Taipei (15:30 UTC): North 3
            customer(mia, local(26, 1)),  # Thursday: not counted
            customer(ned, local(25, 11), deleted=gone),  # in the trash: not counted
            customer(sue, local(25, 10)), customer(sue, local(25, 12)),  # South 2
        ])
        await conn.execute(insert(t.leads), [lead(ned, local(24, 9)), lead(ned, local(24, 10)),  # North prev 2
                                             lead(sue, local(25, 9))])  # South 1
        await conn.execute(insert(t.interactions), [
            *(logged(ned, local(25, h)) for h in (9, 10, 11)), logged(ned, local(24, 9)),  # Ned 3, before 1
            logged(mia, local(25, 16)), logged(mia, local(24, 9)), logged(mia, local(24, 17)),  # Mia 1, before 2
            logged(ned, local(25, 12), deleted=gone),  # deleted: not counted
            *(logged(sue, local(25, h)) for h in (9, 10, 11, 12)),  # Sue 4
        ])
        await conn.execute(insert(t.followups), [
            followup(ned, local(25, 10), "done", local(25, 11)),  # done and due on Wednesday
            followup(ned, local(25, 14)),  # due on Wednesday, overdue at its end
            followup(ned, local(23, 9)),  # overdue at both ends
            followup(ned, local(24, 9), "done", local(25, 8)),  # due Tuesday, overdue at its end, done Wednesday
            followup(mia, local(24, 12), "cancelled"),  # cancelled: counted nowhere
            followup(mia, local(24, 18), "done", local(24, 19)),  # due and done on Tuesday
            followup(sue, local(25, 9)),  # South: overdue
        ])
        await conn.execute(insert(t.expenses), [
            expense(ned, "350", "TWD", local(25, 10)),
            expense(ned, "1280.50", "USD", local(25, 11)),
            expense(ned, "200", "TWD", local(24, 10), "approved", local(25, 9)),  # waiting only at Tuesday's end
            expense(ned, "99.99", "TWD", local(24, 8)),  # waiting at both ends
            expense(mia, "500", "TWD", local(25, 9)),  # Mia's own: not hers to approve
            expense(sue, "70", "TWD", local(25, 9)),  # South
        ])


async def _daily(team: Team, actor: Actor) -> Digest:
    return await team.services.digests.digests.compose(actor, Frequency.DAILY, THURSDAY)


# The sections this module's own tests seed data for; other modules' sections (billing, budgets, announcements…)
# are tested in their modules.
OWN = ("customers", "interactions", "followups", "expenses")


def _figures(made: Digest) -> dict[str, tuple[Any, Any]]:
    return {f"{f.key}{f.params.get('currency', '')}": (f.value, f.previous) for s in made.sections
            for f in s.figures if s.name in OWN}


def _rows(made: Digest, name: str) -> list[tuple[str, Any, Any]]:
    section = next(s for s in made.sections if s.name == name)
    return [(r.label, r.figures[0].value, r.figures[0].previous) for r in section.rows]


async def test_a_managers_daily_figures_match_the_hand_computed_ones(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    made = await _daily(team, team.mia)
    assert made.period == LocalPeriod(date(2026, 11, 25), THURSDAY)
    assert made.previous == LocalPeriod(date(2026, 11, 24), date(2026, 11, 25))
    assert [s.name for s in made.sections if s.name in OWN] == list(OWN)
    assert _figures(made) == {
        "customers.digest_new_customers": (3, 1),
        "customers.digest_new_leads": (0, 2),
        "followups.digest_interactions": (4, 3),
        "followups.digest_done": (2, 1),
        "followups.digest_due": (2, 2),
        "followups.digest_overdue": (2, 2),
        "expenses.digest_pending": (3, 2),
        "expenses.digest_pending_amountTWD": (Decimal("449.99"), Decimal("299.99")),
        "expenses.digest_pending_amountUSD": (Decimal("1280.5"), Decimal(0)),
    }
    assert _rows(made, "interactions") == [("Ned", 3, 1), ("Mia", 1, 2)]
    assert _rows(made, "followups") == [("Ned", 2, 2)]
    assert made.chart is None and made.trend == ()  # a daily digest has no chart


async def test_the_digest_reads_the_same_in_three_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    made = await _daily(team, team.mia)
    catalogs = Catalogs()
    en = digest_message(translator(catalogs, "en"), made)
    assert "<b>Daily digest</b> — 2026-11-25" in en and "Compared with 2026-11-24" in en
    assert "New customers: <b>3</b> (before 1, +2)" in en and "New leads: <b>0</b> (before 2, −2)" in en
    assert "Interactions: <b>4</b> (before 3, +1)" in en and "• Ned: 3 (before 1, +2)" in en
    assert "• Mia: 1 (before 2, −1)" in en
    assert "Done: <b>2</b> (before 1, +1)" in en and "Overdue: <b>2</b> (before 2, ±0)" in en
    assert "Waiting: <b>3</b> (before 2, +1)" in en
    assert "Amount (TWD): <b>TWD 449.99</b> (before TWD 299.99, +TWD 150.00)" in en
    assert "Amount (USD): <b>USD 1,280.50</b> (before USD 0.00, +USD 1,280.50)" in en
    hant = digest_message(translator(catalogs, locales.ZH_HANT), made)
    assert "<b>每日摘要</b> — 2026-11-25" in hant and "新客戶：<b>3</b>（上期 1，+2）" in hant
    assert "• Ned：3（上期 1，+2）" in hant and "逾期：<b>2</b>（上期 2，±0）" in hant
    assert "金額（TWD）：<b>TWD 449.99</b>（上期 TWD 299.99，+TWD 150.00）" in hant
    hans = digest_message(translator(catalogs, locales.ZH_HANS), made)
    assert "<b>每日摘要</b> — 2026-11-25" in hans and "新客户：<b>3</b>（上期 1，+2）" in hans
    assert "互动：<b>4</b>（上期 3，+1）" in hans and "待核准笔数：<b>3</b>（上期 2，+1）" in hans


async def test_a_manager_of_one_department_sees_nothing_of_another(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    south = await _daily(team, team.sam)
    assert _figures(south) == {
        "customers.digest_new_customers": (2, 0),
        "customers.digest_new_leads": (1, 0),
        "followups.digest_interactions": (4, 0),
        "followups.digest_done": (0, 0),
        "followups.digest_due": (1, 0),
        "followups.digest_overdue": (1, 0),
        "expenses.digest_pending": (1, 0),
        "expenses.digest_pending_amountTWD": (Decimal(70), Decimal(0)),
    }
    assert _rows(south, "interactions") == [("Sue", 4, 0)] and _rows(south, "followups") == [("Sue", 1, 0)]
    text = digest_message(translator(Catalogs(), "en"), south)
    assert "Ned" not in text and "Mia" not in text and "USD" not in text

    everyone = _figures(await _daily(team, team.org.admin))
    assert everyone["customers.digest_new_customers"] == (5, 1)
    assert everyone["followups.digest_interactions"] == (8, 3)
    with pytest.raises(PermissionDenied):  # a rep holds no digests.receive
        await _daily(team, team.ned)


async def test_the_weekly_digest_has_a_chart_of_the_last_fourteen_days(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    made = await team.services.digests.digests.compose(team.mia, Frequency.WEEKLY, date(2026, 11, 30))
    assert made.period == LocalPeriod(date(2026, 11, 23), date(2026, 11, 30))
    assert made.previous == LocalPeriod(date(2026, 11, 16), date(2026, 11, 23))
    assert len(made.points) == 14 and made.points[-1] == LocalPeriod(date(2026, 11, 29), date(2026, 11, 30))
    lines = {line.key: line.values for line in made.trend}
    assert lines["customers.digest_new_customers"][-7:] == (0, 1, 3, 1, 0, 0, 0)  # Mon 23 … Sun 29
    assert lines["followups.digest_interactions"][-7:] == (0, 3, 4, 0, 0, 0, 0)
    assert made.chart is not None and made.chart.startswith(b"\x89PNG")
    pixels = image.imread(io.BytesIO(made.chart), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 200


class WordsChart:
    """Module level, so it pickles: "draws" the chart's words, and where it drew them."""

    def render(self, title: str, points: Sequence[str], lines: Sequence[tuple[str, Sequence[int]]]) -> bytes:
        return json.dumps([os.getpid(), title, list(points), [name for name, _ in lines]]).encode()


async def test_the_digest_is_computed_and_charted_in_the_workers_process_in_the_managers_language(
        engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    organisation = team.services.organisation
    digests = DigestService(team.services.uow, clock, sections=organisation.digest_sections,
                            trends=organisation.digest_trends, chart=WordsChart(),
                            worker=worker_beside(cast(SqlUnitOfWorkFactory, team.services.uow), clock))
    hant = translator(Catalogs(), locales.ZH_HANT)
    made = await digests.compose(team.mia, Frequency.WEEKLY, date(2026, 11, 30), label=hant)
    assert made.chart is not None
    pid, title, points, names = json.loads(made.chart)
    assert pid != os.getpid()  # a thread of this process would share the bot loop's interpreter lock
    assert title == hant(CHART_TITLE_KEY) != CHART_TITLE_KEY
    assert names == [hant("customers.digest_new_customers"), hant("followups.digest_interactions")]
    assert points[-1] == "11-29" and len(points) == 14
    lines = {line.key: line.values for line in made.trend}
    assert lines["followups.digest_interactions"][-7:] == (0, 3, 4, 0, 0, 0, 0)  # the figures came back whole
    assert _figures(made) == _figures(await team.services.digests.digests.compose(team.mia, Frequency.WEEKLY,
                                                                                  date(2026, 11, 30)))


# ---- the schedule --------------------------------------------------------------------------------------------


async def _due(team: Team) -> list[DueDigest]:
    return await team.services.digests.digests.due()


async def test_daily_at_half_past_eight_and_a_missed_one_only_within_the_working_day(engine: AsyncEngine,
                                                                                     clock: ManualClock) -> None:
    team = await _team(engine, clock)
    digests = team.services.digests.digests
    clock.set(datetime(2026, 11, 26, 8, 29, tzinfo=TAIPEI))
    assert await _due(team) == []
    clock.set(datetime(2026, 11, 26, 8, 30, tzinfo=TAIPEI))
    due = await _due(team)
    # Everyone holding digests.receive with a Telegram account: the admin and both managers, not the reps.
    assert sorted(d.staff_id for d in due) == sorted([team.org.admin.staff_id, team.mia.staff_id,
                                                      team.sam.staff_id])
    mias = next(d for d in due if d.staff_id == team.mia.staff_id)
    assert mias == DueDigest(team.mia.staff_id, Frequency.DAILY, THURSDAY)
    assert await digests.claim(mias) and not await digests.claim(mias)
    assert team.mia.staff_id not in {d.staff_id for d in await _due(team)}

    # The bot was down all morning: Sam's digest still goes out at 17:59, not at 18:00 (then tomorrow's slot).
    clock.set(datetime(2026, 11, 26, 17, 59, tzinfo=TAIPEI))
    assert team.sam.staff_id in {d.staff_id for d in await _due(team)}
    clock.set(datetime(2026, 11, 26, 18, 0, tzinfo=TAIPEI))
    assert await _due(team) == []
    clock.set(datetime(2026, 11, 27, 8, 30, tzinfo=TAIPEI))
    friday = {d.staff_id: d for d in await _due(team)}
    assert friday[team.sam.staff_id].period == LocalPeriod(THURSDAY, date(2026, 11, 27))
    assert friday[team.mia.staff_id].send_day == date(2026, 11, 27)  # yesterday's claim does not hold today's


async def test_weekly_on_mondays_monthly_on_the_first_and_off_never(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    digests = team.services.digests.digests
    await digests.set_frequency(team.mia, Frequency.WEEKLY)
    await digests.set_frequency(team.sam, Frequency.MONTHLY)
    await digests.set_frequency(team.org.admin, Frequency.OFF)
    assert await digests.frequency(team.mia) is Frequency.WEEKLY
    for day in (26, 27, 28, 29):  # Thursday to Sunday: nobody
        clock.set(datetime(2026, 11, day, 9, 0, tzinfo=TAIPEI))
        assert await _due(team) == []
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=TAIPEI))  # Monday
    assert await _due(team) == [DueDigest(team.mia.staff_id, Frequency.WEEKLY, date(2026, 11, 30))]
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TAIPEI))  # the 1st, a Tuesday
    monthly = await _due(team)
    assert monthly == [DueDigest(team.sam.staff_id, Frequency.MONTHLY, date(2026, 12, 1))]
    assert monthly[0].period == LocalPeriod(date(2026, 11, 1), date(2026, 12, 1))

    audit = t.audit_log.c
    async with engine.connect() as conn:
        changes = (await conn.execute(select(audit.after).where(audit.entity == "staff",
                                                               audit.entity_id == team.mia.staff_id))).scalars()
        assert {"digest": "weekly"} in list(changes)


@dataclass
class RecordingBot:
    """Stands in for PTB's Bot where deliver() sends: records each message and photo."""

    chat_ids: list[int] = field(default_factory=list)
    photos: list[int] = field(default_factory=list)

    async def _post(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)  # let the other process interleave
        self.chat_ids.append(int(data["chat_id"]))
        return {"chat": {"id": data["chat_id"]}, "message_id": len(self.chat_ids)}

    async def send_photo(self, chat_id: int, photo: bytes, **_: Any) -> Any:
        self.photos.append(chat_id)
        return type("Message", (), {"chat": type("Chat", (), {"id": chat_id}), "message_id": 0})


async def test_two_bot_processes_on_one_database_send_each_digest_once(db_url: str, engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _seed(engine, team)
    await team.services.digests.digests.set_frequency(team.mia, Frequency.WEEKLY)
    clock.set(datetime(2026, 11, 30, 8, 31, tzinfo=TAIPEI))  # Monday: Mia's weekly, everyone else's daily
    other_engine = create_engine(db_url)
    try:
        settings = Settings(admin_telegram_ids=frozenset({ADMIN_TG}), _env_file=None)
        other = build_services(settings, other_engine, clock)
        catalogs = Catalogs()
        bots = RecordingBot(), RecordingBot()
        sent = await asyncio.gather(send_due_digests(team.services, cast(Bot, bots[0]), catalogs),
                                    send_due_digests(other, cast(Bot, bots[1]), catalogs))
        chats = sorted(bots[0].chat_ids + bots[1].chat_ids)
        assert sum(sent) == 3 and chats == sorted([ADMIN_TG, 3001, 3005])
        assert bots[0].photos + bots[1].photos == [3001]  # the weekly digest's chart

        # A restart, or the next tick: nothing again.
        assert await send_due_digests(other, cast(Bot, RecordingBot()), catalogs) == 0
        sends = t.digest_sends.c
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sends.staff_id, sends.frequency, sends.period_start, sends.sent_at)
                                       )).all()
        assert len(rows) == 3 and all(r.sent_at is not None for r in rows)
        assert (team.mia.staff_id, "weekly", date(2026, 11, 23)) in {(r.staff_id, r.frequency, r.period_start)
                                                                    for r in rows}
    finally:
        await other_engine.dispose()


async def test_a_push_refused_for_a_passing_reason_is_tried_again(engine: AsyncEngine, clock: ManualClock) -> None:
    from telegram.error import RetryAfter

    team = await _team(engine, clock)
    await _seed(engine, team)
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))

    class FloodedBot(RecordingBot):
        async def _post(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
            raise RetryAfter(timedelta(seconds=3))

    catalogs = Catalogs()
    assert await send_due_digests(team.services, cast(Bot, FloodedBot()), catalogs) == 0
    assert len(await _due(team)) == 3  # the claims were dropped
    later = RecordingBot()
    clock.advance(timedelta(minutes=1))
    assert await send_due_digests(team.services, cast(Bot, later), catalogs) == 3


async def test_a_quiet_digest_is_not_pushed(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))
    assert (await _daily(team, team.mia)).quiet  # nothing at all in the period nor the one before
    bot = RecordingBot()
    assert await send_due_digests(team.services, cast(Bot, bot), Catalogs()) == 0
    assert bot.chat_ids == [] and await _due(team) == []  # claimed all the same: not looked at again
    await _seed(engine, team)
    assert not (await _daily(team, team.mia)).quiet
