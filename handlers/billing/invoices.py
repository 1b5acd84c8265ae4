"""Invoices in chat: ``/invoice 台積電 A-100 x3, B-20 x12`` echoed for one tap, or asked step by step (customer →
products and quantities → review with totals → due date, by default from the customer's payment terms →
confirm); the invoice's card with its PDF, "record payment" and void (with a typed reason); ``/receivables``;
what a customer owes on their card.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  bn:cust:<customer id>  bn:issue  bn:due  bn:cancel
  bi:open:<id>  bi:pdf:<id>  bi:void:<id>  bi:cust:<customer id>  bi:terms:<customer id>
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.billing.line import parse_invoice, parse_items, read_date
from crm.billing.model import Invoice, Owed
from crm.core.errors import DomainError, ValidationFailed
from crm.customers.model import EntityKind
from handlers.billing.common import customer_named, local_now, local_today, words
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond
from views.billing.billing import (
    PDF_LABELS,
    card_text,
    invoice_button,
    invoice_rows,
    lines_text,
    money,
    owed_text,
    payment_history_line,
    receivables_text,
    status_text,
)
from views.core.text import short

DRAFT_KEY = "invoice_draft"
KIND = "bn"  # steps: bn.customer, bn.items, bn.due (typed); bn.pick, bn.review (buttons)


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _items(draft: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return [(str(sku), Decimal(str(quantity))) for sku, quantity in draft.get("items", ())]


def _due(draft: dict[str, Any]) -> date | None:
    return date.fromisoformat(draft["due"]) if draft.get("due") else None


def _source(draft: dict[str, Any]) -> tuple[str, int] | None:
    source = draft.get("source")
    return (str(source[0]), int(source[1])) if isinstance(source, list) and len(source) == 2 else None


async def _preview(context: CrmContext, draft: dict[str, Any]) -> Invoice:
    service = context.services.billing.invoices
    actor = actor_of(context)
    if (source := _source(draft)) is not None:
        return await service.preview_from(actor, source[0], source[1], due_date=_due(draft))
    drafts = await service.drafts_for(actor, _items(draft))
    return await service.preview(actor, int(draft["customer_id"]), drafts, due_date=_due(draft))


async def _review(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """Show the invoice as it would be issued with Issue / Due date / Cancel; nothing is saved before the tap."""
    try:
        invoice = await _preview(context, draft)
    except ValidationFailed as exc:
        if _source(draft) is not None:  # an order with nothing (left) to invoice: said, nothing kept
            flow.abandon(context)
            await respond(update, context, context.t(exc.key, **exc.params), edit=False)
            return
        # Wrong items (unknown SKU, mixed currencies, a quantity out of range): ask for them again.
        _keep(context, {k: v for k, v in draft.items() if k != "items"})
        flow.ask(context, f"{KIND}.items", owns=(DRAFT_KEY,))
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.ask_items"),
                      edit=False)
        return
    _keep(context, draft)
    flow.ask(context, f"{KIND}.review", expects="button", buttons=("bn:",), owns=(DRAFT_KEY,))
    text = "\n".join([context.t("billing.check_invoice", name=words(draft["customer_name"])),
                      *lines_text(context.t, invoice, locale=context.locale),
                      context.t("billing.check_due", due=invoice.due_date.isoformat())])
    rows: Rows = [[(context.t("billing.btn_issue"), "bn:issue"), (context.t("billing.btn_due"), "bn:due")],
                  [(context.t("common.cancel"), "bn:cancel")]]
    await respond(update, context, text, rows, edit=False)


async def _ask_items(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _keep(context, draft)
    flow.ask(context, f"{KIND}.items", owns=(DRAFT_KEY,))
    await respond(update, context, context.t("billing.ask_items_for", name=words(draft["customer_name"])),
                  edit=False)


@require_actor("invoices.issue")
async def new_invoice(update: Update, context: CrmContext) -> None:
    """``/invoice 台積電 A-100 x3, B-20 x12 [due <date>]``; alone, the guided flow."""
    line = " ".join(context.args or []).strip()
    if not line:
        _keep(context, {})
        flow.ask(context, f"{KIND}.customer", owns=(DRAFT_KEY,))
        await respond(update, context, context.t("billing.ask_customer"))
        return
    source = await context.services.billing.invoices.find_source(actor_of(context), line)
    if source is not None:  # `/invoice O2026-0001`: what the order still has to invoice
        billable = await context.services.billing.invoices.billable(actor_of(context), *source)
        customer = await context.services.customers.customers.get(actor_of(context), billable.customer_id)
        await _review(update, context, {"source": [source[0], source[1]], "customer_id": billable.customer_id,
                                        "customer_name": customer.name, "items": [], "due": None})
        return
    try:
        parsed = parse_invoice(line, local_now(context))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.invoice_usage"))
        return
    found = await customer_named(context, parsed.customer)
    if len(found) != 1:
        await respond(update, context, context.t("billing.no_customer", name=words(parsed.customer)))
        return
    customer_id, name = found[0]
    await _review(update, context, {"customer_id": customer_id, "customer_name": name,
                                    "items": [[sku, str(quantity)] for sku, quantity in parsed.items],
                                    "due": parsed.due.isoformat() if parsed.due else None})


@flow.on_text(f"{KIND}.customer")
@require_actor("invoices.issue")
async def typed_customer(update: Update, context: CrmContext) -> None:
    name = message_text(update).strip()
    found = await customer_named(context, name, starting=True) if name else []
    if not found:
        await respond(update, context, context.t("billing.no_customer", name=words(name)) + "\n"
                      + context.t("billing.ask_customer"))
        return
    if len(found) == 1:
        await _ask_items(update, context, {"customer_id": found[0][0], "customer_name": found[0][1]})
        return
    flow.ask(context, f"{KIND}.pick", expects="button", buttons=("bn:",), owns=(DRAFT_KEY,))
    rows: Rows = [[(short(title, 48), f"bn:cust:{customer_id}")] for customer_id, title in found]
    await respond(update, context, context.t("billing.pick_customer"), rows, edit=False)


def _at(context: CrmContext, step: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == f"{KIND}.{step}"


@require_actor("invoices.issue")
async def picked_customer(update: Update, context: CrmContext) -> None:
    if not _at(context, "pick"):
        raise DomainError("error.stale_button")
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    await _ask_items(update, context, {"customer_id": customer.id, "customer_name": customer.name})


@flow.on_text(f"{KIND}.items")
@require_actor("invoices.issue")
async def typed_items(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if "customer_id" not in draft:
        flow.abandon(context)
        raise DomainError("error.stale_button")
    try:
        items = parse_items(message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.ask_items"))
        return
    await _review(update, context, {**draft, "items": [[sku, str(quantity)] for sku, quantity in items]})


@require_actor("invoices.issue")
async def ask_due(update: Update, context: CrmContext) -> None:
    if not _at(context, "review"):
        raise DomainError("error.stale_button")
    flow.ask(context, f"{KIND}.due", owns=(DRAFT_KEY,))
    await respond(update, context, context.t("billing.ask_due"), edit=False)


@flow.on_text(f"{KIND}.due")
@require_actor("invoices.issue")
async def typed_due(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    try:
        due = read_date(message_text(update), local_now(context))
        if due is None:
            raise ValidationFailed("billing.error_date", text="")
        if due < local_today(context):
            raise ValidationFailed("billing.error_due_date")
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.ask_due"))
        return
    await _review(update, context, {**draft, "due": due.isoformat()})


@flow.on_stray(f"{KIND}.review")
@require_actor("invoices.issue")
async def stray_review(update: Update, context: CrmContext) -> None:
    """Text while the review waits: show it again; the text is not the invoice."""
    draft = _draft(context)
    if "items" in draft:
        await _review(update, context, draft)


@require_actor("invoices.issue")
async def issue(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, "review") or "items" not in draft:
        raise DomainError("error.stale_button")
    service = context.services.billing.invoices
    actor = actor_of(context)
    if (source := _source(draft)) is not None:
        invoice = await service.issue_from(actor, source[0], source[1], due_date=_due(draft))
    else:
        drafts = await service.drafts_for(actor, _items(draft))
        invoice = await service.issue(actor, int(draft["customer_id"]), drafts, due_date=_due(draft))
    flow.abandon(context)
    await _show(update, context, invoice.id, context.t("billing.issued", number=invoice.number), edit=False)


@require_actor("invoices.issue")
async def cancel(update: Update, context: CrmContext) -> None:
    if flow.current(context) is not None and _draft(context):
        flow.abandon(context)
    await respond(update, context, context.t("billing.cancelled"))


# ---- the card ---------------------------------------------------------------------------------------------

async def _show(update: Update, context: CrmContext, invoice_id: int, note: str | None = None,
                edit: bool | None = None) -> None:
    actor = actor_of(context)
    card = await context.services.billing.invoices.card(actor, invoice_id)
    text = card_text(context.t, card, local_today(context), locale=context.locale)
    rows = invoice_rows(context.t, card.invoice, may_pay=actor.can("payments.record"),
                        may_void=actor.can("invoices.issue"))
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor("sales.view")
async def open_invoice(update: Update, context: CrmContext) -> None:
    await _show(update, context, arg(update, 0), edit=False)


@require_actor("sales.view")
async def pdf(update: Update, context: CrmContext) -> None:
    labels = {key: context.t(f"billing.pdf_{key}") for key in PDF_LABELS}
    name, data = await context.services.billing.invoices.pdf(actor_of(context), arg(update, 0), labels)
    await respond(update, context, context.t("billing.pdf_sent", number=name.removesuffix(".pdf")), edit=False)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_document(chat.id, document=data, filename=name)


@require_actor("invoices.issue")
async def ask_void(update: Update, context: CrmContext) -> None:
    invoice = await context.services.billing.invoices.get(actor_of(context), arg(update, 0))
    flow.ask(context, "bv.reason", invoice_id=invoice.id)
    await respond(update, context, context.t("billing.ask_void_reason", number=invoice.number), edit=False)


@flow.on_text("bv.reason")
@require_actor("invoices.issue")
async def typed_void_reason(update: Update, context: CrmContext) -> None:
    invoice_id = int(flow.pending(context).get("invoice_id", 0))
    try:
        invoice = await context.services.billing.invoices.void(actor_of(context), invoice_id, message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await _show(update, context, invoice.id, context.t("billing.voided"), edit=False)


@require_actor("sales.view")
async def customer_invoices(update: Update, context: CrmContext) -> None:
    """The customer's latest invoices, with their payment terms (changeable by holders of invoices.issue)."""
    actor = actor_of(context)
    customer_id = arg(update, 0)
    rows, _ = await context.services.billing.invoices.listed(actor, customer_id=customer_id)
    days = await context.services.billing.invoices.terms(actor, customer_id)
    buttons: Rows = [[invoice_button(invoice, name)] for invoice, name in rows]
    if actor.can("invoices.issue"):
        buttons.append([(context.t("billing.btn_terms", days=days), f"bi:terms:{customer_id}")])
    title = context.t("billing.invoices_title") if rows else context.t("billing.invoices_none")
    await respond(update, context, title + "\n" + context.t("billing.terms_now", days=days), buttons, edit=False)


