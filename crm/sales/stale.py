"""Stale opportunities: an open opportunity nobody changed for N days (``STALE_OPPORTUNITY_DAYS``) nudges its
owner, at most once a day and only in working hours (08:00–20:00 in the owner's zone): a pipeline left alone
goes cold, but a nudge at night is noise.

A marker row ``stale_opp:<staff id>:<local date>`` in ``app_kv`` is taken before sending (as for the no-contact
nudges, crm/followups/nudges.py): whoever inserts it sends, so two processes or a restart never repeat a day's
nudge. At most once: a crash between the marker and the send loses that day's nudge rather than repeating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation.daily import claim_day
from crm.organisation.permissions import Actor
from crm.sales.opportunities import open_ids, stages_of
from crm.sales.opportunity_model import StaleOpportunities
from crm.sales.ports import SalesUnitOfWork

CLAIM_PREFIX = "stale_opp:"
WORKING_HOURS = (time(8, 0), time(20, 0))
SHOWN = 10
KEEP_MARKERS_DAYS = 7

__all__ = ["DueStale", "StaleService", "working_hours"]


def working_hours(local: datetime) -> bool:
    start, end = WORKING_HOURS
    return start <= local.time() < end


@dataclass(frozen=True)
class DueStale:
    staff_id: int
    day: date

    @property
    def marker(self) -> str:
        return f"{CLAIM_PREFIX}{self.staff_id}:{self.day.isoformat()}"


class StaleService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, *, days: int = 14,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self.days = days  # 0: no stale nudges
        self._default_zone = default_timezone

    def _zone(self, name: str | None) -> ZoneInfo:
        try:
            return ZoneInfo(name or self._default_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self._default_zone)

    def _cutoff(self) -> datetime:
        return self._clock.now() - timedelta(days=self.days)

    async def due(self) -> list[DueStale]:
        """Active owners reachable on Telegram with stale opportunities, in their working hours, not nudged
        today. For the scheduler: no actor, it only names who to look at."""
        if self.days <= 0:
            return []
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            stage_ids = open_ids(await stages_of(uow))
            if not stage_ids:
                return []
            candidates: list[DueStale] = []
            for staff_id in await uow.sales.opportunities.owners_of_stale(stage_ids, self._cutoff()):
                person = await uow.organisation.staff.get(staff_id)
                if person is None or not person.active or person.telegram_user_id is None:
                    continue
                local = now.astimezone(self._zone(person.timezone))
                if working_hours(local):
                    candidates.append(DueStale(person.id, local.date()))
            done = await uow.kv.existing([d.marker for d in candidates])
        return [d for d in candidates if d.marker not in done]

    async def claim(self, due: DueStale) -> bool:
        """Take today's nudge for one person; False when another process (or an earlier tick) already did."""
        async with self._uow() as uow:
            claimed = await claim_day(uow, due.marker, due.day, prefix=CLAIM_PREFIX, keep_days=KEEP_MARKERS_DAYS)
            await uow.commit()
        return claimed

    async def collect(self, actor: Actor, day: date) -> StaleOpportunities:
        """The actor's own stale opportunities, the longest untouched first."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            stage_ids = open_ids(await stages_of(uow))
            rows, total = await uow.sales.opportunities.stale_of(actor.staff_id, stage_ids, self._cutoff(),
                                                                 limit=SHOWN)
        return StaleOpportunities(day, self.days, tuple(rows), total)

