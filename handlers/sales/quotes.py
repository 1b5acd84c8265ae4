"""The quote card and what is done from it: ``/quotes``, the PDF to the rep, the PDF to the customer by e-mail or
fax (through the messaging outbox), Mark sent / Accepted / Rejected, deleting a draft, asking for discount
approval; and the customer card's open quotes.

Buttons (ids only; every press reads the quote again through the service, which checks permission and scope):
  qt:open:<id>  qt:card:<id>  qt:pdf:<id>  qt:sent:<id>  qt:acc:<id>  qt:accok:<id>  qt:rej:<id>  qt:del:<id>
  qt:delok:<id>  qt:ask:<id>  qt:em:<id>  qt:emto:<id>:<c|k>:<record>  qt:emgo:<id>:<c|k>:<record>
  qt:fx:<id>  qt:fxto:<id>:<index>  qt:fxgo:<id>  ql:list:<team 0|1>:<page>
A fax number typed by the rep is kept in the flow's data, not in a button, and confirmed with one tap.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.customers.model import EntityKind
from crm.messaging.messaging import SendKind
from crm.organisation.permissions import Scope
from crm.sales.discounts import Clearance, Standing
from crm.sales.quote_model import QuoteCard, QuoteStatus
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import EntityScreen, Rows, arg, page_row, respond, word
from handlers.sales.discounts import ask_approvers
from handlers.sales.views import error_text
from views.core.text import short
from views.sales.quotes import (
    history_line,
    open_quotes_text,
    pdf_labels,
    quote_body,
    quote_button,
    standing_text,
    status_text,
)

FAX_NUMBER = "qf.number"
FAX_CONFIRM = "qf.confirm"
CARD_QUOTES = 5
_KINDS = {"c": SendKind.CUSTOMER, "k": SendKind.CONTACT}


@dataclass(frozen=True)
class Shown:
    card: QuoteCard
    standing: Standing


def _may_change(context: CrmContext, owner_id: int) -> bool:
    actor = actor_of(context)
    return actor.can("sales.edit") or (owner_id == actor.staff_id and actor.can("sales.create"))


async def _load(context: CrmContext, quote_id: int) -> Shown:
    actor = actor_of(context)
    card = await context.services.sales.quotes.card(actor, quote_id)
    standing = await context.services.sales.discounts.standing(actor, "quote", quote_id)
    return Shown(card, standing)


def _render(context: CrmContext, shown: Shown) -> tuple[str, Rows]:
    t, quote = context.t, shown.card.quote
    lines = [t("sales.quote_card_title", number=quote.number),
             t("sales.quote_card_customer", name=shown.card.customer_name),
             t("sales.quote_card_status", status=status_text(t, quote.status)),
             t("sales.quote_card_owner", name=shown.card.owner_name),
             t("sales.quote_card_valid_until", date=quote.valid_until.isoformat()), "",
             *quote_body(t, quote, locale=context.locale)]
    if quote.discount_percent or shown.standing.clearance is not Clearance.WITHIN:
        lines += ["", standing_text(t, shown.standing)]
    rows: Rows = [[(t("sales.btn_quote_pdf"), f"qt:pdf:{quote.id}")]]
    if _may_change(context, quote.owner_id) and quote.is_open:
        if shown.standing.clearance.may_send:
            rows.append([(t("sales.btn_quote_email"), f"qt:em:{quote.id}"),
                         (t("sales.btn_quote_fax"), f"qt:fx:{quote.id}")])
        else:
            key = "sales.btn_discount_remind" if shown.standing.clearance is Clearance.PENDING \
                else "sales.btn_discount_ask"
            rows.append([(t(key), f"qt:ask:{quote.id}")])
        if quote.status is QuoteStatus.DRAFT:
            row: list[Button] = [(t("sales.btn_quote_delete"), f"qt:del:{quote.id}")]
            if shown.standing.clearance.may_send:
                row.insert(0, (t("sales.btn_quote_mark_sent"), f"qt:sent:{quote.id}"))
            rows.append(row)
        else:
            rows.append([(t("sales.btn_quote_accepted"), f"qt:acc:{quote.id}"),
                         (t("sales.btn_quote_rejected"), f"qt:rej:{quote.id}")])
    rows.append([(short(f"🏢 {shown.card.customer_name}", 40), f"cu:open:{quote.customer_id}")])
    return "\n".join(lines), rows


QUOTE = EntityScreen("qt", _load, _render)
open_quote = require_actor("sales.view")(QUOTE.open)
quote_card = require_actor("sales.view")(QUOTE.card)


# ---- the PDF to the rep ------------------------------------------------------------------------------------

@require_actor("sales.view")
async def pdf(update: Update, context: CrmContext) -> None:
    """The quote as a PDF document in this chat, labelled in the reader's language."""
    name, payload = await context.services.sales.quotes.pdf(actor_of(context), arg(update, 0),
                                                            pdf_labels(context.t))
    await respond(update, context, context.t("sales.quote_pdf_sent", name=name), edit=False)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_document(chat.id, payload, filename=name)


