"""Quotations: priced lines from the catalog on a customer, numbered per year, draft → sent → accepted /
rejected / expired (docs/sales.md, "Quotations").

Who may do what: ``sales.view`` within the ``sales`` scope of the quote's owner, ``quotes.create`` to quote a
customer one may see, ``sales.create`` to work one's own quotes, ``sales.edit`` for colleagues' in scope. Out of
scope is "not found", also for a forged button press. A discount over the owner's limit keeps the quote from the
customer until approved (crm/sales/discounts.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from crm.core.clock import Clock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.money import Money
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.model import Contact, Customer
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.sales.catalog import clean_amount
from crm.sales.discount_model import Discounted
from crm.sales.discounts import require_clearance
from crm.sales.events import QuoteAccepted
from crm.sales.ports import QuoteDocuments, SalesUnitOfWork
from crm.sales.prices import active_product, quote_in
from crm.sales.pricing import round_money
from crm.sales.quote_model import (
    MAX_LINES,
    VALID_DAYS,
    LineDraft,
    Quote,
    QuoteCard,
    QuoteDocument,
    QuoteLine,
    QuoteStatus,
    clean_discount,
    clean_quantity,
    named_in,
    quote_number,
)

QUOTE_KIND = "quote"

PAGE = 8
CUSTOMER_CARD_QUOTES = 5


async def visible_quote(uow: SalesUnitOfWork, actor: Actor | None, quote_id: int) -> Quote:
    """A live quote within the actor's ``sales`` scope (``actor`` None: unchecked); out of scope is "not found"."""
    quote = await uow.sales.quotes.get(quote_id)
    if quote is None:
        raise NotFound()
    if actor is not None:
        owner = await uow.organisation.staff.get(quote.owner_id)
        department = owner.department_id if owner is not None else None
        if not actor.scope_filter("sales").allows(quote.owner_id, department):
            raise NotFound()
    return quote


async def discounted(uow: SalesUnitOfWork, actor: Actor | None, quote_id: int) -> Discounted:
    """The quote as the discount approval machinery sees it (crm/sales/discounts.py)."""
    quote = await visible_quote(uow, actor, quote_id)
    customer = await uow.customers.customers.get(quote.customer_id, include_deleted=True)
    return Discounted(kind=QUOTE_KIND, subject_id=quote.id, owner_id=quote.owner_id, title=quote.number,
                      customer_name=customer.name if customer else "?",
                      total=Money(quote.totals.total, quote.currency), percent=quote.discount_percent,
                      sendable=quote.is_open)


@dataclass(frozen=True)
class QuoteRecipients:
    quote: Quote
    customer: Customer
    contacts: tuple[Contact, ...]


class QuoteDiscounts:
    """Quotes as a ``DiscountSubject``: approving or rejecting changes nothing on the quote itself — the approval
    row is what lets it be sent (``require_clearance``)."""

    kind = QUOTE_KIND

    async def describe(self, uow: Any, actor: Actor | None, subject_id: int) -> Discounted:
        return await discounted(uow, actor, subject_id)

    async def approved(self, uow: Any, actor: Actor, subject_id: int) -> None:
        return None

    async def rejected(self, uow: Any, actor: Actor, subject_id: int, reason: str) -> None:
        return None


class OpenQuotesSection:
    """The customer card's "open quotes" section (``CardSection``): drafts and sent quotes on the customer that
    the reader may see, newest first."""

    name = "quotes"

    async def read(self, uow: SalesUnitOfWork, actor: Actor, customer_id: int,
                   limit: int) -> Sequence[tuple[int, str, str, str]]:
        if not actor.can("sales.view"):
            return ()
        return await uow.sales.quotes.open_for(actor.scope_filter("sales"), customer_id, limit=limit)


def auditable(quote: Quote) -> dict[str, Any]:
    """JSON for the audit log: amounts as text, exactly as stored."""
    return {
        "number": quote.number, "customer_id": quote.customer_id, "currency": quote.currency,
        "status": quote.status.value, "order_discount": str(quote.order_discount),
        "valid_until": quote.valid_until.isoformat(), "total": str(quote.totals.total),
        "lines": [{"product_id": line.product_id, "sku": line.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "discount": str(line.discount),
                   "tax_rate": str(line.tax_rate)} for line in quote.lines],
    }


