"""Reminder delivery: which due follow-ups a worker takes, and what becomes of each after the push.

The follow-up row is the source of truth. A worker *claims* due rows (``pending`` → ``claimed`` with its id and a
lease) in one atomic statement, pushes each one, then marks it ``sent`` only if it still holds the claim. A
worker that dies after claiming leaves rows whose lease expires; any worker claims them again. Several bot
processes on one PostgreSQL never push the same reminder twice because claims are exclusive and the lease is
far longer than a batch takes to send.

What a failed push means (see docs/followups.md):
- the owner blocked the bot or the chat is gone → ``failed``: not retried; the follow-up stays open and shows
  in /today and the morning agenda;
- flood control or a network error → the claim is kept and its lease moved forward (retried with back-off);
- the owner is deactivated, or the customer/lead is in the trash → *parked*: the claim is kept and re-checked
  every hour, so a handover, reactivation or restore brings the reminder back without anyone re-arming it.

These methods act for the system (the scheduler), not for a user: there is no Actor to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.clock import Clock
from crm.core.extension import ExtensionPoint
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.model import FollowUp
from crm.followups.ports import FollowUpsUnitOfWork

LEASE = timedelta(minutes=5)
LATE_AFTER = timedelta(minutes=2)
PARK = timedelta(hours=1)
DEFAULT_AGENDA_TIME = time(8, 30)
# A daily push (the morning agenda, the no-contact nudge) belongs to its time of day: one whose slot passed longer
# ago than this (the bot was down, or just deployed) is skipped and goes out at the next day's slot instead —
# "good morning" at 23:12 is noise. Reminders the user asked for are not daily pushes: they still fire late.
MISSED_SLOT = timedelta(hours=3)


@dataclass(frozen=True)
class ReminderNote:
    """What a module that plans its own reminders as follow-up rows (a contract's renewal) says in the push instead
    of the follow-up's text: a message key with its parameters, and buttons (a label key, callback data) shown
    above the follow-up's own."""

    text_key: str
    late_key: str  # the same, when the push is late (the bot was down at its time)
    params: Mapping[str, str]
    buttons: tuple[tuple[str, str], ...] = ()


class ReminderNotes(Protocol):
    """The ``ReminderService.notes`` extension point: notes for those of the claimed follow-ups that belong to the
    contributing module, read in the claim's unit of work."""

    async def for_followups(self, uow: Any, followup_ids: Sequence[int]) -> Mapping[int, ReminderNote]: ...


@dataclass(frozen=True)
class DueReminder:
    followup: FollowUp
    chat_id: int | None
    locale: str
    timezone: str
    target_name: str
    late: bool
    """Due more than LATE_AFTER before it was claimed (the bot was down, or busy)."""
    deliverable: bool
    """False when the owner is inactive or has no Telegram account, or the customer/lead is in the trash."""
    note: ReminderNote | None = None


@dataclass(frozen=True)
class Claim:
    worker: str
    lease_until: datetime
    reminders: tuple[DueReminder, ...]


@dataclass(frozen=True)
class AgendaDue:
    """One staff member whose morning agenda for ``day`` (their local date) is due and not yet sent."""

    staff_id: int
    day: date
    previous: date | None


def zone_or(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def slot_due(local: datetime, at: time, missed_after: timedelta = MISSED_SLOT) -> bool:
    """Whether a daily push at ``at`` (local time of day) goes out at ``local``: its slot today has come and passed
    less than ``missed_after`` ago. Past that it waits for tomorrow's slot."""
    slot = datetime.combine(local.date(), at, local.tzinfo)
    return slot <= local < slot + missed_after


def agenda_clock_time(value: str | None) -> time | None:
    """The stored agenda time as a time of day; None when it is off. A bad stored value means the default."""
    if value == "off":
        return None
    if value:
        hours, _, minutes = value.partition(":")
        if hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
    return DEFAULT_AGENDA_TIME


class ReminderService:
    def __init__(self, uow: UnitOfWorkFactory[FollowUpsUnitOfWork], clock: Clock, *, default_locale: str = "en",
                 default_timezone: str = "UTC", lease: timedelta = LEASE, late_after: timedelta = LATE_AFTER,
                 park: timedelta = PARK) -> None:
        self._uow = uow
        self._clock = clock
        self.default_locale = default_locale
        self.default_timezone = default_timezone
        self.lease = lease
        self.late_after = late_after
        self.park_for = park
        self.notes: ExtensionPoint[ReminderNotes] = ExtensionPoint()

    @property
    def clock(self) -> Clock:
        return self._clock

    async def claim(self, worker: str, limit: int) -> Claim:
        """Take up to ``limit`` due reminders for ``worker``, oldest first, with where and how to push them."""
        now = self._clock.now()
        lease_until = now + self.lease
        async with self._uow() as uow:
            claimed = await uow.customers.followups.claim_due(now, worker, lease_until, limit)
            info = await uow.followups.reminders.delivery_info([f.id for f in claimed])
            notes: dict[int, ReminderNote] = {}
            if claimed:
                for source in self.notes:
                    notes.update(await source.for_followups(uow, [f.id for f in claimed]))
            await uow.commit()
        reminders: list[DueReminder] = []
        for followup in claimed:
            found = info.get(followup.id)
            if found is None:  # the row vanished between the two statements; nothing to push
                continue
            reminders.append(DueReminder(
                followup=followup, chat_id=found.telegram_user_id, locale=found.locale or self.default_locale,
                timezone=found.timezone or self.default_timezone, target_name=found.target_name,
                late=followup.due_at < now - self.late_after,
                deliverable=found.owner_active and not found.target_hidden and found.telegram_user_id is not None,
                note=notes.get(followup.id),
            ))
        return Claim(worker, lease_until, tuple(reminders))

    async def sent(self, worker: str, reminder: DueReminder) -> bool:
        """Record the push; False when the claim was lost (the lease expired and another worker took it)."""
        async with self._uow() as uow:
            done = await uow.customers.followups.mark_reminded(reminder.followup.id, worker, self._clock.now(),
                                                               reminder.late)
            await uow.commit()
        return done

    async def failed(self, worker: str, followup_id: int) -> bool:
        async with self._uow() as uow:
            done = await uow.followups.reminders.mark_failed(followup_id, worker, self._clock.now())
            await uow.commit()
        return done

    async def retry_later(self, worker: str, followup_id: int, delay: timedelta) -> bool:
        async with self._uow() as uow:
            done = await uow.followups.reminders.defer(followup_id, worker, self._clock.now() + delay)
            await uow.commit()
        return done

    async def park(self, worker: str, followup_id: int) -> bool:
        return await self.retry_later(worker, followup_id, self.park_for)

    async def release(self, worker: str, followup_ids: Sequence[int]) -> None:
        async with self._uow() as uow:
            await uow.followups.reminders.release(followup_ids, worker)
            await uow.commit()

    # ---- the morning agenda ------------------------------------------------------------------------------

    async def agendas_due(self) -> list[AgendaDue]:
        """Staff whose local agenda time has passed today, less than MISSED_SLOT ago, and whose agenda for today
        was not sent yet."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            subscribers = await uow.followups.reminders.agenda_subscribers()
        due: list[AgendaDue] = []
        for sub in subscribers:
            at = agenda_clock_time(sub.agenda_time)
            if at is None:
                continue
            local = now.astimezone(zone_or(sub.timezone, self.default_timezone))
            today = local.date()
            if slot_due(local, at) and (sub.agenda_sent_on is None or sub.agenda_sent_on < today):
                due.append(AgendaDue(sub.staff_id, today, sub.agenda_sent_on))
        return due

    async def claim_agenda(self, due: AgendaDue) -> bool:
        """True for exactly one caller per staff member and day, whatever the number of workers."""
        async with self._uow() as uow:
            claimed = await uow.followups.reminders.claim_agenda(due.staff_id, due.day)
            await uow.commit()
        return claimed

    async def unclaim_agenda(self, due: AgendaDue) -> None:
        """The push failed for a reason that may pass (network): let the next tick try again."""
        async with self._uow() as uow:
            await uow.followups.reminders.unclaim_agenda(due.staff_id, due.day, due.previous)
            await uow.commit()


__all__ = ["MISSED_SLOT", "AgendaDue", "Claim", "DueReminder", "ReminderNote", "ReminderNotes", "ReminderService",
           "agenda_clock_time", "slot_due", "zone_or"]
