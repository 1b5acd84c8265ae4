"""A quote to the customer by e-mail or fax: the PDF through the messaging outbox (docs/messaging.md), then the
quote marked sent. Nothing goes out for a quote whose discount still needs approval (``QuoteService.for_customer``).

The outbox row is written by ``MessagingService`` (its permission, channel and address checks, its audit entry);
a draft is then moved to sent. The two are separate transactions: if the second fails the e-mail is already
queued and the quote stays a draft, which "Mark sent" fixes — the opposite order could mark a quote sent that
never left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.core.errors import NotFound
from crm.messaging.messaging import MessagingService, SendKind
from crm.messaging.outbox import OutboxMessage
from crm.organisation.permissions import Actor
from crm.sales.quote_model import QuoteStatus
from crm.sales.quotes import QuoteService

PDF = "application/pdf"


@dataclass(frozen=True)
class Addressee:
    """Someone the quote can be e-mailed to: the customer itself or one of its contacts."""

    kind: SendKind
    id: int
    name: str
    email: str


class QuoteSending:
    def __init__(self, quotes: QuoteService, messaging: MessagingService) -> None:
        self._quotes = quotes
        self._messaging = messaging

    async def addressees(self, actor: Actor, quote_id: int) -> tuple[Addressee, ...]:
        found = await self._quotes.recipients(actor, quote_id)
        people = [Addressee(SendKind.CUSTOMER, found.customer.id, found.customer.name, found.customer.email)
                  ] if found.customer.email else []
        people += [Addressee(SendKind.CONTACT, c.id, c.name, c.email) for c in found.contacts if c.email]
        return tuple(people)

    async def fax_numbers(self, actor: Actor, quote_id: int) -> tuple[str, ...]:
        """The customer's and its contacts' numbers, any of which may be the fax."""
        found = await self._quotes.recipients(actor, quote_id)
        numbers = [*found.customer.phones, *(p for c in found.contacts for p in c.phones)]
        return tuple(dict.fromkeys(numbers))

    async def _mark_sent(self, actor: Actor, quote_id: int) -> None:
        quote = await self._quotes.get(actor, quote_id)
        if quote.status is QuoteStatus.DRAFT:
            await self._quotes.move(actor, quote_id, QuoteStatus.SENT)

    async def email(self, actor: Actor, quote_id: int, kind: SendKind | str, record_id: int, *,
                    labels: Mapping[str, str], subject: str, body: str, draft_key: str) -> OutboxMessage:
        """To the customer or one of its contacts (by id: anyone else is "not found")."""
        people = await self.addressees(actor, quote_id)
        if not any(p.kind == SendKind(kind) and p.id == record_id for p in people):
            raise NotFound()
        name, pdf = await self._quotes.for_customer(actor, quote_id, labels)
        message = await self._messaging.send_email(actor, kind, record_id, subject=subject, body=body,
                                                    attachments=((name, PDF, pdf),), draft_key=draft_key)
        await self._mark_sent(actor, quote_id)
        return message

    async def fax(self, actor: Actor, quote_id: int, number: str, *, labels: Mapping[str, str], cover: str,
                  draft_key: str) -> OutboxMessage:
        to = self._messaging.fax_number(number)
        name, pdf = await self._quotes.for_customer(actor, quote_id, labels)
        customer_id = (await self._quotes.get(actor, quote_id)).customer_id
        message = await self._messaging.send_fax(actor, SendKind.CUSTOMER, customer_id, to=to,
                                                 document=(name, PDF, pdf), cover_text=cover, draft_key=draft_key)
        await self._mark_sent(actor, quote_id)
        return message