async def priced_lines(uow: SalesUnitOfWork, customer: Customer,
                       drafts: Sequence[LineDraft]) -> tuple[tuple[QuoteLine, ...], str]:
    """Lines priced for the customer, all in one currency (the first line's): a quote or an invoice never mixes
    them. Shared with the billing module, whose invoices typed in chat are priced exactly as quotations are."""
    if not drafts:
        raise ValidationFailed("sales.quote_error_empty")
    if len(drafts) > MAX_LINES:
        raise ValidationFailed("sales.quote_error_too_many", limit=MAX_LINES)
    lines: list[QuoteLine] = []
    currency: str | None = None
    for position, draft in enumerate(drafts):
        product = await active_product(uow, draft.product_id)
        currency = currency or product.currency
        if product.currency != currency:
            raise ValidationFailed("sales.quote_error_currency", sku=product.sku, currency=product.currency,
                                   quote_currency=currency)
        if draft.unit_price is None:
            unit = (await quote_in(uow, customer, product)).price.amount
        else:
            unit = round_money(replace(product.price, amount=clean_amount(draft.unit_price, "list_price"))).amount
        lines.append(QuoteLine(product_id=product.id, sku=product.sku, name=product.name,
                               name_zh_hant=product.name_zh_hant, name_zh_hans=product.name_zh_hans,
                               quantity=clean_quantity(draft.quantity), unit_price=unit,
                               discount=clean_discount(draft.discount), tax_rate=product.tax_rate,
                               position=position))
    assert currency is not None
    return tuple(lines), currency


