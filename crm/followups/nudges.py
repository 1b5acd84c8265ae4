""""No contact for N days" nudges: once a day each owner hears which of their customers nobody has talked to
for too long. N depends on the classification (potential customers go cold faster than loyal ones) and is set
company-wide by an admin; 0 turns nudges off for that classification.

The day is the owner's local day, the nudge goes out from NUDGE_TIME local, and only until MISSED_SLOT after it:
a bot started later in the day leaves that day's nudge out (tomorrow's comes at NUDGE_TIME). A marker row
``nudge:<staff id>:<local date>`` is inserted before sending; whoever inserts it sends, so two bot processes
never nudge twice, and a restart the same day does not repeat it. At most once: a crash between the marker and
the send loses that day's nudge, which is better than repeating it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.clock import Clock
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.model import Classification, Customer
from crm.followups.ports import FollowUpsUnitOfWork
from crm.followups.reminders import slot_due
from crm.organisation import audit
from crm.organisation.daily import claim_day
from crm.organisation.permissions import Actor, ScopeFilter
from crm.segments.segments import parse_days

NUDGE_TIME = time(9, 0)
CONFIG_KEY = "nudges.days"
CLAIM_PREFIX = "nudge:"
DEFAULT_DAYS: Mapping[Classification, int] = {
    Classification.POTENTIAL: 14, Classification.GENERAL: 30, Classification.LOYAL: 60,
}
MAX_DAYS = 365
SHOWN = 10  # customers listed in one nudge; the rest are counted
KEEP_MARKERS_DAYS = 7
MAX_STAFF = 10_000

__all__ = ["DEFAULT_DAYS", "DueNudge", "Neglected", "Nudge", "NudgeService", "NudgeSettings", "parse_days"]


@dataclass(frozen=True)
class NudgeSettings:
    days: Mapping[Classification, int]

    @property
    def enabled(self) -> bool:
        return any(n > 0 for n in self.days.values())

    def to_json(self) -> str:
        return json.dumps({c.value: self.days.get(c, 0) for c in Classification}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> NudgeSettings:
        days = dict(DEFAULT_DAYS)
        try:
            stored = json.loads(text) if text else {}
        except ValueError:
            stored = {}
        if isinstance(stored, dict):
            for c in Classification:
                value = stored.get(c.value)
                if isinstance(value, int) and 0 <= value <= MAX_DAYS:
                    days[c] = value
        return cls(days)


@dataclass(frozen=True)
class DueNudge:
    staff_id: int
    day: date

    @property
    def marker(self) -> str:
        return f"{CLAIM_PREFIX}{self.staff_id}:{self.day.isoformat()}"


@dataclass(frozen=True)
class Neglected:
    customer: Customer
    days: int  # whole days since the last contact (or since the customer was created)


@dataclass(frozen=True)
class Nudge:
    day: date
    customers: tuple[Neglected, ...]
    total: int
    settings: NudgeSettings


class NudgeService:
    def __init__(self, uow: UnitOfWorkFactory[FollowUpsUnitOfWork], clock: Clock, *,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._default_zone = default_timezone

    async def settings(self, actor: Actor) -> NudgeSettings:
        if not (actor.can("customers.handover") or actor.can("roles.manage")):
            raise PermissionDenied(operation="customers.handover")
        async with self._uow(write=False) as uow:
            return await self._load(uow)

    async def set_days(self, actor: Actor, classification: Classification, days: int) -> NudgeSettings:
        """Company-wide, so only for those who manage roles (admins), not for one department's manager."""
        actor.require("roles.manage")
        if not 0 <= days <= MAX_DAYS:
            raise ValidationFailed("segments.days_invalid", limit=MAX_DAYS)
        async with self._uow() as uow:
            before = await self._load(uow)
            after = NudgeSettings({**before.days, classification: days})
            await uow.kv.put(CONFIG_KEY, after.to_json())
            await audit.record(uow, actor.staff_id, "update", "nudge_settings", None,
                               {classification.value: before.days.get(classification)},
                               {classification.value: days})
            await uow.commit()
        return after

    @staticmethod
    async def _load(uow: FollowUpsUnitOfWork) -> NudgeSettings:
        return NudgeSettings.from_json(await uow.kv.get(CONFIG_KEY))

    def _zone(self, name: str | None) -> ZoneInfo:
        try:
            return ZoneInfo(name or self._default_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self._default_zone)

    async def due(self) -> list[DueNudge]:
        """Active staff reachable on Telegram whose local nudge time passed today (less than MISSED_SLOT ago) and
        who were not nudged today. For the scheduler: no actor, it only names who to look at."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            if not (await self._load(uow)).enabled:
                return []
            everyone = ScopeFilter(everything=True, owner_id=0)
            candidates: list[DueNudge] = []
            for person in await uow.organisation.staff.list(everyone, include_inactive=False, limit=MAX_STAFF):
                if person.telegram_user_id is None:
                    continue
                local = now.astimezone(self._zone(person.timezone))
                if slot_due(local, NUDGE_TIME):
                    candidates.append(DueNudge(person.id, local.date()))
            done = await uow.kv.existing([d.marker for d in candidates])
        return [d for d in candidates if d.marker not in done]

    async def claim(self, due: DueNudge) -> bool:
        """Take today's nudge for one person; False when another process (or an earlier tick) already did."""
        async with self._uow() as uow:
            claimed = await claim_day(uow, due.marker, due.day, prefix=CLAIM_PREFIX, keep_days=KEEP_MARKERS_DAYS)
            await uow.commit()
        return claimed

    async def collect(self, actor: Actor, day: date) -> Nudge:
        """The actor's own customers not contacted for their classification's N days."""
        actor.require("customers.view")
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            settings = await self._load(uow)
            cutoffs = {c.value: now - timedelta(days=n) for c, n in settings.days.items() if n > 0}
            if not cutoffs:
                return Nudge(day, (), 0, settings)
            rows, total = await uow.segments.segments.no_contact(actor.staff_id, cutoffs, limit=SHOWN)
        return Nudge(day, tuple(Neglected(c, _days_since(c, now)) for c in rows), total, settings)


def _days_since(customer: Customer, now: datetime) -> int:
    since = customer.last_contact_at or customer.created_at or now
    return max((now - since).days, 0)