# ---- status ------------------------------------------------------------------------------------------------

async def _move(update: Update, context: CrmContext, status: QuoteStatus, note: str) -> None:
    quote_id = arg(update, 0)
    await context.services.sales.quotes.move(actor_of(context), quote_id, status)
    await QUOTE.show(update, context, quote_id, note=context.t(note))


@require_actor("sales.view")
async def mark_sent(update: Update, context: CrmContext) -> None:
    await _move(update, context, QuoteStatus.SENT, "sales.quote_marked_sent")


@require_actor("sales.view")
async def accepted(update: Update, context: CrmContext) -> None:
    """Accepting makes an order (another module listens): one confirming tap first."""
    shown = await _load(context, arg(update, 0))
    quote = shown.card.quote
    if not _may_change(context, quote.owner_id):
        raise NotFound()
    rows = [[(context.t("sales.btn_quote_accept_yes"), f"qt:accok:{quote.id}"),
             (context.t("common.cancel"), f"qt:card:{quote.id}")]]
    await respond(update, context, context.t("sales.quote_confirm_accept", number=quote.number,
                                             customer=shown.card.customer_name), rows)


@require_actor("sales.view")
async def accepted_confirmed(update: Update, context: CrmContext) -> None:
    await _move(update, context, QuoteStatus.ACCEPTED, "sales.quote_marked_accepted")


@require_actor("sales.view")
async def rejected(update: Update, context: CrmContext) -> None:
    await _move(update, context, QuoteStatus.REJECTED, "sales.quote_marked_rejected")


@require_actor("sales.view")
async def delete(update: Update, context: CrmContext) -> None:
    shown = await _load(context, arg(update, 0))
    quote = shown.card.quote
    if not _may_change(context, quote.owner_id):
        raise NotFound()
    rows = [[(context.t("common.yes_delete"), f"qt:delok:{quote.id}"),
             (context.t("common.cancel"), f"qt:card:{quote.id}")]]
    await respond(update, context, context.t("sales.quote_confirm_delete", number=quote.number), rows)


@require_actor("sales.view")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    quote_id = arg(update, 0)
    card = await context.services.sales.quotes.card(actor_of(context), quote_id)
    await context.services.sales.quotes.delete(actor_of(context), quote_id)
    await respond(update, context, context.t("sales.quote_deleted", number=card.quote.number))


# ---- discount approval -------------------------------------------------------------------------------------

async def request_approval(update: Update, context: CrmContext, quote_id: int, *, edit: bool | None = None) -> None:
    requested = await context.services.sales.discounts.request(actor_of(context), "quote", quote_id)
    note = await ask_approvers(context, requested)
    await QUOTE.show(update, context, quote_id, note=note, edit=edit)


@require_actor("sales.view")
async def ask(update: Update, context: CrmContext) -> None:
    await request_approval(update, context, arg(update, 0))


# ---- e-mail to the customer --------------------------------------------------------------------------------

def _letter(kind: SendKind) -> str:
    return "c" if kind is SendKind.CUSTOMER else "k"