class QuoteService:
    def __init__(self, uow: UnitOfWorkFactory[SalesUnitOfWork], clock: Clock, documents: QuoteDocuments, *,
                 prefix: str = "Q", company_name: str = "", company_address: Sequence[str] = ()) -> None:
        self._uow = uow
        self._clock = clock
        self._documents = documents
        self.prefix = prefix
        self._company = (company_name, tuple(company_address))

    async def preview(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                      order_discount: Decimal = Decimal(0), valid_until: date | None = None) -> Quote:
        """What ``create`` would save, priced now, saving nothing (the chat echoes it for one tap)."""
        actor.require("quotes.create")
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            customer = await visible_customer(uow, actor, customer_id)
            lines, currency = await priced_lines(uow, customer, drafts)
        return Quote(id=0, number="", customer_id=customer_id, owner_id=actor.staff_id, currency=currency,
                     status=QuoteStatus.DRAFT, order_discount=clean_discount(order_discount),
                     valid_until=self._valid_until(valid_until), created_at=now, updated_at=now, lines=lines)

    def _valid_until(self, valid_until: date | None) -> date:
        today = self._clock.now().date()
        if valid_until is None:
            return today + timedelta(days=VALID_DAYS)
        if valid_until < today:
            raise ValidationFailed("sales.quote_error_valid_until")
        return valid_until

    async def create(self, actor: Actor, customer_id: int, drafts: Sequence[LineDraft], *,
                     order_discount: Decimal = Decimal(0), valid_until: date | None = None) -> Quote:
        actor.require("quotes.create")
        now = self._clock.now()
        until = self._valid_until(valid_until)
        discount = clean_discount(order_discount)
        async with self._uow() as uow:
            customer = await visible_customer(uow, actor, customer_id)
            lines, currency = await priced_lines(uow, customer, drafts)
            sequence = await uow.sales.quotes.next_number(now.year)
            quote = await uow.sales.quotes.add(Quote(
                id=0, number=quote_number(self.prefix, now.year, sequence), customer_id=customer_id,
                owner_id=actor.staff_id, currency=currency, status=QuoteStatus.DRAFT, order_discount=discount,
                valid_until=until, created_at=now, updated_at=now, lines=lines))
            await audit.record(uow, actor.staff_id, "create", "quote", quote.id, {}, auditable(quote))
            await uow.commit()
        return quote

    async def _visible(self, uow: SalesUnitOfWork, actor: Actor, quote_id: int) -> Quote:
        return await visible_quote(uow, actor, quote_id)

    async def _changeable(self, uow: SalesUnitOfWork, actor: Actor, quote_id: int) -> Quote:
        if not (actor.can("sales.create") or actor.can("sales.edit")):
            raise PermissionDenied(operation="sales.edit")
        quote = await self._visible(uow, actor, quote_id)
        if quote.owner_id != actor.staff_id:
            actor.require("sales.edit")
        return quote

    async def get(self, actor: Actor, quote_id: int) -> Quote:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, quote_id)

    async def card(self, actor: Actor, quote_id: int) -> QuoteCard:
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            quote = await self._visible(uow, actor, quote_id)
            customer = await uow.customers.customers.get(quote.customer_id, include_deleted=True)
            owner = await uow.organisation.staff.get(quote.owner_id)
        return QuoteCard(quote, customer.name if customer else "?", owner.name if owner else "?")

    async def move(self, actor: Actor, quote_id: int, status: QuoteStatus) -> Quote:
        """Along draft → sent → accepted / rejected / expired; anything else is refused."""
        now = self._clock.now()
        async with self._uow() as uow:
            before = await self._changeable(uow, actor, quote_id)
            if not before.can_move(status):
                raise ValidationFailed("sales.quote_error_status")
            if status is QuoteStatus.SENT:
                await require_clearance(uow, await discounted(uow, actor, quote_id))
            changes: dict[str, Any] = {"status": status.value, "updated_at": now}
            if status is QuoteStatus.SENT:
                changes["sent_at"] = now
            await uow.sales.quotes.update(quote_id, **changes)
            await audit.record(uow, actor.staff_id, "move", "quote", quote_id, {"status": before.status.value},
                               {"status": status.value})
            after = await uow.sales.quotes.get(quote_id)
            if status is QuoteStatus.ACCEPTED:
                uow.record(QuoteAccepted(occurred_at=now, quote_id=quote_id, customer_id=before.customer_id,
                                         owner_id=before.owner_id, by_staff_id=actor.staff_id))
            await uow.commit()
        if after is None:
            raise NotFound()
        return after

    async def delete(self, actor: Actor, quote_id: int) -> None:
        """Soft; only a draft (a quote the customer has seen stays as a record of what was offered)."""
        now = self._clock.now()
        async with self._uow() as uow:
            quote = await self._changeable(uow, actor, quote_id)
            if quote.status is not QuoteStatus.DRAFT:
                raise ValidationFailed("sales.quote_error_status")
            await uow.sales.quotes.update(quote_id, deleted_at=now, updated_at=now)
            await audit.record(uow, actor.staff_id, "delete", "quote", quote_id, {"deleted_at": None},
                               {"deleted_at": now.isoformat()})
            await uow.commit()

    async def mine(self, actor: Actor, *, page: int = 0) -> tuple[Sequence[tuple[int, str, str, str]], bool]:
        return await self.listed(actor, page=page)

    async def listed(self, actor: Actor, *, team: bool = False,
                     page: int = 0) -> tuple[Sequence[tuple[int, str, str, str]], bool]:
        """(id, number, status, customer name), newest first: one's own, or (``team``) every quote in scope."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            rows = await uow.sales.quotes.listed(actor.scope_filter("sales"), None if team else actor.staff_id,
                                                 offset=max(page, 0) * PAGE, limit=PAGE + 1)
        return rows[:PAGE], len(rows) > PAGE

    async def of_customer(self, actor: Actor, customer_id: int, *, limit: int = 10) -> Sequence[Quote]:
        """The customer's quotes of any status the reader may see (their ``sales`` scope), newest first; a
        customer the reader may not see is "not found"."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await uow.sales.quotes.of_customer(actor.scope_filter("sales"), customer_id, limit=limit)

    async def recipients(self, actor: Actor, quote_id: int) -> QuoteRecipients:
        """Where the quote can go: the customer's and its contacts' e-mail addresses and numbers."""
        actor.require("sales.view")
        async with self._uow(write=False) as uow:
            quote = await self._visible(uow, actor, quote_id)
            customer = await visible_customer(uow, actor, quote.customer_id)
            contacts = await uow.customers.contacts.for_customer(quote.customer_id)
        return QuoteRecipients(quote, customer, tuple(c for c in contacts if c.deleted_at is None))

    async def sendable(self, actor: Actor, quote_id: int) -> Quote:
        """The quote, when it may go to the customer now: by someone who may work it, while it is open, and once
        its discount is within the owner's limit or approved."""
        async with self._uow(write=False) as uow:
            quote = await self._changeable(uow, actor, quote_id)
            if not quote.is_open:
                raise ValidationFailed("sales.quote_error_status")
            await require_clearance(uow, await discounted(uow, actor, quote_id))
        return quote

    async def for_customer(self, actor: Actor, quote_id: int, labels: Mapping[str, str]) -> tuple[str, bytes]:
        """The PDF to send to the customer (``sendable`` first)."""
        await self.sendable(actor, quote_id)
        return await self.pdf(actor, quote_id, labels)

    async def pdf(self, actor: Actor, quote_id: int, labels: Mapping[str, str]) -> tuple[str, bytes]:
        """The quote as a PDF (file name, bytes), with the company header; ``labels`` in the reader's language."""
        card = await self.card(actor, quote_id)
        quote = replace(card.quote, lines=named_in(card.quote.lines, actor.locale))  # the reader's language
        document = QuoteDocument(self._company[0], self._company[1], quote, card.customer_name,
                                 card.quote.created_at.date(), labels)
        return f"{card.quote.number}.pdf", self._documents.quote_pdf(document)
