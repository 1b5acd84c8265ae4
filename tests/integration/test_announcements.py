"""Announcements over a real database: the audience (a department and the ones below it, a role, everyone),
read receipts and who may see them, edit / withdraw / restore with the audit log, scheduled release (once),
exactly-once claims across a crash, the nudge (once, at a working hour) and the digest section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.announcements.model import AnnouncementDraft, Audience, AudienceKind
from crm.announcements.ports import Outcome
from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.organisation.digest import DigestPeriod, DigestSection
from crm.organisation.permissions import Actor
from storage import tables as t
from tests.support.org import Org, make_org


@dataclass
class Team:
    org: Org
    mia: Actor  # manager, North (sees North-East too)
    ned: Actor  # rep, North-East
    nat: Actor  # rep, North
    sue: Actor  # rep, South
    max: Actor  # manager, South


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    return Team(org, await org.join(org.admin, 3001, "Mia", "manager", org.north),
                await org.join(org.admin, 3002, "Ned", "rep", org.north_east),
                await org.join(org.admin, 3003, "Nat", "rep", org.north),
                await org.join(org.admin, 3004, "Sue", "rep", org.south),
                await org.join(org.admin, 3005, "Max", "manager", org.south))


def _to(kind: AudienceKind, target: int | None = None, body: str = "Stocktake on Friday",
        **kw: object) -> AnnouncementDraft:
    return AnnouncementDraft(body=body, audience=Audience(kind, target), **kw)  # type: ignore[arg-type]


async def _recipients(engine: AsyncEngine, announcement_id: int) -> set[int]:
    r = t.announcement_recipients.c
    async with engine.connect() as conn:
        return set((await conn.execute(select(r.staff_id).where(r.announcement_id == announcement_id))).scalars())


async def _audit(engine: AsyncEngine, announcement_id: int) -> list[str]:
    a = t.audit_log.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(a.action).where(a.entity == "announcement", a.entity_id == announcement_id)
                                  .order_by(a.id))
        return list(rows.scalars())


async def test_a_department_announcement_reaches_its_tree_and_only_readers_see_it(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    published = await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, team.org.north, pinned=True))
    a = published.announcement
    assert published.recipients == 3 and a.published_at == clock.now()
    assert await _recipients(engine, a.id) == {team.mia.staff_id, team.ned.staff_id, team.nat.staff_id}

    items, more = await service.board(team.ned)
    assert [(i.announcement.id, i.read, i.author_name) for i in items] == [(a.id, False, "Mia")] and not more
    assert (await service.board(team.sue))[0] == []
    for outsider in (team.sue, team.max):
        with pytest.raises(NotFound):
            await service.open(outsider, a.id)
        with pytest.raises(NotFound):
            await service.mark_read(outsider, a.id)

    await service.mark_read(team.ned, a.id)
    await service.mark_read(team.ned, a.id)  # twice: one receipt, one audit row
    assert (await service.board(team.ned))[0][0].read
    readers = await service.read_list(team.mia, a.id)
    assert readers.read_names == ("Ned",) and readers.unread_names == ("Mia", "Nat")
    assert (readers.view.read, readers.view.recipients) == (1, 3)
    assert (await service.read_list(team.org.admin, a.id)).view.read == 1  # an admin sees every author's
    with pytest.raises(NotFound):
        await service.read_list(team.max, a.id)  # may publish, is not the author
    with pytest.raises(PermissionDenied):
        await service.read_list(team.ned, a.id)
    assert await _audit(engine, a.id) == ["announcement.publish", "announcement.read"]


async def test_role_and_everyone_audiences_and_bad_drafts(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    roles = {r.name: r.id for r in (await service.audiences(team.mia)).roles}
    reps = await service.publish(team.mia, _to(AudienceKind.ROLE, roles["rep"]))
    assert await _recipients(engine, reps.announcement.id) == {team.ned.staff_id, team.nat.staff_id,
                                                               team.sue.staff_id}
    everyone = await service.publish(team.max, _to(AudienceKind.ALL))
    assert everyone.recipients == 6
    with pytest.raises(NotFound):
        await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, 999_999))
    with pytest.raises(ValidationFailed):
        await service.publish(team.mia, _to(AudienceKind.ALL, body="   \n "))
    with pytest.raises(ValidationFailed):
        await service.publish(team.mia, _to(AudienceKind.ALL, body="x" * 3501))
    with pytest.raises(PermissionDenied):
        await service.publish(team.ned, _to(AudienceKind.ALL))


async def test_edit_withdraw_restore_are_the_authors_and_audited(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    a = (await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, team.org.north))).announcement
    clock.advance(timedelta(minutes=5))
    with pytest.raises(NotFound):
        await service.edit(team.max, a.id, "hijacked")
    with pytest.raises(PermissionDenied):
        await service.withdraw(team.ned, a.id)
    view = await service.edit(team.mia, a.id, "Stocktake moved to Saturday")
    assert view.announcement.body == "Stocktake moved to Saturday" and view.announcement.version == 2
    assert view.announcement.edited

    withdrawn = await service.withdraw(team.mia, a.id)
    assert withdrawn.announcement.withdrawn and withdrawn.announcement.deleted_by == team.mia.staff_id
    assert (await service.board(team.ned))[0] == []
    with pytest.raises(NotFound):
        await service.mark_read(team.ned, a.id)
    with pytest.raises(Conflict):
        await service.edit(team.mia, a.id, "again")
    restored = await service.restore(team.org.admin, a.id)  # an admin may restore another's
    assert not restored.announcement.withdrawn and restored.announcement.version == 4
    assert restored.announcement.edited  # by the edit; a withdrawal and a restore are not edits
    assert [i.announcement.id for i in (await service.board(team.ned))[0]] == [a.id]
    assert await _audit(engine, a.id) == ["announcement.publish", "announcement.edit", "announcement.withdraw",
                                          "announcement.restore"]
    other = (await service.publish(team.mia, _to(AudienceKind.ALL))).announcement
    await service.withdraw(team.mia, other.id)
    assert not (await service.restore(team.mia, other.id)).announcement.edited


async def test_a_scheduled_announcement_is_released_once_when_due(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    delivery = team.org.services.announcements.delivery
    later = await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, team.org.north_east,
                                                publish_at=clock.now() + timedelta(hours=2)))
    assert later.recipients == 0 and later.announcement.published_at is None
    assert await delivery.release_due() == 0
    assert (await service.board(team.ned))[0] == []
    clock.advance(timedelta(hours=5))  # the bot was down at the time: released when it comes back
    assert await delivery.release_due() == 1
    assert await delivery.release_due() == 0
    assert await _recipients(engine, later.announcement.id) == {team.ned.staff_id}
    with pytest.raises(ValidationFailed):
        await service.publish(team.mia, _to(AudienceKind.ALL, publish_at=clock.now() + timedelta(days=400)))


async def test_claims_are_exclusive_and_a_crash_mid_send_never_sends_twice(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    delivery = team.org.services.announcements.delivery
    a = (await service.publish(team.mia, _to(AudienceKind.ALL))).announcement
    first = await delivery.claim("dead", 4)
    assert len(first.messages) == 4
    second = await delivery.claim("alive", 100)
    assert {m.recipient.id for m in first.messages}.isdisjoint(m.recipient.id for m in second.messages)
    assert len(second.messages) == 2
    # "dead" had two requests out when it died, and two more claimed that never left.
    out = [m.recipient.id for m in first.messages[:2]]
    assert await delivery.sending("dead", out) == set(out)
    await delivery.finish("alive", [Outcome(m.recipient.id, "sent", a.version, message_id=100 + n)
                                    for n, m in enumerate(second.messages)])
    assert (await delivery.claim("alive", 100)).messages == ()  # still leased to "dead"
    clock.advance(delivery.lease + timedelta(seconds=1))
    again = await delivery.claim("alive", 100)
    assert {m.recipient.id for m in again.messages} == {m.recipient.id for m in first.messages[2:]}
    r = t.announcement_recipients.c
    async with engine.connect() as conn:
        uncertain = set((await conn.execute(select(r.id).where(r.uncertain.is_(True), r.state == "sent"))).scalars())
    assert uncertain == set(out)
    # The dead worker's late answer changes nothing: the rows are no longer its own.
    await delivery.finish("dead", [Outcome(i, "failed", a.version) for i in out])
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).where(r.state == "failed"))).scalar_one() == 0


async def test_an_edit_while_sending_is_delivered_as_an_edit_afterwards(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    team = await _team(engine, clock)
    service = team.org.services.announcements.announcements
    delivery = team.org.services.announcements.delivery
    a = (await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, team.org.north_east))).announcement
    claim = await delivery.claim("w", 10)
    await delivery.sending("w", [m.recipient.id for m in claim.messages])
    await service.edit(team.mia, a.id, "New text")  # while the old text is on the wire
    await delivery.finish("w", [Outcome(m.recipient.id, "sent", a.version, message_id=7) for m in claim.messages])
    edit = await delivery.claim("w", 10)
    assert [(m.recipient.message_id, m.announcement.body) for m in edit.messages] == [(7, "New text")]


async def test_one_nudge_at_a_working_hour_only_to_those_who_have_not_read(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    team = await _team(engine, clock)  # Thursday 10:00 in Taipei
    service = team.org.services.announcements.announcements
    delivery = team.org.services.announcements.delivery
    await team.org.services.organisation.staff.set_timezone(team.nat, "Europe/London")  # 02:00 there
    a = (await service.publish(team.mia, _to(AudienceKind.DEPARTMENT, team.org.north))).announcement
    claim = await delivery.claim("w", 10)
    await delivery.finish("w", [Outcome(m.recipient.id, "sent", a.version, message_id=n + 1)
                                for n, m in enumerate(claim.messages)])
    await service.mark_read(team.mia, a.id)
    assert await delivery.nudges_due() == []  # not 24 hours yet
    clock.advance(timedelta(hours=24))  # Friday 10:00 Taipei, 02:00 London
    assert [n.recipient.staff_id for n in await delivery.nudges_due()] == [team.ned.staff_id]
    assert await delivery.nudges_due() == []  # once
    clock.advance(timedelta(hours=7))  # 09:00 London
    assert [n.recipient.staff_id for n in await delivery.nudges_due()] == [team.nat.staff_id]
    clock.advance(timedelta(days=3))
    assert await delivery.nudges_due() == []


async def test_the_digest_section_counts_unread_in_the_managers_scope(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    team = await _team(engine, clock)
    services = team.org.services
    sections = {s.name: s for s in services.organisation.digest_sections}
    section: DigestSection = sections["announcements"]
    service = services.announcements.announcements
    a = (await service.publish(team.org.admin, _to(AudienceKind.ALL))).announcement
    await service.publish(team.org.admin, _to(AudienceKind.ALL, body="Withdrawn one"))
    withdrawn = (await service.mine(team.org.admin))[0][0].announcement
    await service.withdraw(team.org.admin, withdrawn.id)
    await service.mark_read(team.ned, a.id)
    period = DigestPeriod(clock.now() - timedelta(days=1), clock.now() + timedelta(minutes=1))
    previous = DigestPeriod(period.start - timedelta(days=1), period.start)
    async with services.uow(write=False) as uow:
        mia = await section.compute(uow, team.mia, period, previous)  # North and North-East: Mia, Nat, (Ned read)
        admin = await section.compute(uow, team.org.admin, period, previous)
        sue = await section.compute(uow, team.sue, period, previous)  # a rep's staff scope: her department
    assert mia is not None and admin is not None and sue is not None
    assert mia.figures[0].value == 2 and {r.label for r in mia.rows} == {"Mia", "Nat"}
    assert mia.figures[1].value == 1 and mia.figures[1].previous == 0
    assert admin.figures[0].value == 5
    assert sue.figures[0].value == 2 and {r.label for r in sue.rows} == {"Sue", "Max"}
    r = t.announcement_recipients.c
    async with engine.begin() as conn:  # a person without Telegram is not counted as unread
        await conn.execute(update(t.announcement_recipients).where(r.staff_id == team.nat.staff_id)
                           .values(state="failed"))
    async with services.uow(write=False) as uow:
        again = await section.compute(uow, team.mia, period, previous)
    assert again is not None and again.figures[0].value == 1

