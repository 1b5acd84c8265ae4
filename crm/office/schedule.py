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
MAX_LENGTH = timedelta(days=31)
# Right after the start: its end ("3pm-5pm", "3pm to 5pm", "下午3點到5點", "3點至5點") ...
_UNTIL = re.compile(r"(?:-|–|—|~|～|to\b|till\b|until\b|到|至)\s*", re.IGNORECASE)
# ... or its length ("2h", "for 90 min", "1.5 hours", "2小時", "2个小时", "30分鐘", "半小時").
_LENGTH = re.compile(
    r"(?:for\s+)?(?:(?P<half>半)(?:個|个)?(?:小時|小时|鐘頭|钟头)"
    r"|(?P<hours>\d+(?:\.\d+)?)\s*(?:h|hrs?|hours?|(?:個|个)?(?:小時|小时|鐘頭|钟头))"
    r"(?:\s*(?P<and_minutes>\d+)\s*(?:m|mins?|minutes?|分鐘|分钟|分))?"
    r"|(?P<minutes>\d+)\s*(?:m|mins?|minutes?|分鐘|分钟))(?=\s|$|[,，、])",
    re.IGNORECASE)


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
    """"meeting tomorrow 3pm-5pm budget review @Ned", "明天下午3點到5點 拜訪 台積電", "call friday 10am 30min",
    "请假 下周一" — ``now`` in the person's zone. The time may be followed by its end or its length; without one a
    leave without a time of day is the whole day, other events last an hour."""
    line = unicodedata.normalize("NFKC", " ".join(text.split()))
    kind = EventKind.OTHER
    kind_given = False
    for word in sorted(KIND_WORDS, key=len, reverse=True):
        if line.lower().startswith(word):
            kind, line, kind_given = KIND_WORDS[word], line[len(word):].strip(), True
            break
    read = read_when(line, now, leave=kind is EventKind.LEAVE)
    if read is None:
        raise ValidationFailed("office.error_when")
    starts, ends, when_text, rest = read
    if not kind_given:
        for word in sorted(KIND_WORDS, key=len, reverse=True):
            if rest.lower().startswith(word):
                kind, rest, kind_given = KIND_WORDS[word], rest[len(word):].strip(), True
                break
        if kind is EventKind.LEAVE:  # "下週一 請假": the kind said after the time still makes a whole day
            read = read_when(line, now, leave=True)
            assert read is not None
            starts, ends, when_text, _ = read
    names = tuple(dict.fromkeys(m.group(1).strip(",，、") for m in _MENTION.finditer(rest)))
    title = " ".join(_MENTION.sub(" ", rest).split()) or (when_text if kind_given else "")
    if not title:
        raise ValidationFailed("office.error_event_title")
    if len(title) > TITLE_LIMIT:
        raise ValidationFailed("error.field_too_long", field="title", limit=TITLE_LIMIT)
    check_span(starts, ends)
    return EventLine(kind, starts, ends, title, names, when_text)


def read_length(text: str) -> tuple[timedelta, str] | None:
    """A length at the start of ``text`` ("2h", "90 min", "2小時", "半小时") and the rest."""
    found = _LENGTH.match(text)
    if found is None:
        return None
    if found.group("half"):
        length = timedelta(minutes=30)
    elif found.group("hours"):
        length = timedelta(hours=float(found.group("hours")), minutes=int(found.group("and_minutes") or 0))
    else:
        length = timedelta(minutes=int(found.group("minutes")))
    return length, text[found.end():].strip()


def read_end(text: str, starts: datetime, has_time: bool, now: datetime) -> tuple[datetime, str, str] | None:
    """What may follow the start: its end or its length. (The end, the words that said it, the rest); None when
    ``text`` says neither. The end is read from ``now`` as the start was, and when that is not after the start,
    as the first such time after the start (so "明天下午3點到5點" ends at 17:00 tomorrow and "9pm-1am" the next
    morning); a day without a time after a day without one ends after that whole day."""
    length = read_length(text)
    if length is not None:
        said = text[:len(text) - len(length[1])].strip()
        return starts + length[0], said, length[1]
    until = _UNTIL.match(text)
    if until is None:
        return None
    parsed = parse_when_prefix(text[until.end():], now)
    if parsed is not None and parsed[0].has_time and parsed[0].at <= starts:
        parsed = parse_when_prefix(text[until.end():], starts)
    if parsed is None:
        return None
    end, rest = parsed
    if end.has_time:
        ends = end.at
    elif not has_time:
        ends = datetime.combine(end.at.date() + timedelta(days=1), time(0), starts.tzinfo)
    else:
        return None
    return ends, text[:len(text) - len(rest)].strip(), rest


