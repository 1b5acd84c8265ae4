"""Interactions (what happened) and follow-ups (what happens next, with a reminder at the due time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.contacts_leads import visible_contact, visible_lead
from crm.customers.customers import clean_text, visible_customer
from crm.customers.events import InteractionLogged, InteractionUndone
from crm.customers.model import EntityKind, FollowUp, FollowUpStatus, Interaction, InteractionKind
from crm.followups.agenda import Agenda, day_bounds, split_agenda
from crm.followups.events import FollowUpDone
from crm.followups.ports import FollowUpsUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor

MAX_TEXT = 4000
CHECKIN_WINDOW = timedelta(hours=2)
# The same thing logged again this soon is a double tap or a retry after a slow reply, not a second visit.
DUPLICATE_WINDOW = timedelta(minutes=10)
# A slip noticed right away can be taken back; later the interaction is part of the history others may have read.
UNDO_WINDOW = timedelta(minutes=10)


class DuplicateInteraction(DomainError):
    """The author logged the same interaction (party, kind, text) within DUPLICATE_WINDOW; nothing was saved.
    ``log(..., allow_duplicate=True)`` saves it anyway."""

    key = "followups.duplicate"

    def __init__(self, previous: Interaction, ago: timedelta) -> None:
        super().__init__(minutes=int(ago.total_seconds() // 60))
        self.previous = previous
        self.ago = ago


def same_text(a: str, b: str) -> bool:
    """Equal once surrounding and repeated whitespace is folded: a retyped note differs in spaces only."""
    return " ".join(a.split()) == " ".join(b.split())


@dataclass(frozen=True)
class Target:
    """Who an interaction or follow-up is about: a customer, one of its contacts, or a lead."""

    entity: EntityKind
    id: int


@dataclass(frozen=True)
class ResolvedTarget:
    customer_id: int | None
    lead_id: int | None
    contact_id: int | None
    name: str
    owner_id: int


async def resolve_target(uow: FollowUpsUnitOfWork, actor: Actor, target: Target) -> ResolvedTarget:
    if target.entity is EntityKind.CUSTOMER:
        customer = await visible_customer(uow, actor, target.id)
        return ResolvedTarget(customer.id, None, None, customer.name, customer.owner_id)
    if target.entity is EntityKind.CONTACT:
        contact, customer = await visible_contact(uow, actor, target.id)
        return ResolvedTarget(customer.id, None, contact.id, f"{contact.name} ({customer.name})", customer.owner_id)
    lead = await visible_lead(uow, actor, target.id)
    return ResolvedTarget(None, lead.id, None, lead.name, lead.owner_id)


class FollowUpService:
    def __init__(self, uow: UnitOfWorkFactory[FollowUpsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def log(
        self,
        actor: Actor,
        target: Target,
        kind: InteractionKind,
        text: str,
        *,
        location: tuple[float, float] | None = None,
        occurred_at: datetime | None = None,
        next_due: datetime | None = None,
        next_text: str | None = None,
        allow_duplicate: bool = False,
    ) -> tuple[Interaction, FollowUp | None]:
        """Record an interaction and, optionally, the next step. One transaction: both or neither.

        Raises DuplicateInteraction when the actor logged the same one within DUPLICATE_WINDOW, unless
        ``allow_duplicate`` (they saw the warning and said so)."""
        actor.require("followups.create")
        body = clean_text(text, "notes", required=True) or ""
        if location is not None and not (-90 <= location[0] <= 90 and -180 <= location[1] <= 180):
            raise ValidationFailed("error.location_invalid")
        now = self._clock.now()
        async with self._uow() as uow:
            resolved = await resolve_target(uow, actor, target)
            if not allow_duplicate:
                previous = await self._same_recent(uow, actor, resolved, kind, body, now)
                if previous is not None and previous.created_at is not None:
                    raise DuplicateInteraction(previous, now - previous.created_at)
            interaction = await uow.customers.interactions.add(Interaction(
                id=0, author_id=actor.staff_id, kind=kind, text=body, occurred_at=occurred_at or now,
                customer_id=resolved.customer_id, lead_id=resolved.lead_id, contact_id=resolved.contact_id,
                latitude=location[0] if location else None, longitude=location[1] if location else None,
                created_at=now,
            ))
            # The customers module keeps last_contact_at up to date from this (crm/customers/subscribers.py).
            uow.record(InteractionLogged(
                occurred_at=now, interaction_id=interaction.id, author_id=actor.staff_id, kind=kind,
                contacted_at=interaction.occurred_at, customer_id=resolved.customer_id, lead_id=resolved.lead_id,
                contact_id=resolved.contact_id))
            await audit.record(uow, actor.staff_id, "create", "interaction", interaction.id, {},
                               {"kind": kind.value, "customer_id": resolved.customer_id, "lead_id": resolved.lead_id,
                                "location": list(location) if location else None})
            followup = None
            if next_due is not None:
                followup = await self._add(uow, actor, resolved, next_due, next_text or body, interaction.id)
            await uow.commit()
        return interaction, followup

    @staticmethod
    async def _same_recent(uow: FollowUpsUnitOfWork, actor: Actor, resolved: ResolvedTarget, kind: InteractionKind,
                           body: str, now: datetime) -> Interaction | None:
        candidates = await uow.customers.interactions.by_author_since(
            actor.staff_id, kind, now - DUPLICATE_WINDOW, customer_id=resolved.customer_id,
            lead_id=resolved.lead_id, contact_id=resolved.contact_id)
        return next((c for c in candidates if same_text(c.text, body)), None)

    async def undo(self, actor: Actor, interaction_id: int) -> tuple[Interaction, tuple[FollowUp, ...]]:
        """Take back an interaction just logged: soft-deleted, with the follow-up planned in the same /log
        cancelled. Only its author, and only within UNDO_WINDOW; anyone else's id is "not found"."""
        actor.require("followups.create")
        now = self._clock.now()
        async with self._uow() as uow:
            interaction = await uow.customers.interactions.get(interaction_id, include_deleted=True)
            if interaction is None or interaction.author_id != actor.staff_id:
                raise NotFound()
            if interaction.deleted_at is not None:
                raise ValidationFailed("followups.undo_already")
            if interaction.created_at is None or interaction.created_at < now - UNDO_WINDOW:
                raise ValidationFailed("followups.undo_too_late", minutes=int(UNDO_WINDOW.total_seconds() // 60))
            await uow.customers.interactions.soft_delete(interaction_id, now)
            await audit.record(uow, actor.staff_id, "undo", "interaction", interaction_id, {"deleted_at": None},
                               {"deleted_at": now})
            cancelled: list[FollowUp] = []
            for followup in await uow.customers.followups.open_from_interaction(interaction_id):
                await uow.customers.followups.update(followup.id, status=FollowUpStatus.CANCELLED.value,
                                                     completed_at=now)
                await audit.record(uow, actor.staff_id, "cancel", "followup", followup.id,
                                   {"status": followup.status},
                                   {"status": FollowUpStatus.CANCELLED, "completed_at": now})
                cancelled.append(replace(followup, status=FollowUpStatus.CANCELLED, completed_at=now))
            uow.record(InteractionUndone(
                occurred_at=now, interaction_id=interaction_id, contacted_at=interaction.occurred_at,
                customer_id=interaction.customer_id, lead_id=interaction.lead_id))
            await uow.commit()
        return replace(interaction, deleted_at=now), tuple(cancelled)

    async def plan(self, actor: Actor, target: Target, due_at: datetime, text: str) -> FollowUp:
        actor.require("followups.create")
        async with self._uow() as uow:
            resolved = await resolve_target(uow, actor, target)
            followup = await self._add(uow, actor, resolved, due_at, text, None)
            await uow.commit()
        return followup

    async def _add(self, uow: FollowUpsUnitOfWork, actor: Actor, resolved: ResolvedTarget, due_at: datetime, text: str,
                   interaction_id: int | None) -> FollowUp:
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        body = clean_text(text, "notes", required=True) or ""
        followup = await uow.customers.followups.add(FollowUp(
            id=0, owner_id=actor.staff_id, text=body, due_at=due_at, customer_id=resolved.customer_id,
            lead_id=resolved.lead_id, contact_id=resolved.contact_id, interaction_id=interaction_id,
            created_at=self._clock.now(),
        ))
        await audit.record(uow, actor.staff_id, "create", "followup", followup.id, {},
                           {"due_at": due_at, "text": body, "customer_id": resolved.customer_id,
                            "lead_id": resolved.lead_id})
        return followup

    async def _visible(self, uow: FollowUpsUnitOfWork, actor: Actor, followup_id: int) -> FollowUp:
        followup = await uow.customers.followups.get(followup_id)
        if followup is None:
            raise NotFound()
        if followup.owner_id == actor.staff_id:
            return followup
        department = await uow.customers.customers.owner_department(followup.owner_id)
        if not actor.scope_filter("followups").allows(followup.owner_id, department):
            raise NotFound()
        return followup

    async def get(self, actor: Actor, followup_id: int) -> FollowUp:
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, followup_id)

    async def complete(self, actor: Actor, followup_id: int) -> FollowUp:
        return await self._change(actor, followup_id, "complete", status=FollowUpStatus.DONE.value,
                                  completed_at=self._clock.now())

    async def cancel(self, actor: Actor, followup_id: int) -> FollowUp:
        return await self._change(actor, followup_id, "cancel", status=FollowUpStatus.CANCELLED.value,
                                  completed_at=self._clock.now())

    async def reschedule(self, actor: Actor, followup_id: int, due_at: datetime) -> FollowUp:
        """Also used by Snooze: a new due time re-arms the reminder."""
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        return await self._change(actor, followup_id, "reschedule", due_at=due_at, remind_state="pending",
                                  claimed_by=None, claimed_until=None, reminded_at=None, reminded_late=False)

    async def _change(self, actor: Actor, followup_id: int, action: str, **fields: object) -> FollowUp:
        actor.require("followups.edit")
        async with self._uow() as uow:
            before = await self._visible(uow, actor, followup_id)
            if before.status is not FollowUpStatus.OPEN and action != "reschedule":
                return before
            if action == "reschedule":
                fields["status"] = FollowUpStatus.OPEN.value
            await uow.customers.followups.update(followup_id, **fields)
            shown = {k: v for k, v in fields.items() if k in ("status", "due_at", "completed_at")}
            await audit.record(uow, actor.staff_id, action, "followup", followup_id,
                               {k: getattr(before, k) for k in shown}, shown)
            after = await uow.customers.followups.get(followup_id)
            if action == "complete":
                uow.record(FollowUpDone(
                    occurred_at=self._clock.now(), followup_id=followup_id, owner_id=before.owner_id,
                    done_by=actor.staff_id, customer_id=before.customer_id, lead_id=before.lead_id,
                    contact_id=before.contact_id))
            await uow.commit()
        return after or before

    async def agenda(self, actor: Actor, day: date | None = None) -> Agenda:
        """The actor's open follow-ups due on ``day`` (their local day); on today's, also everything overdue."""
        zone = ZoneInfo(actor.timezone)
        now = self._clock.now()
        today = now.astimezone(zone).date()
        day = day or today
        start, end = day_bounds(day, zone)
        async with self._uow(write=False) as uow:
            items = await uow.customers.followups.for_owner_between(actor.staff_id,
                                                                    None if day == today else start, end)
        return split_agenda(items, day, zone, now)

    async def targets_for(self, actor: Actor, followups: Sequence[FollowUp]) -> dict[int, str]:
        """Display names for the follow-ups' customers/leads (the actor may see them all: they are theirs)."""
        names: dict[int, str] = {}
        async with self._uow(write=False) as uow:
            for f in followups:
                if f.customer_id is not None:
                    c = await uow.customers.customers.get(f.customer_id)
                    names[f.id] = c.name if c else "?"
                elif f.lead_id is not None:
                    lead = await uow.customers.leads.get(f.lead_id)
                    names[f.id] = lead.name if lead else "?"
        return names

    async def attach_location(self, actor: Actor, interaction_id: int, latitude: float, longitude: float,
                              *, within: timedelta = CHECKIN_WINDOW) -> Interaction:
        """A location shared right after logging a visit becomes that visit's check-in: only the author's own
        interaction, and only while it is fresh — a check-in hours later proves nothing."""
        actor.require("followups.create")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValidationFailed("error.location_invalid")
        async with self._uow() as uow:
            interaction = await uow.followups.reminders.interaction(interaction_id)
            if interaction is None or interaction.author_id != actor.staff_id:
                raise NotFound()
            if interaction.created_at is not None and interaction.created_at < self._clock.now() - within:
                raise ValidationFailed("followups.checkin_too_late")
            await uow.followups.reminders.set_interaction_location(interaction_id, latitude, longitude)
            await audit.record(uow, actor.staff_id, "checkin", "interaction", interaction_id,
                               {"location": [interaction.latitude, interaction.longitude]},
                               {"location": [latitude, longitude]})
            await uow.commit()
        return replace(interaction, latitude=latitude, longitude=longitude)

    async def recent_interactions(self, actor: Actor, target: Target, limit: int = 10) -> Sequence[Interaction]:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            resolved = await resolve_target(uow, actor, target)
            if resolved.customer_id is not None:
                return await uow.customers.interactions.recent(customer_id=resolved.customer_id, limit=limit)
            return await uow.customers.interactions.recent(lead_id=resolved.lead_id, limit=limit)


def snooze_choices(now: datetime, timezone: str) -> dict[str, datetime]:
    """Snooze targets in the user's zone: in an hour, tomorrow 9:00, next Monday 9:00."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(9), zone)
    next_week = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), time(9), zone)
    return {"1h": now + timedelta(hours=1), "tomorrow": tomorrow, "week": next_week}


__all__ = ["DUPLICATE_WINDOW", "UNDO_WINDOW", "Agenda", "DuplicateInteraction", "FollowUpService", "ResolvedTarget",
           "Target", "same_text", "snooze_choices"]
