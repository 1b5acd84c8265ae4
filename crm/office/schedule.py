"""The personal schedule: events (meeting, visit, call, leave, other) typed in one line in any of the three
languages, colleagues invited to them (they accept or decline with a button), and the day or week that shows
events and open follow-ups together. The same items make the person's calendar feed (crm/office/calendar.py).

Who sees what: ``office.use``; an event is its owner's, and an invited colleague's once they accept. Nobody
reads or answers for an event they are not on: "not found", also for a forged press.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.natural_dates import parse_when_prefix
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.model import FollowUp, FollowUpStatus
from crm.office.model import TITLE_LIMIT, Answer, Attendee, Event, EventDraft, EventKind, ScheduleItem
from crm.office.ports import OfficeUnitOfWork, WeekChart
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor

ENTITY = "event"
OPERATION = "office.use"
DEFAULT_LENGTH = timedelta(hours=1)
REMIND_BEFORE = timedelta(minutes=15)
MAX_ATTENDEES = 10

# The first word may say what kind of event it is, in any of the three languages.
KIND_WORDS: dict[str, EventKind] = {
    "meeting": EventKind.MEETING, "meet": EventKind.MEETING, "會議": EventKind.MEETING, "会议": EventKind.MEETING,
    "開會": EventKind.MEETING, "开会": EventKind.MEETING,
    "visit": EventKind.VISIT, "拜訪": EventKind.VISIT, "拜访": EventKind.VISIT,
    "call": EventKind.CALL, "電話": EventKind.CALL, "电话": EventKind.CALL,
    "leave": EventKind.LEAVE, "休假": EventKind.LEAVE, "請假": EventKind.LEAVE, "请假": EventKind.LEAVE,
    "other": EventKind.OTHER, "其他": EventKind.OTHER,
}
_MENTION = re.compile(r"(?:^|\s)@(\S+)")


def zone_of(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class EventLine:
    """What one typed line says: the kind, when, the title and the colleagues named with @."""

    kind: EventKind
    starts_at: datetime
    ends_at: datetime
    title: str
    names: tuple[str, ...]
    when_text: str


def parse_event_line(text: str, now: datetime) -> EventLine:
    """"meeting tomorrow 3pm budget review @Ned", "明天下午3點 拜訪 台積電", "请假 下周一" — ``now`` in the
    person's zone. A leave without a time of day is the whole day; other events last an hour."""
    line = unicodedata.normalize("NFKC", " ".join(text.split()))
    kind = EventKind.OTHER
    kind_given = False
    for word in sorted(KIND_WORDS, key=len, reverse=True):
        if line.lower().startswith(word):
            kind, line, kind_given = KIND_WORDS[word], line[len(word):].strip(), True
            break
    parsed = parse_when_prefix(line, now)
    if parsed is None:
        raise ValidationFailed("office.error_when")
    when, rest = parsed
    if not kind_given:
        for word in sorted(KIND_WORDS, key=len, reverse=True):
            if rest.lower().startswith(word):
                kind, rest, kind_given = KIND_WORDS[word], rest[len(word):].strip(), True
                break
    names = tuple(dict.fromkeys(m.group(1).strip(",，、") for m in _MENTION.finditer(rest)))
    title = " ".join(_MENTION.sub(" ", rest).split()) or (when.text if kind_given else "")
    if not title:
        raise ValidationFailed("office.error_event_title")
    if len(title) > TITLE_LIMIT:
        raise ValidationFailed("error.field_too_long", field="title", limit=TITLE_LIMIT)
    starts = when.at
    if kind is EventKind.LEAVE and not when.has_time:
        starts = datetime.combine(when.at.date(), time(0), when.at.tzinfo)
        ends = datetime.combine(when.at.date() + timedelta(days=1), time(0), when.at.tzinfo)
    else:
        ends = starts + DEFAULT_LENGTH
    return EventLine(kind, starts, ends, title, names, when.text)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bars(days: Sequence[tuple[date, Sequence[ScheduleItem]]], zone: ZoneInfo
              ) -> list[tuple[int, float, float, str, str]]:
    """(day index, start hour, length in hours, title, kind) for each item, cut at midnight: what the week image
    draws. A follow-up is a point in time, drawn half an hour long."""
    bars: list[tuple[int, float, float, str, str]] = []
    for index, (_, items) in enumerate(days):
        for item in items:
            at = item.starts_at.astimezone(zone)
            start = at.hour + at.minute / 60
            length = (item.ends_at - item.starts_at).total_seconds() / 3600 if item.ends_at else 0.5
            bars.append((index, start, max(min(length, 24 - start), 0.25), item.title, item.kind))
    return bars