@require_actor("invoices.issue")
async def ask_terms(update: Update, context: CrmContext) -> None:
    customer_id = arg(update, 0)
    days = await context.services.billing.invoices.terms(actor_of(context), customer_id)
    flow.ask(context, "bt.days", customer_id=customer_id)
    await respond(update, context, context.t("billing.ask_terms", days=days), edit=False)


@flow.on_text("bt.days")
@require_actor("invoices.issue")
async def typed_terms(update: Update, context: CrmContext) -> None:
    customer_id = int(flow.pending(context).get("customer_id", 0))
    try:
        days = await context.services.billing.invoices.set_terms(actor_of(context), customer_id,
                                                                 message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await respond(update, context, context.t("billing.terms_set", days=days))


# ---- receivables and the customer card ---------------------------------------------------------------------

@require_actor("sales.view")
async def receivables(update: Update, context: CrmContext) -> None:
    view = await context.services.billing.receivables.aging(actor_of(context))
    await respond(update, context, receivables_text(context.t, view))


def card_section(context: CrmContext, items: Sequence[Any]) -> str:
    owed = [item for item in items if isinstance(item, Owed)]
    return owed_text(context.t, owed)


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    actor = context.actor
    if kind != EntityKind.CUSTOMER.value or actor is None or not actor.can("sales.view"):
        return None
    return (context.t("billing.btn_invoices"), f"bi:cust:{record_id}")




async def history_entries(context: CrmContext, customer_id: int) -> list[tuple[datetime, str]]:
    """The customer's invoices and payments in their history (handlers/customers/card_extras.py)."""
    actor = context.actor
    if actor is None or not actor.can("sales.view"):
        return []
    listed, _ = await context.services.billing.invoices.listed(actor, customer_id=customer_id)
    payments = await context.services.billing.payments.of_customer(actor, customer_id)
    today = local_now(context).date()
    return [*((invoice.created_at, context.t("billing.history_line", date=invoice.issue_date.isoformat(),
                                             number=invoice.number, status=status_text(context.t, invoice, today),
                                             amount=money(invoice.total, invoice.currency)))
              for invoice, _ in listed),
            *((payment.created_at, payment_history_line(context.t, payment)) for payment in payments)]
