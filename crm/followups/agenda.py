"""Each user's morning agenda time: "08:30" (the default), another time of day, or off."""

from __future__ import annotations

import re
import unicodedata

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.followups.reminders import DEFAULT_AGENDA_TIME, agenda_clock_time
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.unit_of_work import UnitOfWorkFactory

OFF = "off"
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


def shown_agenda_time(stored: str | None) -> str:
    at = agenda_clock_time(stored)
    return OFF if at is None else at.strftime("%H:%M")


class AgendaService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
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


__all__ = ["OFF", "AgendaService", "parse_agenda_time", "shown_agenda_time"]