class ScheduleService:
    def __init__(self, uow: UnitOfWorkFactory[OfficeUnitOfWork], clock: Clock, *,
                 default_timezone: str = "UTC", worker: Worker[UnitOfWorkFactory[Any]] | None = None,
                 chart: WeekChart | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self.default_timezone = default_timezone
        self._worker: Worker[UnitOfWorkFactory[Any]] = worker or InlineWorker(uow)
        self._chart = chart

    def zone(self, actor: Actor) -> ZoneInfo:
        return zone_of(actor.timezone, self.default_timezone)

    def local_now(self, actor: Actor) -> datetime:
        return self._clock.now().astimezone(self.zone(actor))

    def read_line(self, actor: Actor, text: str) -> EventLine:
        actor.require(OPERATION)
        return parse_event_line(text, self.local_now(actor))

    async def colleagues(self, actor: Actor, names: Sequence[str]) -> tuple[tuple[Attendee, ...], tuple[str, ...]]:
        """The active colleagues these names (or usernames) mean, and the names that mean nobody (or several)."""
        actor.require(OPERATION)
        found: list[Attendee] = []
        unknown: list[str] = []
        async with self._uow(write=False) as uow:
            for name in names[:MAX_ATTENDEES + 1]:
                people = [s for s in await uow.organisation.staff.find_by_name(name)
                          if s.active and s.id != actor.staff_id]
                if len(people) == 1:
                    if people[0].id not in {a.staff_id for a in found}:
                        found.append(Attendee(people[0].id, people[0].name))
                else:
                    unknown.append(name)
        if len(found) > MAX_ATTENDEES:
            raise ValidationFailed("office.error_attendees", limit=MAX_ATTENDEES)
        return tuple(found), tuple(unknown)

    async def plan(self, actor: Actor, draft: EventDraft) -> Event:
        actor.require(OPERATION)
        title = " ".join(draft.title.split())
        if not title or len(title) > TITLE_LIMIT or draft.ends_at <= draft.starts_at:
            raise ValidationFailed("office.error_event_title")
        async with self._uow() as uow:
            attendees = []
            for attendee in draft.attendees[:MAX_ATTENDEES]:
                person = await uow.organisation.staff.get(attendee.staff_id)
                if person is None or not person.active or person.deleted_at is not None:
                    raise NotFound()
                attendees.append(Attendee(person.id, person.name))
            event = await uow.office.events.add(actor.staff_id, replace(draft, title=title,
                                                                        attendees=tuple(attendees)),
                                                self._clock.now())
            await self._arm(uow, event, actor.staff_id)
            await audit.record(uow, actor.staff_id, "create", ENTITY, event.id, {}, {
                "kind": event.kind.value, "title": title, "starts_at": event.starts_at, "ends_at": event.ends_at,
                "attendees": [a.staff_id for a in attendees]})
            await uow.commit()
            return replace(event, owner_name=actor.name)

    async def _arm(self, uow: OfficeUnitOfWork, event: Event, staff_id: int) -> None:
        """The person's reminder: a follow-up row due REMIND_BEFORE the start (now, when that has passed), pushed
        by the follow-ups module's durable reminder job. None for an event already begun."""
        now = self._clock.now()
        if event.starts_at <= now:
            return
        await self._disarm(uow, event.id, staff_id)
        added = await uow.customers.followups.add(FollowUp(
            id=0, owner_id=staff_id, text=f"🗓 {event.title}"[:TITLE_LIMIT + 2],
            due_at=max(event.starts_at - REMIND_BEFORE, now), created_at=now))
        await uow.office.events.set_reminder(event.id, staff_id, added.id)

    async def _disarm(self, uow: OfficeUnitOfWork, event_id: int, staff_id: int | None = None) -> None:
        """Cancel the open reminder rows of the event (of one person, when given)."""
        for person, followup_id in (await uow.office.events.reminders(event_id)).items():
            if staff_id is not None and person != staff_id:
                continue
            current = await uow.customers.followups.get(followup_id)
            if current is not None and current.status is FollowUpStatus.OPEN:
                await uow.customers.followups.update(followup_id, status=FollowUpStatus.CANCELLED.value,
                                                     completed_at=self._clock.now())

    async def _on_it(self, uow: OfficeUnitOfWork, actor: Actor, event_id: int) -> Event:
        actor.require(OPERATION)
        event = await uow.office.events.get(int(event_id))
        if event is None or (event.owner_id != actor.staff_id
                             and actor.staff_id not in {a.staff_id for a in event.attendees}):
            raise NotFound()
        owner = await uow.organisation.staff.get(event.owner_id)
        return replace(event, owner_name=owner.name if owner else "?")

    async def event(self, actor: Actor, event_id: int) -> Event:
        async with self._uow(write=False) as uow:
            return await self._on_it(uow, actor, event_id)

    async def answer(self, actor: Actor, event_id: int, accept: bool) -> Event:
        """An invited colleague accepts or declines (again, if they change their mind)."""
        async with self._uow() as uow:
            event = await self._on_it(uow, actor, event_id)
            answer = Answer.ACCEPTED if accept else Answer.DECLINED
            if not await uow.office.events.answer(event.id, actor.staff_id, answer, self._clock.now()):
                raise NotFound()  # the owner is not an attendee of their own event
            before = next(a.answer for a in event.attendees if a.staff_id == actor.staff_id)
            if accept:
                await self._arm(uow, event, actor.staff_id)
            else:
                await self._disarm(uow, event.id, actor.staff_id)
            await audit.record(uow, actor.staff_id, "answer", ENTITY, event.id, {"answer": before.value},
                               {"answer": answer.value})
            answered = await self._on_it(uow, actor, event.id)
            await uow.commit()
            return answered

    async def cancel(self, actor: Actor, event_id: int) -> Event:
        async with self._uow() as uow:
            event = await self._on_it(uow, actor, event_id)
            if event.owner_id != actor.staff_id:
                raise NotFound()
            at = self._clock.now()
            await uow.office.events.set_deleted(event.id, at)
            await self._disarm(uow, event.id)
            await audit.record(uow, actor.staff_id, "delete", ENTITY, event.id, {"deleted_at": None},
                               {"deleted_at": at})
            await uow.commit()
            return event

    async def restore(self, actor: Actor, event_id: int) -> Event:
        async with self._uow() as uow:
            event = await uow.office.events.get(int(event_id), include_deleted=True)
            actor.require(OPERATION)
            if event is None or event.deleted_at is None or event.owner_id != actor.staff_id:
                raise NotFound()
            await uow.office.events.set_deleted(event.id, None)
            await self._arm(uow, event, event.owner_id)
            for attendee in event.attendees:
                if attendee.answer is Answer.ACCEPTED:
                    await self._arm(uow, event, attendee.staff_id)
            await audit.record(uow, actor.staff_id, "restore", ENTITY, event.id,
                               {"deleted_at": event.deleted_at}, {"deleted_at": None})
            restored = await self._on_it(uow, actor, event.id)
            await uow.commit()
            return restored

    async def items(self, uow: OfficeUnitOfWork, staff_id: int, start: datetime, end: datetime
                    ) -> list[ScheduleItem]:
        """One person's events (owned or accepted) and open follow-ups between start and end, by time."""
        found = [ScheduleItem(e.starts_at, e.ends_at, e.title, f"event-{e.id}", e.kind.value, event_id=e.id)
                 for e in await uow.office.events.of_person(staff_id, start, end)]
        followups = await uow.customers.followups.for_owner_between(staff_id, start, end)
        reminders = await uow.office.events.reminded([f.id for f in followups])
        for followup in followups:
            if followup.id in reminders:
                continue  # an event's own reminder: the event is listed already
            found.append(ScheduleItem(followup.due_at, None, followup.text, f"followup-{followup.id}", "followup",
                                      followup_id=followup.id))
        return sorted(found, key=lambda item: (item.starts_at, item.uid))

    async def days(self, actor: Actor, first: date, count: int) -> list[tuple[date, list[ScheduleItem]]]:
        """``count`` days from ``first`` (the actor's days, in their zone), each with its items."""
        actor.require(OPERATION)
        zone = self.zone(actor)
        start = datetime.combine(first, time(0), zone)
        end = datetime.combine(first + timedelta(days=count), time(0), zone)
        async with self._uow(write=False) as uow:
            items = await self.items(uow, actor.staff_id, start, end)
        days: list[tuple[date, list[ScheduleItem]]] = [(first + timedelta(days=i), []) for i in range(count)]
        for item in items:
            index = (item.starts_at.astimezone(zone).date() - first).days
            if 0 <= index < count:
                days[index][1].append(item)
        return days

    async def week_image(self, actor: Actor, first: date, title: str) -> bytes | None:
        """The week from ``first`` as a PNG, read and drawn in the worker (off the event loop); None without a
        chart renderer."""
        actor.require(OPERATION)
        chart = self._chart
        if chart is None:
            return None
        zone = self.zone(actor)
        start = datetime.combine(first, time(0), zone)
        end = datetime.combine(first + timedelta(days=7), time(0), zone)
        staff_id = actor.staff_id

        async def job(factory: UnitOfWorkFactory[Any]) -> bytes:
            async with factory(write=False) as uow:
                items = await self.items(uow, staff_id, start, end)
            days: list[tuple[date, list[ScheduleItem]]] = [(first + timedelta(days=i), []) for i in range(7)]
            for item in items:
                index = (item.starts_at.astimezone(zone).date() - first).days
                if 0 <= index < 7:
                    days[index][1].append(item)
            return chart.render(title, [f"{d:%a %m-%d}" for d, _ in days], week_bars(days, zone))

        return await self._worker.run(job)

    async def invitee(self, staff_id: int) -> Staff | None:
        async with self._uow(write=False) as uow:
            return await uow.organisation.staff.get(staff_id)
