"""My office's services on SQLite and PostgreSQL: who sees a document by its visibility and department, versions
when a title is filed again (the newest live one listed, deletes and restores moving that), links found by their
record, the audit trail; an event's reminder rows following its answers; a calendar feed token kept as a hash."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import FollowUpStatus
from crm.office.documents import DocumentService
from crm.office.model import (
    Attendee,
    DocumentDraft,
    EventDraft,
    EventKind,
    FileKind,
    Link,
    LinkKind,
    Upload,
    Visibility,
)
from crm.organisation.permissions import Actor
from crm.sales.opportunity_model import OpportunityFields
from storage import tables as t
from storage.chat_files import ChatFiles
from tests.support.org import make_org

MIA, NED, SUE, NAT = 4101, 4102, 4103, 4104
TAIPEI = ZoneInfo("Asia/Taipei")


def _upload(name: str = "list.pdf") -> Upload:
    return Upload("file-" + name, name, "application/pdf", FileKind.DOCUMENT, 6)


async def _rows(engine: AsyncEngine, table: Any, **where: Any) -> list[Any]:
    async with engine.connect() as conn:
        q = select(table)
        for name, value in where.items():
            q = q.where(table.c[name] == value)
        return list(await conn.execute(q))


async def test_documents_by_visibility_version_and_link(engine: AsyncEngine, clock: ManualClock,
                                                        tmp_path: Path) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, NED, "Ned", "rep", org.north)
    nat = await org.join(org.admin, NAT, "Nat", "rep", org.north)
    sue = await org.join(org.admin, SUE, "Sue", "rep", org.south)
    mia = await org.join(org.admin, MIA, "Mia", "manager", org.north)
    docs = DocumentService(org.services.uow, clock, ChatFiles(tmp_path))
    acme = await org.services.customers.customers.create(ned, CustomerDraft(name="台積電"), force=True)

    link = Link(LinkKind.CUSTOMER, acme.id, "ignored: the name is read again")
    mine = await docs.file(ned, DocumentDraft("Salary notes", ("hr",)), _upload("a.pdf"), b"%PDF-a")
    team = await docs.file(ned, DocumentDraft("報價 2027", ("報價",), link, Visibility.DEPARTMENT), _upload(),
                           b"%PDF-1")
    everyone = await docs.file(ned, DocumentDraft("Holiday list", (), None, Visibility.EVERYONE), _upload("h.pdf"),
                               b"%PDF-h")
    assert team.document.link == Link(LinkKind.CUSTOMER, acme.id, "台積電")
    assert (tmp_path / (team.document.file_path or "")).read_bytes() == b"%PDF-1"

    async def titles(actor: Actor, query: str = "") -> list[str]:
        return [d.title for d in (await docs.search(actor, query))[0]]

    assert await titles(ned) == ["Holiday list", "報價 2027", "Salary notes"]
    assert await titles(nat) == ["Holiday list", "報價 2027"]  # same department
    assert await titles(mia) == ["Holiday list", "報價 2027"]  # their manager: not a "me" document either
    assert await titles(sue) == ["Holiday list"]  # another department
    assert await titles(nat, "報") == ["報價 2027"] and await titles(nat, "#報價") == ["報價 2027"]
    assert [d.title for d in await docs.linked(nat, LinkKind.CUSTOMER, acme.id)] == ["報價 2027"]
    for actor in (nat, sue, mia):
        for attempt in (docs.card(actor, mine.document.id), docs.to_send(actor, mine.document.id),
                        docs.copy(actor, mine.document.id), docs.delete(actor, mine.document.id)):
            with pytest.raises(NotFound):
                await attempt
    with pytest.raises(NotFound):
        await docs.delete(nat, team.document.id)  # seen, not theirs
    with pytest.raises(NotFound):
        await docs.card(sue, team.document.id)
    assert await docs.copy(sue, everyone.document.id) == b"%PDF-h"
    with pytest.raises(NotFound):  # a customer out of the filer's scope cannot be linked
        await docs.file(sue, DocumentDraft("x", (), link), _upload(), b"x")
    with pytest.raises(ValidationFailed):
        await docs.file(ned, DocumentDraft("x", tuple(f"t{i}" for i in range(11))), _upload(), b"x")

    # Versions: the same title, folded, by the same person.
    clock.advance(timedelta(minutes=1))
    second = await docs.file(ned, DocumentDraft("報價  2027", ("報價",), None, Visibility.DEPARTMENT),
                             _upload("b.pdf"), b"%PDF-2")
    assert second.document.version == 2 and [v.version for v in second.versions] == [2, 1]
    assert [(d.title, d.version) for d in (await docs.search(nat, "報價"))[0]] == [("報價 2027", 2)]
    await docs.delete(ned, second.document.id)
    assert [(d.version, d.latest) for d in (await docs.search(nat, "報價"))[0]] == [(1, True)]
    assert [d.id for d in await docs.trash(ned)] == [second.document.id] and await docs.trash(nat) == []
    with pytest.raises(NotFound):
        await docs.restore(nat, second.document.id)
    restored = await docs.restore(ned, second.document.id)
    assert restored.document.latest and [(d.version) for d in (await docs.search(nat, "報價"))[0]] == [2]
    third = await docs.file(ned, DocumentDraft("報價 2027"), _upload("c.pdf"), b"%PDF-3")
    assert third.document.version == 3

    audit = await _rows(engine, t.audit_log, entity="document")
    assert sorted(r.action for r in audit) == ["create"] * 5 + ["delete", "restore"]  # before the opportunity

    # An opportunity, read through the sales module's service: the reader's scope decides.
    docs.link_names = org.services.office.documents.link_names
    deal = await org.services.sales.opportunities.create(ned, OpportunityFields(
        customer_id=acme.id, title="Fab 18 chillers", amount=Decimal(1000), currency="TWD"))
    on_deal = await docs.file(ned, DocumentDraft("Chiller spec", (), Link(LinkKind.OPPORTUNITY, deal.id, "?")),
                              _upload("spec.pdf"), b"%PDF-s")
    assert on_deal.document.link == Link(LinkKind.OPPORTUNITY, deal.id, "Fab 18 chillers")
    assert [d.title for d in await docs.linked(ned, LinkKind.OPPORTUNITY, deal.id)] == ["Chiller spec"]
    assert [d.title for d in (await docs.search(ned, "chillers"))[0]] == ["Chiller spec"]
    with pytest.raises(NotFound):
        await docs.check_link(sue, LinkKind.OPPORTUNITY, deal.id)
    # "@T2026-0001" and "@<project name>" on the filing line: the one the reader may see.
    docs.link_finders = org.services.office.documents.link_finders
    ticket = (await org.services.service.tickets.open(ned, acme.id, "Chiller leaks")).card.ticket
    assert await docs.find_link(ned, ticket.number.lower()) == Link(LinkKind.TICKET, ticket.id,
                                                                   f"{ticket.number} Chiller leaks")
    assert await docs.find_link(sue, ticket.number) is None
    project = await org.services.expenses.projects.create(ned, "Fab 18 install")
    assert await docs.find_link(ned, "fab 18 INSTALL") == Link(LinkKind.PROJECT, project.project.id,
                                                                "Fab 18 install")
    assert await docs.find_link(ned, "Fab") is None  # a part of a name is not a link

    reviewer = await org.join(org.admin, 4105, "Rae", "reviewer", org.south)
    no_office = Actor(**{**reviewer.__dict__, "permissions": reviewer.permissions - {"office.use"}})
    with pytest.raises(PermissionDenied):
        await docs.search(no_office, "")


async def test_event_reminders_follow_the_answers_and_the_feed_token_is_a_hash(engine: AsyncEngine,
                                                                               clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, NED, "Ned", "rep", org.north)
    sue = await org.join(org.admin, SUE, "Sue", "rep", org.south)
    nat = await org.join(org.admin, NAT, "Nat", "rep", org.north)
    schedule = org.services.office.schedule
    starts = datetime(2026, 11, 27, 15, 0, tzinfo=TAIPEI)
    event = await schedule.plan(sue, EventDraft(EventKind.MEETING, "Budget", starts, starts + timedelta(hours=1),
                                                (Attendee(ned.staff_id, "Ned"),)))

    async def reminders() -> dict[int, tuple[datetime, str]]:
        found = {}
        for row in await _rows(engine, t.office_event_reminders, event_id=event.id):
            (followup,) = await _rows(engine, t.followups, id=row.followup_id)
            found[row.staff_id] = (followup.due_at, followup.status)
        return found

    assert await reminders() == {sue.staff_id: (starts - timedelta(minutes=15), "open")}
    with pytest.raises(NotFound):
        await schedule.answer(nat, event.id, True)  # not invited
    with pytest.raises(NotFound):
        await schedule.answer(sue, event.id, True)  # the owner is no attendee of her own event
    await schedule.answer(ned, event.id, True)
    assert (await reminders())[ned.staff_id][1] == "open"
    declined = await schedule.answer(ned, event.id, False)
    assert [a.answer.value for a in declined.attendees] == ["declined"]
    assert (await reminders())[ned.staff_id][1] == FollowUpStatus.CANCELLED.value
    days = await schedule.days(ned, starts.date(), 1)
    assert days[0][1] == []  # declined: not on his day, and the reminder row is no item of its own
    await schedule.answer(ned, event.id, True)
    assert [i.title for i in (await schedule.days(ned, starts.date(), 1))[0][1]] == ["Budget"]
    with pytest.raises(NotFound):
        await schedule.cancel(ned, event.id)
    await schedule.cancel(sue, event.id)
    assert {status for _, status in (await reminders()).values()} == {"cancelled"}
    await schedule.restore(sue, event.id)
    assert {status for _, status in (await reminders()).values()} == {"open"}

    calendar = org.services.office.calendar
    token = await calendar.new_token(ned)
    (row,) = await _rows(engine, t.office_calendar_feeds, staff_id=ned.staff_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert "SUMMARY:Budget" in (await calendar.feed(token) or "")
    assert await calendar.feed(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert await calendar.feed("../../etc") is None
    await calendar.new_token(ned)
    assert await calendar.feed(token) is None


async def test_an_edited_event_moves_its_reminder_rows_and_only_its_owner_edits(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, NED, "Ned", "rep", org.north)
    sue = await org.join(org.admin, SUE, "Sue", "rep", org.south)
    nat = await org.join(org.admin, NAT, "Nat", "rep", org.north)
    schedule = org.services.office.schedule
    starts = datetime(2026, 11, 27, 15, 0, tzinfo=TAIPEI)
    event = await schedule.plan(sue, EventDraft(EventKind.MEETING, "Budget", starts, starts + timedelta(hours=1),
                                                (Attendee(ned.staff_id, "Ned"),)))
    await schedule.answer(ned, event.id, True)
    rows = {r.staff_id: r.followup_id for r in await _rows(engine, t.office_event_reminders, event_id=event.id)}

    for someone in (ned, nat):  # an attendee and a stranger
        with pytest.raises(NotFound):
            await schedule.edit(someone, event.id, title="Mine now")
        with pytest.raises(NotFound):
            await schedule.editable(someone, event.id)
    with pytest.raises(ValidationFailed):
        await schedule.edit(sue, event.id, starts_at=starts, ends_at=starts - timedelta(minutes=1))
    with pytest.raises(ValidationFailed):
        await schedule.edit(sue, event.id, title="  ")

    later = starts + timedelta(days=1, hours=2)
    change = await schedule.edit(sue, event.id, title="Budget final", starts_at=later,
                                 ends_at=later + timedelta(hours=2))
    assert (change.before.title, change.after.title, change.after.starts_at) == ("Budget", "Budget final", later)
    assert change.added == change.removed == () and [a.staff_id for a in change.kept] == [ned.staff_id]
    moved = {r.staff_id: r.followup_id for r in await _rows(engine, t.office_event_reminders, event_id=event.id)}
    assert moved == rows  # the same rows ...
    for followup_id in moved.values():
        (followup,) = await _rows(engine, t.followups, id=followup_id)
        assert (followup.due_at, followup.text, followup.status, followup.remind_state) == (
            later - timedelta(minutes=15), "🗓 Budget final", "open", "pending")  # ... moved

    change = await schedule.edit(sue, event.id, attendees=[Attendee(nat.staff_id, "Nat")])
    assert [a.staff_id for a in change.added] == [nat.staff_id]
    assert [a.staff_id for a in change.removed] == [ned.staff_id]
    (ned_reminder,) = await _rows(engine, t.followups, id=rows[ned.staff_id])
    assert ned_reminder.status == "cancelled"
    assert [r.staff_id for r in await _rows(engine, t.office_event_reminders, event_id=event.id)] == [sue.staff_id]
    with pytest.raises(NotFound):
        await schedule.event(ned, event.id)  # off it: nothing of it is his any more
    assert [a.answer.value for a in (await schedule.event(nat, event.id)).attendees] == ["invited"]

    audit = await _rows(engine, t.audit_log, entity="event", action="update")
    assert [sorted(r.after) for r in audit] == [["ends_at", "starts_at", "title"], ["attendees"]]
    assert (audit[1].before["attendees"], audit[1].after["attendees"]) == ([ned.staff_id], [nat.staff_id])
