"""What reminder delivery and the morning agenda need from storage, beyond the follow-up rows themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from crm.customers.model import Interaction
from crm.segments.ports import SegmentsUnitOfWork


@dataclass(frozen=True)
class DeliveryInfo:
    """Where a claimed reminder goes and what it is about, read in one query for a whole batch."""

    followup_id: int
    owner_id: int
    telegram_user_id: int | None
    locale: str | None
    timezone: str | None
    owner_active: bool
    target_name: str
    target_hidden: bool
    """The customer or lead was deleted (in the trash): its follow-ups stop reminding until it is restored."""


@dataclass(frozen=True)
class AgendaSubscriber:
    staff_id: int
    timezone: str | None
    agenda_time: str | None
    """"HH:MM" local, None for the default, "off" for no agenda."""
    agenda_sent_on: date | None


class ReminderRepository(Protocol):
    async def delivery_info(self, followup_ids: Sequence[int]) -> Mapping[int, DeliveryInfo]: ...

    async def defer(self, followup_id: int, worker: str, until: datetime) -> bool:
        """Keep the claim but move its lease to ``until``: the reminder is tried again after that."""
        ...

    async def release(self, followup_ids: Sequence[int], worker: str) -> None:
        """Give claimed reminders back (pending) so any worker can take them at once."""
        ...

    async def mark_failed(self, followup_id: int, worker: str, at: datetime) -> bool:
        """Delivery is impossible (the user blocked the bot): stop trying; the follow-up stays open."""
        ...

    async def agenda_subscribers(self) -> Sequence[AgendaSubscriber]:
        """Active staff with a Telegram account whose agenda is not switched off."""
        ...

    async def claim_agenda(self, staff_id: int, day: date) -> bool:
        """Atomically mark the agenda of ``day`` as sent; False when it already was (another worker)."""
        ...

    async def unclaim_agenda(self, staff_id: int, day: date, previous: date | None) -> None: ...

    async def agenda_time(self, staff_id: int) -> str | None: ...

    async def set_agenda_time(self, staff_id: int, value: str | None) -> None: ...

    async def interaction(self, interaction_id: int) -> Interaction | None: ...

    async def set_interaction_location(self, interaction_id: int, latitude: float, longitude: float) -> None: ...


class FollowUpRepositories(Protocol):
    @property
    def reminders(self) -> ReminderRepository: ...


class FollowUpsUnitOfWork(SegmentsUnitOfWork, Protocol):
    @property
    def followups(self) -> FollowUpRepositories: ...
