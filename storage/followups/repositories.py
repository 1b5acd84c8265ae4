"""Reminder delivery bookkeeping, the morning-agenda claim and visit check-ins (see crm/ports/reminders.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.customers.model import Interaction, InteractionKind
from crm.followups.ports import AgendaSubscriber, DeliveryInfo
from storage import tables as t


class SqlReminderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def delivery_info(self, followup_ids: Sequence[int]) -> Mapping[int, DeliveryInfo]:
        if not followup_ids:
            return {}
        f, s, cu, le, co = t.followups.c, t.staff.c, t.customers.c, t.leads.c, t.contacts.c
        q = (
            select(f.id, f.owner_id, s.telegram_user_id, s.locale, s.timezone, s.active,
                   s.deleted_at.label("staff_deleted"), cu.name.label("customer_name"),
                   cu.deleted_at.label("customer_deleted"), le.name.label("lead_name"),
                   le.deleted_at.label("lead_deleted"), co.name.label("contact_name"))
            .select_from(t.followups)
            .join(t.staff, s.id == f.owner_id)
            .outerjoin(t.customers, cu.id == f.customer_id)
            .outerjoin(t.leads, le.id == f.lead_id)
            .outerjoin(t.contacts, co.id == f.contact_id)
            .where(f.id.in_(sorted(set(followup_ids))))
        )
        found: dict[int, DeliveryInfo] = {}
        for row in await self._c.execute(q):
            if row.customer_name is not None:
                name = f"{row.contact_name} ({row.customer_name})" if row.contact_name else row.customer_name
            else:
                name = row.lead_name or ""
            found[row.id] = DeliveryInfo(
                followup_id=row.id, owner_id=row.owner_id, telegram_user_id=row.telegram_user_id,
                locale=row.locale, timezone=row.timezone,
                owner_active=bool(row.active) and row.staff_deleted is None, target_name=name,
                target_hidden=row.customer_deleted is not None or row.lead_deleted is not None,
            )
        return found

    def _mine(self, followup_id: int, worker: str) -> list[ColumnElement[bool]]:
        c = t.followups.c
        return [c.id == followup_id, c.claimed_by == worker, c.remind_state == "claimed"]

    async def defer(self, followup_id: int, worker: str, until: datetime) -> bool:
        result = await self._c.execute(
            update(t.followups).where(*self._mine(followup_id, worker)).values(claimed_until=until))
        return bool(result.rowcount == 1)

    async def release(self, followup_ids: Sequence[int], worker: str) -> None:
        if not followup_ids:
            return
        c = t.followups.c
        await self._c.execute(
            update(t.followups)
            .where(c.id.in_(sorted(set(followup_ids))), c.claimed_by == worker, c.remind_state == "claimed")
            .values(remind_state="pending", claimed_by=None, claimed_until=None))

    async def mark_failed(self, followup_id: int, worker: str, at: datetime) -> bool:
        result = await self._c.execute(
            update(t.followups).where(*self._mine(followup_id, worker))
            .values(remind_state="failed", reminded_at=at, claimed_until=None))
        return bool(result.rowcount == 1)

    async def agenda_subscribers(self) -> Sequence[AgendaSubscriber]:
        s = t.staff.c
        q = (
            select(s.id, s.timezone, s.agenda_time, s.agenda_sent_on)
            .where(s.active.is_(True), s.deleted_at.is_(None), s.telegram_user_id.is_not(None),
                   or_(s.agenda_time.is_(None), s.agenda_time != "off"))
            .order_by(s.id)
        )
        return [AgendaSubscriber(r.id, r.timezone, r.agenda_time, r.agenda_sent_on) for r in await self._c.execute(q)]

    async def claim_agenda(self, staff_id: int, day: date) -> bool:
        # One UPDATE with the condition in its WHERE: on PostgreSQL a second worker waits for the first one's row
        # lock, re-reads the row, finds the day already set and updates nothing; SQLite serialises writers.
        s = t.staff.c
        result = await self._c.execute(
            update(t.staff)
            .where(s.id == staff_id, or_(s.agenda_sent_on.is_(None), s.agenda_sent_on < day))
            .values(agenda_sent_on=day))
        return bool(result.rowcount == 1)

    async def unclaim_agenda(self, staff_id: int, day: date, previous: date | None) -> None:
        s = t.staff.c
        await self._c.execute(
            update(t.staff).where(and_(s.id == staff_id, s.agenda_sent_on == day)).values(agenda_sent_on=previous))

    async def agenda_time(self, staff_id: int) -> str | None:
        q = select(t.staff.c.agenda_time).where(t.staff.c.id == staff_id)
        value = (await self._c.execute(q)).scalar_one_or_none()
        return str(value) if value is not None else None

    async def set_agenda_time(self, staff_id: int, value: str | None) -> None:
        await self._c.execute(update(t.staff).where(t.staff.c.id == staff_id).values(agenda_time=value))

    async def interaction(self, interaction_id: int) -> Interaction | None:
        c = t.interactions.c
        row = (await self._c.execute(
            select(t.interactions).where(c.id == interaction_id, c.deleted_at.is_(None)))).first()
        if row is None:
            return None
        return Interaction(id=row.id, author_id=row.author_id, kind=InteractionKind(row.kind), text=row.text,
                           occurred_at=row.occurred_at, customer_id=row.customer_id, lead_id=row.lead_id,
                           contact_id=row.contact_id, latitude=row.latitude, longitude=row.longitude,
                           created_at=row.created_at)

    async def set_interaction_location(self, interaction_id: int, latitude: float, longitude: float) -> None:
        await self._c.execute(update(t.interactions).where(t.interactions.c.id == interaction_id)
                              .values(latitude=latitude, longitude=longitude))
