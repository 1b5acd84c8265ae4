"""Service tickets: opened from chat or by a customer's SMS, assigned, moved through their statuses, updated
for the customer, nudged before their SLA runs out, closed with a satisfaction question.

Who may do what:
- ``tickets.create`` to open a ticket for a customer the actor may see.
- ``service.view`` to read tickets whose owner (the customer's owner) or assignee the actor's ``service`` scope
  allows; out of scope is "not found", also for a forged button press.
- The assignee, or a holder of ``tickets.assign`` in scope, moves a ticket and writes notes and customer updates;
  ``tickets.assign`` assigns it; ``tickets.close`` closes it.
Every change writes its audit row in the same transaction. Texts to the customer (the ticket number, updates,
the satisfaction question) go through the messaging outbox on the ``service`` topic, which is transactional:
sent unless the number opted out of it. Colleagues are told through the outbox's Telegram channel.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers import phones
from crm.customers.contacts_leads import lead_terms
from crm.customers.customers import clean_email, visible_customer
from crm.customers.model import EntityKind, Lead
from crm.fields.fields import FieldService, RecordKind
from crm.fields.model import FieldDef, FieldEntity, FieldValue
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, enqueue
from crm.messaging.ports.sms import MAX_BODY_CHARS
from crm.messaging.subscriptions import SmsTexts, sms_locale_for
from crm.orders.model import OrderRow
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor, Scope, ScopeFilter
from crm.sales.catalog import clean_sku
from crm.service.model import (
    CATEGORY_LIMIT,
    MOVES,
    SUBJECT_LIMIT,
    TEXT_LIMIT,
    Entry,
    EntryKind,
    Nudge,
    References,
    Report,
    Severity,
    Source,
    Status,
    Ticket,
    TicketCard,
    Told,
    ticket_number,
)
from crm.service.ports import ServiceUnitOfWork
from crm.service.report import grouped, summarise
from crm.service.sla import SlaPolicy

TOPIC = "service"  # the SMS topic (crm/messaging/subscriptions.py DEFAULT_TOPICS): transactional
LIST_LIMIT = 50
ORDERS_SHOWN = 8  # the recent orders offered to link
ENTRIES_SHOWN = 5
_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"(?:^|\s)#(\w+)")


def clean_text(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise ValidationFailed("service.error_empty")
    if len(value) > TEXT_LIMIT:
        raise ValidationFailed("error.field_too_long", field="text", limit=TEXT_LIMIT)
    return value


def category_of(text: str) -> str | None:
    """The first ``#word`` of the text, the ticket's category ("#printer the paper jams")."""
    found = _TAG.search(text)
    return found.group(1).casefold()[:CATEGORY_LIMIT] if found else None


# ``sku:PR-200`` (also ``SKU：PR-200``): the catalog product a ticket typed in one message is about
_SKU = re.compile(r"(?:^|(?<=\s))sku\s*[:：]\s*(\S+)", re.IGNORECASE)
# what an order number looks like (``O2026-0001``; the orders module's prefix is configurable, so any short one)
_ORDER_NUMBER = re.compile(r"(?<![\w-])([A-Za-z]{1,3}\d{4}-\d{4,})(?![\w-])")


def sku_of(text: str) -> tuple[str | None, str]:
    """The SKU named with ``sku:`` and the text without it."""
    found = _SKU.search(text)
    if found is None:
        return None, text
    return found.group(1), _SPACES.sub(" ", (text[:found.start()] + " " + text[found.end():])).strip()


def order_numbers_in(text: str) -> list[str]:
    """Words shaped like an order number, upper-cased, in the order they come; the text keeps them."""
    return [word.upper() for word in _ORDER_NUMBER.findall(text)]


def subject_of(text: str) -> str:
    line = _SPACES.sub(" ", text.strip().splitlines()[0] if text.strip() else "")
    return line if len(line) <= SUBJECT_LIMIT else line[:SUBJECT_LIMIT - 1] + "…"