def read_when(text: str, now: datetime, *, leave: bool = False) -> tuple[datetime, datetime, str, str] | None:
    """A time with its optional end or length, at the start of ``text``: (start, end, the words, the rest). Without
    an end an event lasts an hour, a leave without a time of day the whole day."""
    parsed = parse_when_prefix(text, now)
    if parsed is None:
        return None
    when, rest = parsed
    starts = when.at
    if not when.has_time and leave:
        starts = datetime.combine(when.at.date(), time(0), when.at.tzinfo)
    end = read_end(rest, starts, when.has_time or not leave, now)
    if end is not None:
        ends, said, rest = end
        return starts, ends, f"{when.text}{'' if said[:1] in '-–—~～到至' else ' '}{said}", rest
    if not when.has_time and leave:
        return starts, datetime.combine(when.at.date() + timedelta(days=1), time(0), when.at.tzinfo), when.text, rest
    return starts, starts + DEFAULT_LENGTH, when.text, rest


def check_span(starts: datetime, ends: datetime) -> None:
    if ends <= starts:
        raise ValidationFailed("office.error_end")
    if ends - starts > MAX_LENGTH:
        raise ValidationFailed("office.error_length", days=MAX_LENGTH.days)


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


@dataclass(frozen=True)
class EventChange:
    """An edited event as it was and as it is, and who was added to it or taken off it."""

    before: Event
    after: Event
    added: tuple[Attendee, ...] = ()
    removed: tuple[Attendee, ...] = ()

    @property
    def kept(self) -> tuple[Attendee, ...]:
        """The attendees who were on it and still are (with their answer)."""
        added = {a.staff_id for a in self.added}
        return tuple(a for a in self.after.attendees if a.staff_id not in added)


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

    def read_time(self, actor: Actor, text: str, event: Event) -> tuple[datetime, datetime]:
        """A new time for the event: a start with its optional end or length ("friday 4pm-5pm", "下週一 下午2點"),
        or only a new end or length from the same start ("to 6pm", "到6點", "2h", "90分鐘"). A start alone keeps
        the event's length, a day alone its hour too (a leave's new day is the whole day)."""
        actor.require(OPERATION)
        now = self.local_now(actor)
        line = unicodedata.normalize("NFKC", " ".join(text.split()))
        starts = event.starts_at.astimezone(self.zone(actor))
        length = read_length(line)
        end = read_end(line, starts, True, now) if length is None else None
        if length is not None and not length[1]:
            found = (starts, starts + length[0])
        elif end is not None and not end[2]:
            found = (starts, end[0])
        else:
            read = read_when(line, now, leave=event.kind is EventKind.LEAVE)
            if read is None or read[3]:
                raise ValidationFailed("office.error_when")
            moved, ends, when_text, _ = read
            plain = parse_when_prefix(line, now)
            kept = event.ends_at - event.starts_at
            if plain is not None and plain[0].text == when_text:  # a start alone: the same length
                if not plain[0].has_time and event.kind is not EventKind.LEAVE:  # a day alone: the same hour too
                    moved = datetime.combine(moved.date(), starts.timetz())
                found = (moved, ends) if event.kind is EventKind.LEAVE and not plain[0].has_time else (
                    moved, moved + kept)
            else:
                found = (moved, ends)
        check_span(*found)
        return found

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
        if not title or len(title) > TITLE_LIMIT:
            raise ValidationFailed("office.error_event_title")
        check_span(draft.starts_at, draft.ends_at)
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

    async def _move(self, uow: OfficeUnitOfWork, event: Event, staff_id: int) -> None:
        """The person's reminder follows the event: its open row gets the new time and title (and is pushed again,
        even if it was already); none open, a new one. An event already begun has none."""
        now = self._clock.now()
        followup_id = (await uow.office.events.reminders(event.id)).get(staff_id)
        current = await uow.customers.followups.get(followup_id) if followup_id is not None else None
        if current is None or current.status is not FollowUpStatus.OPEN:
            await self._arm(uow, event, staff_id)
            return
        if event.starts_at <= now:
            await self._disarm(uow, event.id, staff_id)
            return
        await uow.customers.followups.update(
            current.id, text=f"🗓 {event.title}"[:TITLE_LIMIT + 2], due_at=max(event.starts_at - REMIND_BEFORE, now),
            remind_state="pending", claimed_by=None, claimed_until=None, reminded_at=None, reminded_late=False)

    async def editable(self, actor: Actor, event_id: int) -> Event:
        """The event, when the actor may change it: only its owner, and not once cancelled."""
        async with self._uow(write=False) as uow:
            event = await self._on_it(uow, actor, event_id)
        if event.owner_id != actor.staff_id:
            raise NotFound()
        return event

    async def edit(self, actor: Actor, event_id: int, *, title: str | None = None,
                   starts_at: datetime | None = None, ends_at: datetime | None = None,
                   attendees: Sequence[Attendee] | None = None) -> EventChange:
        """Change an event's time, title or attendees (the whole list: those not in it are taken off, new ones
        invited). Only the owner; the reminder rows follow; audited."""
        async with self._uow() as uow:
            before = await self._on_it(uow, actor, event_id)
            if before.owner_id != actor.staff_id:
                raise NotFound()
            new_title = " ".join((before.title if title is None else title).split())
            if not new_title:
                raise ValidationFailed("office.error_event_title")
            if len(new_title) > TITLE_LIMIT:
                raise ValidationFailed("error.field_too_long", field="title", limit=TITLE_LIMIT)
            starts = before.starts_at if starts_at is None else starts_at
            ends = before.ends_at if ends_at is None else ends_at
            check_span(starts, ends)
            added: list[Attendee] = []
            removed: list[Attendee] = []
            if attendees is not None:
                wanted = list(dict.fromkeys(a.staff_id for a in attendees if a.staff_id != actor.staff_id))
                if len(wanted) > MAX_ATTENDEES:
                    raise ValidationFailed("office.error_attendees", limit=MAX_ATTENDEES)
                had = {a.staff_id: a for a in before.attendees}
                for staff_id in wanted:
                    if staff_id in had:
                        continue
                    person = await uow.organisation.staff.get(staff_id)
                    if person is None or not person.active or person.deleted_at is not None:
                        raise NotFound()
                    added.append(Attendee(person.id, person.name))
                removed = [a for a in before.attendees if a.staff_id not in wanted]
            for attendee in removed:
                await self._disarm(uow, before.id, attendee.staff_id)
            await uow.office.events.uninvite(before.id, [a.staff_id for a in removed])
            await uow.office.events.invite(before.id, [a.staff_id for a in added])
            await uow.office.events.update(before.id, title=new_title, starts_at=starts, ends_at=ends)
            after = await self._on_it(uow, actor, before.id)
            if (starts, ends, new_title) != (before.starts_at, before.ends_at, before.title):
                await self._move(uow, after, after.owner_id)
                for attendee in after.attendees:
                    if attendee.answer is Answer.ACCEPTED:
                        await self._move(uow, after, attendee.staff_id)
            old: dict[str, Any] = {}
            new: dict[str, Any] = {}
            for name, was, now in (("title", before.title, new_title), ("starts_at", before.starts_at, starts),
                                   ("ends_at", before.ends_at, ends)):
                if was != now:
                    old[name], new[name] = was, now
            if added or removed:
                old["attendees"] = [a.staff_id for a in before.attendees]
                new["attendees"] = [a.staff_id for a in after.attendees]
            if new:
                await audit.record(uow, actor.staff_id, "update", ENTITY, before.id, old, new)
            await uow.commit()
            return EventChange(before, after, tuple(added), tuple(removed))

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
