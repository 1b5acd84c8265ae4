"""Each person's calendar feed: an .ics address with a long random token that phone calendars subscribe to.

Only the token's SHA-256 is stored, so a copy of the database opens nobody's calendar; the address is shown once,
when it is made, and ``/calendar reset`` makes a new one (the old stops answering). The feed carries the person's
own events, the events they accepted and their open follow-ups, in their time zone — nothing of anyone else's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.office.ics import calendar
from crm.office.ports import OfficeUnitOfWork
from crm.office.schedule import OPERATION, ScheduleService, zone_of
from crm.organisation import audit
from crm.organisation.permissions import Actor

ENTITY = "calendar_feed"
TOKEN_BYTES = 32  # 43 URL-safe characters
PAST = timedelta(days=31)
AHEAD = timedelta(days=366)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str) -> bool:
    return 20 <= len(token) <= 100 and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in token)


class CalendarService:
    def __init__(self, uow: UnitOfWorkFactory[OfficeUnitOfWork], clock: Clock, schedule: ScheduleService, *,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._schedule = schedule
        self.default_timezone = default_timezone

    async def has_feed(self, actor: Actor) -> bool:
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            return await uow.office.calendars.has_token(actor.staff_id)

    async def new_token(self, actor: Actor) -> str:
        """A new feed token for the actor (the previous one stops working); the token itself is not kept."""
        actor.require(OPERATION)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self._uow() as uow:
            had = await uow.office.calendars.has_token(actor.staff_id)
            await uow.office.calendars.set_token(actor.staff_id, token_hash(token), self._clock.now())
            await audit.record(uow, actor.staff_id, "reset" if had else "create", ENTITY, actor.staff_id,
                               {"feed": had}, {"feed": True, "replaced": had})
            await uow.commit()
        return token

    async def feed(self, token: str) -> str | None:
        """The feed for this token, or None when no live person holds it."""
        if not plausible(token):
            return None
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            staff_id = await uow.office.calendars.owner_of(token_hash(token))
            if staff_id is None:
                return None
            person = await uow.organisation.staff.get(staff_id)
            if person is None or not person.active or person.deleted_at is not None:
                return None
            items = await self._schedule.items(uow, person.id, now - PAST, now + AHEAD)
        zone = zone_of(person.timezone, self.default_timezone)
        return calendar(person.name, zone, items, now=now, start=now - PAST, end=now + AHEAD)