@require_actor("sales.view")
async def email(update: Update, context: CrmContext) -> None:
    quote_id = arg(update, 0)
    await context.services.sales.quotes.sendable(actor_of(context), quote_id)
    people = await context.services.sales.quote_sending.addressees(actor_of(context), quote_id)
    back = (context.t("common.back"), f"qt:card:{quote_id}")
    if not people:
        await respond(update, context, context.t("sales.quote_no_email"), [[back]])
        return
    rows: Rows = [[(short(f"✉️ {p.name} <{p.email}>", 60), f"qt:emto:{quote_id}:{_letter(p.kind)}:{p.id}")]
                  for p in people]
    rows.append([back])
    await respond(update, context, context.t("sales.quote_pick_email"), rows)


def _addressee(update: Update) -> tuple[int, SendKind, int]:
    kind = _KINDS.get(word(update, 1))
    if kind is None:
        raise DomainError("error.stale_button")
    return arg(update, 0), kind, arg(update, 2)


@require_actor("sales.view")
async def email_to(update: Update, context: CrmContext) -> None:
    quote_id, kind, record_id = _addressee(update)
    actor = actor_of(context)
    people = await context.services.sales.quote_sending.addressees(actor, quote_id)
    person = next((p for p in people if p.kind is kind and p.id == record_id), None)
    if person is None:
        raise NotFound()
    card = await context.services.sales.quotes.card(actor, quote_id)
    rows = [[(context.t("sales.btn_send"), f"qt:emgo:{quote_id}:{_letter(kind)}:{record_id}"),
             (context.t("common.cancel"), f"qt:card:{quote_id}")]]
    await respond(update, context, context.t("sales.quote_confirm_email", number=card.quote.number,
                                             name=person.name, email=person.email), rows)


def _press_key(update: Update, prefix: str) -> str:
    """The same confirming message pressed twice queues one message (the outbox's idempotency key)."""
    query = update.callback_query
    message = query.message if query is not None else None
    return f"{prefix}-{message.message_id if message is not None else 0}"


@require_actor("sales.view")
async def email_go(update: Update, context: CrmContext) -> None:
    quote_id, kind, record_id = _addressee(update)
    actor = actor_of(context)
    card = await context.services.sales.quotes.card(actor, quote_id)
    quote = card.quote
    t = context.t
    subject = t("sales.quote_email_subject", number=quote.number, company=context.settings.company_name or "")
    body = t("sales.quote_email_body", customer=card.customer_name, number=quote.number,
             total=str(quote.totals.money(quote.totals.total)), date=quote.valid_until.isoformat(),
             sender=actor.name)
    await context.services.sales.quote_sending.email(
        actor, quote_id, kind, record_id, labels=pdf_labels(t), subject=html.unescape(subject).strip(),
        body=html.unescape(body),
        draft_key=_press_key(update, f"q{quote_id}{_letter(kind)}{record_id}"))
    await QUOTE.show(update, context, quote_id, note=t("sales.quote_emailed"))


# ---- fax to the customer -----------------------------------------------------------------------------------

@require_actor("sales.view")
async def fax(update: Update, context: CrmContext) -> None:
    quote_id = arg(update, 0)
    actor = actor_of(context)
    await context.services.sales.quotes.sendable(actor, quote_id)
    numbers = await context.services.sales.quote_sending.fax_numbers(actor, quote_id)
    rows: Rows = [[(f"📠 {number}", f"qt:fxto:{quote_id}:{index}")] for index, number in enumerate(numbers)]
    rows.append([(context.t("common.cancel"), f"qt:card:{quote_id}")])
    flow.ask(context, FAX_NUMBER, buttons=("qt:",), quote_id=quote_id)
    await respond(update, context, context.t("sales.quote_ask_fax"), rows)


async def _confirm_fax(update: Update, context: CrmContext, quote_id: int, number: str) -> None:
    card = await context.services.sales.quotes.card(actor_of(context), quote_id)
    flow.ask(context, FAX_CONFIRM, expects="button", buttons=("qt:",), quote_id=quote_id, number=number)
    rows = [[(context.t("sales.btn_send"), f"qt:fxgo:{quote_id}"), (context.t("common.cancel"), f"qt:card:{quote_id}")]]
    await respond(update, context, context.t("sales.quote_confirm_fax", number=card.quote.number, to=number), rows,
                  edit=update.callback_query is not None)