def _under(department_id: int, ancestor_id: int, parents: Mapping[int, int | None]) -> bool:
    seen: set[int] = set()
    current: int | None = department_id
    while current is not None and current not in seen:
        if current == ancestor_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def covers(scope: Scope, viewer: Staff, owner: Staff, parents: Mapping[int, int | None]) -> bool:
    """Whether a person with this ``service`` scope sees the owner's tickets (as ``Actor.scope_filter`` would)."""
    if scope is Scope.ALL or viewer.id == owner.id:
        return True
    if scope is Scope.DEPARTMENT:
        return viewer.department_id == owner.department_id
    if scope is Scope.DEPARTMENT_TREE:
        return _under(owner.department_id, viewer.department_id, parents)
    return False


async def visible_ticket(uow: Any, actor: Actor, ticket_id: int) -> Ticket:
    """The ticket if the actor's ``service`` scope allows its owner or assignee; "not found" otherwise."""
    actor.require("service.view")
    ticket: Ticket | None = await uow.service.tickets.get(ticket_id)
    if ticket is None or not await TicketService._allowed(uow, actor.scope_filter("service"), ticket):
        raise NotFound()
    return ticket


async def workable_ticket(uow: Any, actor: Actor, ticket_id: int) -> Ticket:
    """A visible ticket the actor works on: its assignee, or a holder of ``tickets.assign``."""
    ticket = await visible_ticket(uow, actor, ticket_id)
    if ticket.assignee_id != actor.staff_id and not actor.can("tickets.assign"):
        raise PermissionDenied(operation="tickets.assign")
    return ticket


async def fields_editable_ticket(uow: Any, actor: Actor, ticket_id: int) -> Ticket:
    """Who sets a visible ticket's custom fields: its owner, its opener, whoever works on it."""
    ticket = await visible_ticket(uow, actor, ticket_id)
    if actor.staff_id not in (ticket.owner_id, ticket.opened_by, ticket.assignee_id) \
            and not actor.can("tickets.assign"):
        raise PermissionDenied(operation="tickets.assign")
    return ticket


# The custom fields of tickets (docs/fields.md): seen by whoever sees the ticket, set by those who own, opened
# or work on it.
TICKET_KIND = RecordKind(FieldEntity.TICKET, "service.view", "service.view", visible_ticket,
                         check_edit=fields_editable_ticket)


