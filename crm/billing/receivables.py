"""What customers owe: aging in buckets per customer and per currency (SQL sums, for the actor's ``sales`` scope),
the customer card's section, the digest's sections, and the push to an invoice's owner when it becomes overdue
(docs/billing.md, "Overdue pushes").

Overdue pushes: once on the first working hour (08:00–20:00 in the owner's zone) after the due date has passed
in that zone, then every ``repeat_days`` while the invoice is unpaid (0: only once). Durable and at least once:
a push is claimed on the invoice row (``reminder_claimed_at``, a lease of ``LEASE_MINUTES``), and marked sent
(``reminded_at``) only after Telegram's answer; a push that could not be sent now is released and tried on a
later tick, a process that died holding a claim loses it when the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.billing.invoices import today_of
from crm.billing.model import Invoice, Owed, Receivables
from crm.billing.ports import BillingUnitOfWork
from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestSectionResult
from crm.organisation.permissions import Actor
from crm.sales.stale import working_hours

PAGE = 20
LEASE_MINUTES = 10
BATCH = 200


@dataclass(frozen=True)
class DueReminder:
    invoice: Invoice
    telegram_user_id: int


class ReceivablesService:
    def __init__(self, uow: UnitOfWorkFactory[BillingUnitOfWork], clock: Clock, *, repeat_days: int = 7,
                 default_timezone: str = "UTC") -> None:
        self._uow = uow
        self._clock = clock
        self.repeat_days = repeat_days
        self._default_zone = default_timezone

    async def aging(self, actor: Actor, *, customer_id: int | None = None) -> Receivables:
        """Open invoices in the actor's scope by days past due: the largest balances first, and per currency."""
        actor.require("sales.view")
        today = today_of(actor, self._clock)
        scope = actor.scope_filter("sales")
        async with self._uow(write=False) as uow:
            rows, count = await uow.billing.invoices.aging(scope, today, customer_id=customer_id, limit=PAGE)
            totals = await uow.billing.invoices.aging_totals(scope, today)
        return Receivables(today, tuple(rows), max(count - len(rows), 0), tuple(totals))

    # ---- overdue pushes ----------------------------------------------------------------------------------------

    def _zone(self, name: str | None) -> ZoneInfo:
        try:
            return ZoneInfo(name or self._default_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(self._default_zone)

    async def reminders_due(self) -> list[DueReminder]:
        """Overdue invoices whose owner should hear of them now (in their working hours). For the scheduler: it
        names what to look at; ``claim`` decides who sends."""
        now = self._clock.now()
        latest_today = (now + timedelta(days=1)).date()  # no zone is more than a day ahead of UTC
        repeat = now - timedelta(days=self.repeat_days) if self.repeat_days > 0 else None
        async with self._uow(write=False) as uow:
            rows = await uow.billing.invoices.reminders_due(
                latest_today, repeat, now - timedelta(minutes=LEASE_MINUTES), limit=BATCH)
        due: list[DueReminder] = []
        for invoice, telegram_user_id, zone in rows:
            local = now.astimezone(self._zone(zone))
            if telegram_user_id is not None and invoice.due_date < local.date() and working_hours(local):
                due.append(DueReminder(invoice, telegram_user_id))
        return due

    async def claim(self, reminder: DueReminder) -> bool:
        now = self._clock.now()
        async with self._uow() as uow:
            claimed = await uow.billing.invoices.claim_reminder(reminder.invoice.id, now,
                                                                now - timedelta(minutes=LEASE_MINUTES))
            await uow.commit()
        return claimed

    async def done(self, reminder: DueReminder, *, sent: bool) -> None:
        """After Telegram answered: ``sent`` marks the push made; otherwise a later tick tries again."""
        async with self._uow() as uow:
            await uow.billing.invoices.reminder_done(reminder.invoice.id, self._clock.now() if sent else None)
            await uow.commit()


class OwedSection:
    """The customer card's "what is owed" section (``CardSection``): per currency, open and overdue."""

    name = "owed"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def read(self, uow: BillingUnitOfWork, actor: Actor, customer_id: int, limit: int) -> Sequence[Owed]:
        if not actor.can("sales.view"):
            return ()
        rows = await uow.billing.invoices.owed(actor.scope_filter("sales"), customer_id,
                                               today_of(actor, self._clock))
        return rows[:limit]


def _zone_day(actor: Actor, at: datetime) -> date:
    return at.astimezone(ZoneInfo(actor.timezone)).date()


def _figures(key: str, now: Sequence[tuple[str, Decimal]],
             before: Sequence[tuple[str, Decimal]]) -> tuple[DigestFigure, ...]:
    current, previous = dict(now), dict(before)
    return tuple(DigestFigure(key, current.get(currency, Decimal(0)), previous.get(currency, Decimal(0)),
                              {"currency": currency})
                 for currency in sorted(set(current) | set(previous)))


class PaymentsReceivedSection:
    """Digest: payments received in the period (by the day they were received), per currency."""

    name = "billing.payments"
    position = 60

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("sales.view"):
            return None
        scope = actor.scope_filter("sales")
        now = await uow.billing.payments.received(scope, _zone_day(actor, period.start), _zone_day(actor, period.end))
        before = await uow.billing.payments.received(scope, _zone_day(actor, previous.start),
                                                     _zone_day(actor, previous.end))
        return DigestSectionResult(self.name, "billing.digest_payments",
                                   _figures("billing.digest_received", now, before))


class OverdueReceivablesSection:
    """Digest: what was overdue at the end of the period, against the end of the period before, per currency."""

    name = "billing.overdue"
    position = 61

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("sales.view"):
            return None
        scope = actor.scope_filter("sales")
        now = await uow.billing.invoices.overdue_at(scope, period.end, _zone_day(actor, period.end))
        before = await uow.billing.invoices.overdue_at(scope, previous.end, _zone_day(actor, previous.end))
        return DigestSectionResult(self.name, "billing.digest_overdue",
                                   _figures("billing.digest_overdue_amount", now, before))