@require_actor("sales.view")
async def fax_to(update: Update, context: CrmContext) -> None:
    quote_id, index = arg(update, 0), arg(update, 1)
    numbers = await context.services.sales.quote_sending.fax_numbers(actor_of(context), quote_id)
    if index >= len(numbers):
        raise DomainError("error.stale_button")
    number = context.services.messaging.messaging.fax_number(numbers[index])
    await _confirm_fax(update, context, quote_id, number)


@flow.on_text(FAX_NUMBER)
@require_actor("sales.view")
async def typed_fax(update: Update, context: CrmContext) -> None:
    quote_id = int(flow.pending(context).get("quote_id", 0))
    try:
        number = context.services.messaging.messaging.fax_number(message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    await _confirm_fax(update, context, quote_id, number)


@require_actor("sales.view")
async def fax_go(update: Update, context: CrmContext) -> None:
    quote_id = arg(update, 0)
    waiting = flow.current(context)
    pending = flow.pending(context)
    if waiting is None or waiting.kind != FAX_CONFIRM or int(pending.get("quote_id", 0)) != quote_id:
        raise DomainError("error.stale_button")
    card = await context.services.sales.quotes.card(actor_of(context), quote_id)
    cover = context.t("sales.quote_fax_cover", number=card.quote.number, customer=card.customer_name)
    await context.services.sales.quote_sending.fax(actor_of(context), quote_id, str(pending.get("number", "")),
                                                   labels=pdf_labels(context.t), cover=cover,
                                                   draft_key=_press_key(update, f"q{quote_id}fax"))
    flow.end(context)
    await QUOTE.show(update, context, quote_id, note=context.t("sales.quote_faxed", to=str(pending.get("number"))))


@flow.on_stray(FAX_CONFIRM)
@require_actor("sales.view")
async def stray_fax(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    await _confirm_fax(update, context, int(pending.get("quote_id", 0)), str(pending.get("number", "")))


# ---- lists -------------------------------------------------------------------------------------------------

def _has_team(context: CrmContext) -> bool:
    return actor_of(context).scope("sales") is not Scope.OWN


async def _list(update: Update, context: CrmContext, team: bool, page: int) -> None:
    team = team and _has_team(context)
    items, more = await context.services.sales.quotes.listed(actor_of(context), team=team, page=page)
    t = context.t
    if not items and page == 0:
        text = t("sales.quotes_none_team" if team else "sales.quotes_none")
    else:
        text = t("sales.quotes_title_team" if team else "sales.quotes_title", page=page + 1)
    rows: Rows = [[quote_button(*item)] for item in items]
    rows.append(page_row(lambda p: f"ql:list:{int(team)}:{p}", page, more))
    if _has_team(context):
        rows.append([(t("sales.btn_quotes_mine" if team else "sales.btn_quotes_team"), f"ql:list:{int(not team)}:0")])
    await respond(update, context, text, [row for row in rows if row])


@require_actor("sales.view")
async def quotes(update: Update, context: CrmContext) -> None:
    await _list(update, context, team=False, page=0)


@require_actor("sales.view")
async def quotes_page(update: Update, context: CrmContext) -> None:
    await _list(update, context, team=arg(update, 0) == 1, page=arg(update, 1))


# ---- the customer card -------------------------------------------------------------------------------------

def card_section(context: CrmContext, items: Sequence[Any]) -> str:
    return open_quotes_text(context.t, items)


async def history_entries(context: CrmContext, customer_id: int) -> list[tuple[datetime, str]]:
    """The customer's quotes in their history (handlers/customers/card_extras.py)."""
    actor = context.actor
    if actor is None or not actor.can("sales.view"):
        return []
    quotes = await context.services.sales.quotes.of_customer(actor, customer_id)
    return [(quote.created_at, history_line(context.t, quote)) for quote in quotes]


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    """The customer card's "📝 Quote": the guided flow for this customer."""
    if kind != EntityKind.CUSTOMER.value or not actor_of(context).can("quotes.create"):
        return None
    return (context.t("sales.btn_new_quote"), f"qn:for:{record_id}")