class TicketService:
    def __init__(self, uow: UnitOfWorkFactory[ServiceUnitOfWork], clock: Clock, sla: SlaPolicy, texts: SmsTexts,
                 *, phone_region: str = "TW", worker: Worker[UnitOfWorkFactory[ServiceUnitOfWork]] | None = None,
                 ) -> None:
        self._uow = uow
        self._clock = clock
        self.sla = sla
        self._texts = texts
        self._region = phone_region
        self._worker: Worker[UnitOfWorkFactory[ServiceUnitOfWork]] = worker or InlineWorker(uow)
        self.fields: FieldService | None = None  # the custom fields, saved with a new ticket, on its card

    # ---- reading -------------------------------------------------------------------------------------------

    @staticmethod
    async def _allowed(uow: ServiceUnitOfWork, scope: ScopeFilter, ticket: Ticket) -> bool:
        for staff_id in (ticket.owner_id, ticket.assignee_id):
            if staff_id is None:
                continue
            staff = await uow.organisation.staff.get(staff_id)
            if staff is not None and scope.allows(staff.id, staff.department_id):
                return True
        return False

    async def _visible(self, uow: ServiceUnitOfWork, actor: Actor, ticket_id: int) -> Ticket:
        return await visible_ticket(uow, actor, ticket_id)

    async def _card(self, uow: ServiceUnitOfWork, ticket: Ticket) -> TicketCard:
        name = "?"
        if ticket.customer_id is not None:
            customer = await uow.customers.customers.get(ticket.customer_id, include_deleted=True)
            name = customer.name if customer else "?"
        elif ticket.lead_id is not None:
            lead = await uow.customers.leads.get(ticket.lead_id, include_deleted=True)
            name = lead.name if lead else "?"
        assignee = await uow.organisation.staff.get(ticket.assignee_id) if ticket.assignee_id else None
        contact = await uow.customers.contacts.get(ticket.contact_id, include_deleted=True) \
            if ticket.contact_id else None
        entries = tuple(await uow.service.entries.of(ticket.id, limit=ENTRIES_SHOWN))
        product = (await uow.sales.products.get(ticket.product_id, include_deleted=True)
                   if ticket.product_id is not None else None)
        order = await uow.orders.orders.get(ticket.order_id) if ticket.order_id is not None else None
        custom: tuple[tuple[FieldDef, FieldValue], ...] = ()
        if self.fields is not None and await uow.fields.values.any_for(ticket.id):
            custom = tuple((field, value) for field, value in
                           await FieldService.read(uow, FieldEntity.TICKET, ticket.id) if not value.is_empty)
        return TicketCard(ticket, name, assignee.name if assignee else None, entries,
                          contact.name if contact else None,
                          f"{product.sku} · {product.name}" if product is not None else None,
                          order.number if order is not None else None, custom)

    async def card(self, actor: Actor, ticket_id: int) -> TicketCard:
        async with self._uow(write=False) as uow:
            return await self._card(uow, await self._visible(uow, actor, ticket_id))

    async def listing(self, actor: Actor, *, team: bool = False) -> Sequence[Ticket]:
        """Open tickets: the actor's own (owner, assignee or opener), or everyone's in their scope; breached first,
        then by due time."""
        actor.require("service.view")
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            rows = await uow.service.tickets.listed(actor.scope_filter("service"),
                                                    mine=None if team else actor.staff_id, open_only=True,
                                                    limit=LIST_LIMIT)
        return sorted(rows, key=lambda t: (not t.breached(now), t.due_at, t.id))

    async def assignable(self, actor: Actor, ticket_id: int) -> Sequence[Staff]:
        """Who the actor may assign this ticket to: active colleagues within their ``staff`` scope."""
        actor.require("tickets.assign")
        async with self._uow(write=False) as uow:
            await self._visible(uow, actor, ticket_id)
            return [s for s in await uow.organisation.staff.list(actor.scope_filter("staff"), limit=40)
                    if s.active and s.telegram_user_id is not None]

    # ---- opening -------------------------------------------------------------------------------------------

    async def _next(self, uow: ServiceUnitOfWork, now: datetime) -> tuple[int, int, str]:
        year = now.astimezone(self.sla.working.zone).year
        sequence = await uow.service.tickets.next_sequence(year)
        return year, sequence, ticket_number(year, sequence)

    async def _add(self, uow: ServiceUnitOfWork, *, customer_id: int | None, lead_id: int | None, owner_id: int,
                   text: str, severity: Severity, category: str | None, opened_by: int | None, source: Source,
                   phone: str | None, locale: str | None = None, contact_id: int | None = None,
                   product_id: int | None = None, order_id: int | None = None) -> Ticket:
        now = self._clock.now()
        category = category or category_of(text)
        year, sequence, number = await self._next(uow, now)
        ticket = await uow.service.tickets.add(Ticket(
            id=0, number=number, year=year, sequence=sequence, customer_id=customer_id, lead_id=lead_id,
            contact_id=contact_id, product_id=product_id, order_id=order_id,
            subject=subject_of(text), description=text, severity=severity, category=category, status=Status.NEW,
            owner_id=owner_id, assignee_id=None, opened_by=opened_by, source=source, phone=phone,
            locale=locale or (sms_locale_for(phone) if phone else "en"),
            due_at=self.sla.due(now, severity), nudge_at=self.sla.nudge_at(now, severity), created_at=now,
            updated_at=now))
        await audit.record(uow, opened_by, "create", "ticket", ticket.id, {},
                           {"number": number, "customer_id": customer_id, "lead_id": lead_id,
                            "severity": severity.value, "source": source.value, "product_id": product_id,
                            "order_id": order_id})
        return ticket

    async def references(self, actor: Actor, customer_id: int, sku: str | None, order_numbers: Sequence[str]
                         ) -> References:
        """What a one-message ``/ticket`` names besides the customer: the product of ``sku:`` (a live catalog
        product, else "no such SKU") and the first order number that is an order — the customer's (another
        customer's order, or one out of reach, is refused rather than linked; a word that is no order is text)."""
        actor.require("tickets.create")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            product = None
            if sku:
                try:  # SKUs are kept upper case and folded: "ac-90" finds "AC-90"
                    product = await uow.sales.products.by_sku(clean_sku(sku))
                except ValidationFailed:
                    product = None
                if product is None or not product.active:
                    raise ValidationFailed("service.error_sku", sku=sku[:40])
            order_id, number = None, None
            for candidate in order_numbers:
                found = await uow.orders.orders.id_of(candidate)
                if found is None:
                    continue
                order = await uow.orders.orders.get(found)
                if order is None or order.customer_id != customer_id:
                    raise ValidationFailed("service.error_order", number=candidate)
                order_id, number = order.id, order.number
                break
        return References(product.id if product else None,
                          f"{product.sku} · {product.name}" if product else None, order_id, number)

    async def _check_refs(self, uow: ServiceUnitOfWork, customer_id: int | None, product_id: int | None,
                          order_id: int | None) -> None:
        """Checked again in the ticket's transaction: the product live, the order the customer's."""
        if product_id is not None and await uow.sales.products.get(product_id) is None:
            raise NotFound()
        if order_id is not None:
            order = await uow.orders.orders.get(order_id)
            if order is None or customer_id is None or order.customer_id != customer_id:
                raise NotFound()

    async def open(self, actor: Actor, customer_id: int, text: str, *, severity: Severity = Severity.NORMAL,
                   category: str | None = None, product_id: int | None = None, order_id: int | None = None,
                   custom: Mapping[int, str] | None = None) -> Told:
        """A ticket for a customer the actor may see; the customer is texted its number, the service managers
        in scope are told. ``custom``: the custom fields' answers (field id → text), saved in the same
        transaction (a required field without an answer refuses the ticket)."""
        actor.require("tickets.create")
        body = clean_text(text)
        async with self._uow() as uow:
            customer = await visible_customer(uow, actor, customer_id)
            await self._check_refs(uow, customer.id, product_id, order_id)
            phone = customer.phones[0] if customer.phones else None
            ticket = await self._add(uow, customer_id=customer.id, lead_id=None, owner_id=customer.owner_id,
                                     text=body, severity=severity, category=category, opened_by=actor.staff_id,
                                     source=Source.CHAT, phone=phone, product_id=product_id, order_id=order_id)
            if self.fields is not None:
                await self.fields.write(uow, actor, FieldEntity.TICKET, ticket.id, custom or {}, creating=True)
            if phone is not None:
                await self._sms(uow, ticket, "service.sms_opened", number=ticket.number)
            managers = await self._managers(uow, ticket)
            await self._tell(uow, ticket, managers, "service.push_new", exclude=actor.staff_id)
            card = await self._card(uow, ticket)
            await uow.commit()
        return Told(card, tuple((s.telegram_user_id, s.locale or "") for s in managers
                                if s.telegram_user_id is not None and s.id != actor.staff_id))

    async def open_by_sms(self, phone: str, text: str, locale: str, *, severity: Severity = Severity.NORMAL
                          ) -> str:
        """A customer texted the support keyword: a known number's ticket is its customer's, an unknown number
        becomes a lead. Returns the reply text (the TwiML answer carries the ticket number, so a number that
        opted out of everything still learns it; nothing else is sent to it)."""
        body = text.strip()[:TEXT_LIMIT]
        if not body:
            return self._texts.t("service.sms_usage", locale)
        async with self._uow() as uow:
            link = await uow.messaging.subscriptions.parties_by_phone(phone)
            customer_id = link.customer_id
            if customer_id is None and link.contact_id is not None:
                contact = await uow.customers.contacts.get(link.contact_id)
                customer_id = contact.customer_id if contact else None
            lead_id = link.lead_id if customer_id is None else None
            owner: int | None
            if customer_id is not None:
                customer = await uow.customers.customers.get(customer_id)
                owner = customer.owner_id if customer else None
            elif lead_id is not None:
                lead = await uow.customers.leads.get(lead_id)
                owner = lead.owner_id if lead else None
            else:
                owner, lead_id = await self._new_lead(uow, phone)
            if owner is None:
                return self._texts.t("service.sms_no_staff", locale)
            ticket = await self._add(uow, customer_id=customer_id, lead_id=lead_id, owner_id=owner, text=body,
                                     severity=severity, category=None, opened_by=None, source=Source.SMS,
                                     phone=phone, locale=locale, contact_id=link.contact_id)
            await uow.service.entries.add(Entry(id=0, ticket_id=ticket.id, kind=EntryKind.INBOUND, text=body,
                                                staff_id=None, created_at=self._clock.now()))
            await self._tell(uow, ticket, await self._managers(uow, ticket), "service.push_new")
            await uow.commit()
        return self._texts.t("service.sms_opened", locale, number=ticket.number)

    async def _new_lead(self, uow: ServiceUnitOfWork, phone: str) -> tuple[int | None, int | None]:
        owner = await uow.messaging.subscriptions.default_lead_owner()
        if owner is None:
            return None, None
        lead = await uow.customers.leads.add(Lead(id=0, name=phones.display(phone, self._region), owner_id=owner,
                                                  phones=(phone,), source="sms", created_at=self._clock.now()))
        await uow.customers.search.replace(EntityKind.LEAD, lead.id, lead_terms(lead))
        await audit.record(uow, None, "create", "lead", lead.id, {},
                           {"name": lead.name, "phones": lead.phones, "source": "sms"})
        return owner, lead.id

    # ---- who to tell ---------------------------------------------------------------------------------------

    async def _managers(self, uow: ServiceUnitOfWork, ticket: Ticket) -> list[Staff]:
        """Active holders of ``tickets.assign`` whose ``service`` scope covers the ticket's owner or assignee."""
        roles = {r.id: r for r in await uow.organisation.roles.list_all() if "tickets.assign" in r.permissions}
        if not roles:
            return []
        parents = {d.id: d.parent_id for d in await uow.organisation.departments.list_all()}
        people = [s for s in [await uow.organisation.staff.get(i) for i in (ticket.owner_id, ticket.assignee_id)
                              if i is not None] if s is not None]
        everyone = await uow.organisation.staff.list(ScopeFilter(everything=True, owner_id=0), limit=100_000)
        return [person for person in everyone
                if person.active and person.role_id in roles
                and any(covers(roles[person.role_id].scopes.get("service", Scope.OWN), person, other, parents)
                        for other in people)]

    async def _tell(self, uow: ServiceUnitOfWork, ticket: Ticket, people: Sequence[Staff], key: str, *,
                    exclude: int | None = None, **params: Any) -> None:
        """A Telegram line to each colleague through the outbox (durable: it survives a restart)."""
        now = self._clock.now()
        for person in people:
            if person.telegram_user_id is None or person.id == exclude or not person.active:
                continue
            text = self._texts.t(key, person.locale or "en", number=ticket.number,
                                 subject=html.escape(ticket.subject), **params)
            await enqueue(uow, NewOutboxMessage(
                OutboxChannel.TELEGRAM, str(person.telegram_user_id), text, requested_by=None,
                idempotency_key=f"ticket:{ticket.id}:{key}:{person.id}:{now.isoformat()}"))

    async def _sms(self, uow: ServiceUnitOfWork, ticket: Ticket, key: str, *, tag: object = "", **params: Any
                   ) -> None:
        """A text on the service topic; ``tag`` tells apart two texts of one kind at the same moment."""
        if ticket.phone is None:
            return
        text = self._texts.t(key, ticket.locale, **params)
        if len(text) > MAX_BODY_CHARS:
            text = text[:MAX_BODY_CHARS - 1] + "…"
        await enqueue(uow, NewOutboxMessage(
            OutboxChannel.SMS, ticket.phone, text, topic=TOPIC, customer_id=ticket.customer_id,
            lead_id=ticket.lead_id, requested_by=None,
            idempotency_key=f"ticket:{ticket.id}:{key}:{tag}:{self._clock.now().isoformat()}"))

    # ---- working on a ticket -------------------------------------------------------------------------------

    async def _workable(self, uow: ServiceUnitOfWork, actor: Actor, ticket_id: int) -> Ticket:
        return await workable_ticket(uow, actor, ticket_id)

    async def _changed(self, uow: ServiceUnitOfWork, actor: Actor, before: Ticket, action: str,
                       **fields: Any) -> Ticket:
        now = self._clock.now()
        await uow.service.tickets.update(before.id, **fields, updated_at=now)
        await audit.record(uow, actor.staff_id, action, "ticket", before.id,
                           {k: _plain(getattr(before, k)) for k in fields},
                           {k: _plain(v) for k, v in fields.items()})
        after = await uow.service.tickets.get(before.id)
        if after is None:
            raise NotFound()
        return after

    async def set_product(self, actor: Actor, ticket_id: int, product_id: int | None) -> TicketCard:
        """Link the catalog product the ticket is about (None: none), by whoever works on it — the assignee or a
        service manager. A product that is not in the catalog (deleted, unknown, forged) is "not found"."""
        async with self._uow() as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            if product_id is not None and await uow.sales.products.get(product_id) is None:
                raise NotFound()
            if ticket.product_id != product_id:
                ticket = await self._changed(uow, actor, ticket, "update", product_id=product_id)
            card = await self._card(uow, ticket)
            await uow.commit()
        return card

    async def orders_of(self, actor: Actor, ticket_id: int) -> Sequence[OrderRow]:
        """The ticket's customer's recent orders, to link one (whoever works on the ticket)."""
        async with self._uow(write=False) as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            if ticket.customer_id is None:
                return []
            # the ticket's scope decides: whoever may work on it sees its customer's orders
            return await uow.orders.orders.listed(ScopeFilter(everything=True, owner_id=actor.staff_id),
                                                  customer_id=ticket.customer_id, offset=0, limit=ORDERS_SHOWN)

    async def set_order(self, actor: Actor, ticket_id: int, order_id: int | None) -> TicketCard:
        """Link the order the ticket is about (None: none): a live order of the ticket's customer, else "not
        found" (another customer's, deleted, forged). Audited."""
        async with self._uow() as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            await self._check_refs(uow, ticket.customer_id, None, order_id)
            if ticket.order_id != order_id:
                ticket = await self._changed(uow, actor, ticket, "update", order_id=order_id)
            card = await self._card(uow, ticket)
            await uow.commit()
        return card

    async def assign(self, actor: Actor, ticket_id: int, staff_id: int) -> Told:
        """``Told.tell`` is the assignee, to be pushed the ticket with its button (the ticket stays in their
        /tickets whether or not the push arrives)."""
        actor.require("tickets.assign")
        async with self._uow() as uow:
            ticket = await self._visible(uow, actor, ticket_id)
            if not ticket.is_open:
                raise Conflict("service.error_not_open")
            person = await uow.organisation.staff.get(staff_id)
            if person is None or not person.active or not actor.scope_filter("staff").allows(
                    person.id, person.department_id):
                raise NotFound()
            status = Status.ASSIGNED if ticket.status is Status.NEW else ticket.status
            after = await self._changed(uow, actor, ticket, "assign", assignee_id=person.id, status=status)
            card = await self._card(uow, after)
            await uow.commit()
        tell = ((person.telegram_user_id, person.locale or ""),) if (
            person.telegram_user_id is not None and person.id != actor.staff_id) else ()
        return Told(card, tell)

    async def move(self, actor: Actor, ticket_id: int, status: Status) -> TicketCard:
        """A status button: only the moves in ``MOVES``; closing needs ``tickets.close`` and asks the customer
        for a 1–5 rating by SMS; a resolved or closed ticket goes back to "in progress" (reopen)."""
        if status is Status.CLOSED:
            actor.require("tickets.close")
        now = self._clock.now()
        async with self._uow() as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            if status not in MOVES[ticket.status]:
                raise Conflict("service.error_move")
            fields: dict[str, Any] = {"status": status}
            if status is Status.RESOLVED:
                fields["resolved_at"] = now
            if status is Status.CLOSED:
                fields["closed_at"] = now
                if ticket.resolved_at is None:
                    fields["resolved_at"] = now
            if status is Status.IN_PROGRESS and not ticket.is_open:  # reopened: the clock starts again
                fields |= {"resolved_at": None, "closed_at": None, "due_at": self.sla.due(now, ticket.severity),
                           "nudge_at": self.sla.nudge_at(now, ticket.severity), "nudged_at": None,
                           "breach_told_at": None}
            if ticket.first_response_at is None:
                fields["first_response_at"] = now
            after = await self._changed(uow, actor, ticket, "reopen" if "due_at" in fields else "status", **fields)
            await uow.service.entries.add(Entry(id=0, ticket_id=ticket.id, kind=EntryKind.STATUS,
                                                text=status.value, staff_id=actor.staff_id, created_at=now))
            if status is Status.CLOSED and after.phone is not None and after.satisfaction is None:
                await self._sms(uow, after, "service.sms_rate", number=after.number)
                after = await self._changed(uow, actor, after, "ask_rating", satisfaction_asked_at=now)
            elif status is Status.RESOLVED:
                await self._sms(uow, after, "service.sms_resolved", number=after.number)
            card = await self._card(uow, after)
            await uow.commit()
        return card

    async def add_entry(self, actor: Actor, ticket_id: int, kind: EntryKind, text: str) -> TicketCard:
        """An internal note (stays inside) or a customer update (SMS on the service topic, e-mail when the
        customer has an address)."""
        if kind not in (EntryKind.NOTE, EntryKind.UPDATE):
            raise ValidationFailed("error.invalid")
        body = clean_text(text)
        now = self._clock.now()
        async with self._uow() as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            entry = await uow.service.entries.add(Entry(id=0, ticket_id=ticket.id, kind=kind, text=body,
                                                        staff_id=actor.staff_id, created_at=now))
            await audit.record(uow, actor.staff_id, kind.value, "ticket", ticket.id, {}, {"entry_id": entry.id})
            if kind is EntryKind.UPDATE:
                if ticket.first_response_at is None:
                    ticket = await self._changed(uow, actor, ticket, "respond", first_response_at=now)
                await self._sms(uow, ticket, "service.sms_update", tag=entry.id, number=ticket.number, text=body)
                await self._email(uow, ticket, body, entry.id)
            card = await self._card(uow, ticket)
            await uow.commit()
        return card

    async def attach(self, actor: Actor, ticket_id: int, kind: EntryKind, text: str, *, file_id: str | None = None,
                     file_path: str | None = None) -> TicketCard:
        """A photo or file sent in chat (``FILE``), or the technician's check-in on site (``VISIT``, the shared
        location as text): internal, like a note."""
        if kind not in (EntryKind.FILE, EntryKind.VISIT) or (kind is EntryKind.FILE and not file_id):
            raise ValidationFailed("error.invalid")
        now = self._clock.now()
        async with self._uow() as uow:
            ticket = await self._workable(uow, actor, ticket_id)
            entry = await uow.service.entries.add(Entry(id=0, ticket_id=ticket.id, kind=kind, text=text[:500],
                                                        staff_id=actor.staff_id, created_at=now, file_id=file_id,
                                                        file_path=file_path))
            await audit.record(uow, actor.staff_id, kind.value, "ticket", ticket.id, {},
                               {"entry_id": entry.id, "file_id": file_id, "text": entry.text})
            card = await self._card(uow, ticket)
            await uow.commit()
        return card

    async def may_work(self, actor: Actor, ticket_id: int) -> TicketCard:
        """The ticket, when the actor may add to it (before a file is downloaded for it)."""
        async with self._uow(write=False) as uow:
            return await self._card(uow, await self._workable(uow, actor, ticket_id))

    async def _email(self, uow: ServiceUnitOfWork, ticket: Ticket, body: str, entry_id: int) -> None:
        if ticket.customer_id is None:
            return
        customer = await uow.customers.customers.get(ticket.customer_id)
        address = clean_email(customer.email) if customer else None
        if address is None:
            return
        await enqueue(uow, NewOutboxMessage(
            OutboxChannel.EMAIL, address, body,
            subject=self._texts.t("service.email_subject", ticket.locale, number=ticket.number, subject=ticket.subject),
            topic=TOPIC, customer_id=ticket.customer_id, requested_by=None,
            idempotency_key=f"ticket:{ticket.id}:email:{entry_id}"))

    # ---- the customer's rating ------------------------------------------------------------------------------

    async def rate_by_sms(self, phone: str, score: int) -> str | None:
        """A 1–5 texted back after closing: recorded on the latest closed ticket that asked; None when no
        ticket asked (the text is then nobody's)."""
        async with self._uow() as uow:
            ticket = await uow.service.tickets.awaiting_satisfaction(phone)
            if ticket is None:
                return None
            await uow.service.tickets.update(ticket.id, satisfaction=score, updated_at=self._clock.now())
            await audit.record(uow, None, "rated", "ticket", ticket.id, {"satisfaction": None},
                               {"satisfaction": score})
            await uow.commit()
        return self._texts.t("service.sms_thanks", ticket.locale, number=ticket.number)

    # ---- the report -----------------------------------------------------------------------------------------

    async def report(self, actor: Actor, days: int) -> Report:
        """Tickets opened in the last ``days`` within the actor's ``service`` scope."""
        actor.require("service.view")
        now = self._clock.now()
        since = now - timedelta(days=days)
        scope = actor.scope_filter("service")

        async def job(factory: UnitOfWorkFactory[ServiceUnitOfWork]) -> Report:
            # The query and the medians (Python: SQLite has none) in the worker: a year of tickets is a few tens
            # of thousands of lines to sort, which the event loop, answering everyone's messages, should not.
            async with factory(write=False) as uow:
                lines = await uow.service.tickets.report_lines(scope, since)
            return Report(since, summarise("", lines, now), grouped(lines, lambda x: x.category, "—", now),
                          grouped(lines, lambda x: x.assignee, "—", now))

        return await self._worker.run(job)

    # ---- SLA ------------------------------------------------------------------------------------------------

    async def claim_nudges(self) -> list[Nudge]:
        """Claims every SLA push due now, once each: a claimed ticket is never claimed again, so a push lost
        in a crash is not repeated (a hint, not a record). Nearly due → the assignee; breached → the service
        managers in scope."""
        now = self._clock.now()
        found: list[Nudge] = []
        async with self._uow() as uow:
            for ticket in await uow.service.tickets.claim_nudges(now):
                assignee = await uow.organisation.staff.get(ticket.assignee_id) if ticket.assignee_id else None
                if assignee is not None and assignee.active and assignee.telegram_user_id is not None:
                    found.append(Nudge(ticket, False, ((assignee.telegram_user_id, assignee.locale or ""),)))
            for ticket in await uow.service.tickets.claim_breaches(now):
                managers = await self._managers(uow, ticket)
                chats = tuple((s.telegram_user_id, s.locale or "") for s in managers if s.telegram_user_id)
                if chats:
                    found.append(Nudge(ticket, True, chats))
            await uow.commit()
        return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value
