"""The agenda: what one day holds and what is overdue as of now; each user's morning agenda time ("08:30" by
default, another time of day, or off); and a manager's view of their team's day."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.model import FollowUp
from crm.followups.ports import FollowUpsUnitOfWork
from crm.followups.reminders import DEFAULT_AGENDA_TIME, agenda_clock_time, zone_or
from crm.organisation import audit
from crm.organisation.permissions import Actor

OFF = "off"
MAX_TEAM = 100  # people in one team view; a scope wider than that is an admin's, who has /customers and reports
_OFF_WORDS = frozenset({"off", "none", "no", "stop", "關", "关", "關閉", "关闭", "不要", "取消"})
_TIME = re.compile(r"^(?P<h>[0-9]{1,2})(?:[:：.h](?P<m>[0-9]{2}))?$")


def parse_agenda_time(text: str) -> str:
    """"8:30", "08:30", "8", "21.15" → "HH:MM"; "off" / "關閉" / "关闭" → "off"."""
    value = unicodedata.normalize("NFKC", " ".join(text.split())).lower()
    if value in _OFF_WORDS:
        return OFF
    match = _TIME.match(value)
    if match is not None:
        hours, minutes = int(match["h"]), int(match["m"] or 0)
        if hours < 24 and minutes < 60:
            return f"{hours:02d}:{minutes:02d}"
    raise ValidationFailed("followups.agenda_time_invalid", value=text[:40])


@dataclass(frozen=True)
class Agenda:
    day: date
    overdue: tuple[FollowUp, ...]
    """Open and due before now: on today's agenda everything overdue, on another day only that day's."""
    due: tuple[FollowUp, ...]
    """Due on ``day``, not yet overdue."""


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def split_agenda(items: Iterable[FollowUp], day: date, zone: ZoneInfo, now: datetime) -> Agenda:
    """Overdue means due before *now*, never "before the day asked for": a follow-up due tomorrow is not overdue
    on next week's agenda. Today's agenda carries everything overdue (that is what needs doing); any other day
    shows only its own items, those already past marked overdue."""
    start, end = day_bounds(day, zone)
    today = now.astimezone(zone).date()
    overdue: list[FollowUp] = []
    due: list[FollowUp] = []
    for f in sorted(items, key=lambda f: (f.due_at, f.id)):
        on_day = start <= f.due_at < end
        if f.due_at < now and (on_day or day == today):
            overdue.append(f)
        elif on_day:
            due.append(f)
    return Agenda(day, tuple(overdue), tuple(due))


@dataclass(frozen=True)
class RepLoad:
    """One team member's day, as counts: what is due today (not yet past) and what is overdue."""

    staff_id: int
    name: str
    due_today: int
    overdue: int


@dataclass(frozen=True)
class RepAgenda:
    staff_id: int
    name: str
    agenda: Agenda


def shown_agenda_time(stored: str | None) -> str:
    at = agenda_clock_time(stored)
    return OFF if at is None else at.strftime("%H:%M")


class AgendaService:
    def __init__(self, uow: UnitOfWorkFactory[FollowUpsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # A personal preference about one's own messages, like the time zone: no operation permission applies.
    async def get_time(self, actor: Actor) -> str:
        """"HH:MM" or "off"."""
        async with self._uow(write=False) as uow:
            return shown_agenda_time(await uow.followups.reminders.agenda_time(actor.staff_id))

    async def set_time(self, actor: Actor, text: str) -> str:
        value = parse_agenda_time(text)
        stored = None if value == DEFAULT_AGENDA_TIME.strftime("%H:%M") else value
        async with self._uow() as uow:
            before = await uow.followups.reminders.agenda_time(actor.staff_id)
            await uow.followups.reminders.set_agenda_time(actor.staff_id, stored)
            await audit.record(uow, actor.staff_id, "update", "staff", actor.staff_id,
                               {"agenda_time": before}, {"agenda_time": stored})
            await uow.commit()
        return value


    # ---- a manager's team -----------------------------------------------------------------------------------

    def _today(self, actor: Actor) -> tuple[ZoneInfo, datetime, date]:
        zone = zone_or(actor.timezone, "UTC")
        now = self._clock.now()
        return zone, now, now.astimezone(zone).date()

    async def team(self, actor: Actor) -> tuple[RepLoad, ...]:
        """Everyone whose follow-ups the actor may see (their follow-ups query scope), with today's counts in the
        actor's day. Someone with scope "own" sees only themselves."""
        zone, now, today = self._today(actor)
        _, end = day_bounds(today, zone)
        loads: list[RepLoad] = []
        async with self._uow(write=False) as uow:
            people = await uow.organisation.staff.list(actor.scope_filter("followups"), limit=MAX_TEAM)
            for person in people:
                items = await uow.customers.followups.for_owner_between(person.id, None, end)
                day = split_agenda(items, today, zone, now)
                loads.append(RepLoad(person.id, person.name, len(day.due), len(day.overdue)))
        return tuple(loads)

    async def rep(self, actor: Actor, staff_id: int) -> RepAgenda:
        """One team member's due and overdue follow-ups today; NotFound outside the actor's follow-ups scope (as
        for someone who does not exist: a forged button learns nothing)."""
        zone, now, today = self._today(actor)
        _, end = day_bounds(today, zone)
        async with self._uow(write=False) as uow:
            person = await uow.organisation.staff.get(staff_id)
            if (person is None or person.deleted_at is not None
                    or not actor.scope_filter("followups").allows(person.id, person.department_id)):
                raise NotFound()
            items = await uow.customers.followups.for_owner_between(person.id, None, end)
        return RepAgenda(person.id, person.name, split_agenda(items, today, zone, now))


__all__ = ["MAX_TEAM", "OFF", "Agenda", "AgendaService", "RepAgenda", "RepLoad", "day_bounds", "parse_agenda_time",
           "shown_agenda_time", "split_agenda"]
