"""The daily expiry of quotations past their valid-until date (docs/sales.md, "Expiry").

A sent quote whose valid-until date is behind its owner's today (in the owner's zone) becomes ``expired``: a
conditional UPDATE (sent → expired) in one transaction with its audit entry (by nobody: the system) and a marker
``quote_expiry_due:<id>`` saying its owner is to be told. Run again, or by two processes at once, it changes
nothing more: a quote no longer sent is left alone.

Telling is apart from expiring, so a quote expired at 03:00 is told at the owner's next working hour
(08:00–20:00 local, as the stale-opportunity nudges) and a bot that was down tells it when it is back: the owner's
quotes expired in the last ``NOTICE_DAYS`` with a due marker and no ``quote_expiry_told:<id>`` marker are claimed
(the told markers, one transaction: two processes never both send) and sent in one message. At most once: a push
that does not arrive is logged, not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.sales.ports import SalesUnitOfWork
from crm.sales.quote_model import ExpiredQuote, QuoteStatus
from crm.sales.stale import working_hours

DUE_PREFIX = "quote_expiry_due:"
TOLD_PREFIX = "quote_expiry_told:"
NOTICE_DAYS = 30  # an expiry not told within this (the bot down for a month) is not told any more
KEEP_MARKERS_DAYS = 60


@dataclass(frozen=True)
class ExpiryNotice:
    staff_id: int
    quotes: tuple[ExpiredQuote, ...]


class QuoteExpiryService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, *,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self._default_zone = default_timezone

    def _zone(self, name: str | None) -> ZoneInfo:
        try:
            return ZoneInfo(name or self._default_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self._default_zone)

    async def expire_due(self) -> list[int]:
        """Expire every sent quote past its valid-until date in its owner's zone; the ids this call expired."""
        now = self._clock.now()
        expired: list[int] = []
        zones: dict[int, ZoneInfo] = {}
        async with self._uow() as uow:
            # No zone is more than a day ahead of UTC: a quote valid until today (UTC) or later is nobody's past.
            for quote_id, owner_id, valid_until in await uow.sales.quotes.sent_before(now.date() + timedelta(days=1)):
                if owner_id not in zones:
                    owner = await uow.organisation.staff.get(owner_id)
                    zones[owner_id] = self._zone(owner.timezone if owner else None)
                today = now.astimezone(zones[owner_id]).date()
                if valid_until >= today or not await uow.sales.quotes.expire(quote_id, now):
                    continue
                await audit.record(uow, None, "expire", "quote", quote_id, {"status": QuoteStatus.SENT.value},
                                   {"status": QuoteStatus.EXPIRED.value})
                await uow.kv.claim(f"{DUE_PREFIX}{quote_id}", today.isoformat())
                expired.append(quote_id)
            if expired:
                cutoff = (now.date() - timedelta(days=KEEP_MARKERS_DAYS)).isoformat()
                await uow.kv.forget(DUE_PREFIX, cutoff)
                await uow.kv.forget(TOLD_PREFIX, cutoff)
            await uow.commit()
        return expired

    async def notices_due(self) -> list[ExpiryNotice]:
        """Per owner in working hours now: their expired quotes not told yet. For the scheduler: it names whom to
        tell; ``claim`` decides who tells."""
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            recent = await uow.sales.quotes.expired_since(now - timedelta(days=NOTICE_DAYS))
            if not recent:
                return []
            due = await uow.kv.existing([f"{DUE_PREFIX}{q.id}" for q in recent])
            told = await uow.kv.existing([f"{TOLD_PREFIX}{q.id}" for q in recent])
            by_owner: dict[int, list[ExpiredQuote]] = {}
            for quote in recent:
                if f"{DUE_PREFIX}{quote.id}" in due and f"{TOLD_PREFIX}{quote.id}" not in told:
                    by_owner.setdefault(quote.owner_id, []).append(quote)
            notices = []
            for staff_id, quotes in sorted(by_owner.items()):
                person = await uow.organisation.staff.get(staff_id)
                if person is None or not person.active or person.telegram_user_id is None:
                    continue
                if working_hours(now.astimezone(self._zone(person.timezone))):
                    notices.append(ExpiryNotice(staff_id, tuple(quotes)))
        return notices

    async def claim(self, notice: ExpiryNotice) -> Sequence[ExpiredQuote]:
        """Take the telling of these quotes; only those no one else took come back."""
        today = self._clock.now().date().isoformat()
        async with self._uow() as uow:
            mine = [q for q in notice.quotes if await uow.kv.claim(f"{TOLD_PREFIX}{q.id}", today)]
            await uow.commit()
        return mine
