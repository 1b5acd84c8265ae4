"""Getting announcements to their recipients: releasing scheduled ones, claiming messages to send or edit, what
became of each, and the one nudge to those who have not read.

Every recipient has a row (``announcement_recipients``), the queue itself, claimed the way follow-up reminders
are (crm/followups/reminders.py): a worker takes due rows in one atomic statement with a lease, marks the ones
it is about to send as ``sending`` in one statement, pushes them, and records what became of them. So:
- a crash before the request went out leaves rows ``claimed``: the lease runs out and they are sent then;
- a crash with requests out leaves rows ``sending``: Telegram may have them, so they are never sent again —
  counted as delivered, without a message to edit later (``uncertain``); the reader still finds it in /board;
- a row with a message id is an edit (the text changed, or it was withdrawn or restored): edits are safe to
  repeat, so a crash just repeats them.
These methods act for the system (the scheduler), not for a user: there is no Actor to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.announcements.announcements import release
from crm.announcements.model import DueMessage, NudgeDue
from crm.announcements.ports import AnnouncementsUnitOfWork, Outcome
from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit

LEASE = timedelta(minutes=5)
WORK_STARTS, WORK_ENDS = time(9, 0), time(18, 0)  # a nudge is a colleague's question: office hours, Mon–Fri
NUDGE_BATCH = 500
# Where the running bot keeps the callable that starts a delivery round now (a handler calls it after publishing).
KICK_KEY = "announcements_kick"


def working_hour(local: datetime) -> bool:
    return local.weekday() < 5 and WORK_STARTS <= local.time() < WORK_ENDS


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


@dataclass(frozen=True)
class Claim:
    worker: str
    lease_until: datetime
    messages: tuple[DueMessage, ...]


class DeliveryService:
    def __init__(self, uow: UnitOfWorkFactory[AnnouncementsUnitOfWork], clock: Clock, *,
                 nudge_after: timedelta = timedelta(hours=24), default_timezone: str = "UTC",
                 lease: timedelta = LEASE) -> None:
        self._uow = uow
        self._clock = clock
        self.nudge_after = nudge_after
        self.default_timezone = default_timezone
        self.lease = lease

    @property
    def clock(self) -> Clock:
        return self._clock

    async def release_due(self, limit: int = 50) -> int:
        """Scheduled announcements whose time has come (also long ago, while the bot was down): list their
        recipients. Each in its own transaction, once whatever the number of workers."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            due = await uow.announcements.announcements.scheduled_due(now, limit)
        released = 0
        for announcement_id in due:
            async with self._uow() as uow:
                announcement = await uow.announcements.announcements.get(announcement_id)
                if announcement is None or announcement.published_at is not None:
                    continue
                count = await release(uow, announcement, now)
                if count is not None:
                    await audit.record(uow, None, "announcement.release", "announcement", announcement_id,
                                       after={"recipients": count})
                    released += 1
                await uow.commit()
        return released

    async def claim(self, worker: str, limit: int) -> Claim:
        now = self._clock.now()
        lease_until = now + self.lease
        async with self._uow() as uow:
            await uow.announcements.deliveries.abandon_stale(now)
            messages = await uow.announcements.deliveries.claim(worker, now, lease_until, limit)
            await uow.commit()
        return Claim(worker, lease_until, tuple(messages))

    async def sending(self, worker: str, recipient_ids: Sequence[int]) -> set[int]:
        async with self._uow() as uow:
            held = await uow.announcements.deliveries.sending(worker, recipient_ids)
            await uow.commit()
        return set(held)

    async def finish(self, worker: str, outcomes: Sequence[Outcome]) -> int:
        if not outcomes:
            return 0
        async with self._uow() as uow:
            done = await uow.announcements.deliveries.finish(worker, outcomes, self._clock.now())
            await uow.commit()
        return done

    async def release(self, worker: str, recipient_ids: Sequence[int]) -> None:
        if not recipient_ids:
            return
        async with self._uow() as uow:
            await uow.announcements.deliveries.release(worker, recipient_ids)
            await uow.commit()

    async def nudges_due(self) -> list[NudgeDue]:
        """Recipients who have not read a live announcement delivered at least ``nudge_after`` ago and were not
        nudged yet, now at a working hour where they are; each is taken once (a second caller gets nothing)."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            candidates = await uow.announcements.deliveries.nudge_candidates(now - self.nudge_after, NUDGE_BATCH)
        due = [c for c in candidates
               if working_hour(now.astimezone(_zone(c.recipient.timezone, self.default_timezone)))]
        if not due:
            return []
        async with self._uow() as uow:
            won = set(await uow.announcements.deliveries.claim_nudges([c.recipient.id for c in due], now))
            await uow.commit()
        return [c for c in due if c.recipient.id in won]


__all__ = ["KICK_KEY", "LEASE", "Claim", "DeliveryService", "working_hour"]
