"""Payments in chat: ``/payment 台積電 NT$50000 transfer`` echoed with where it goes (the oldest invoices first)
for one tap, or asked step by step (customer → amount and date → method → check); "record payment" on an invoice
starts the same flow for that invoice. The invoices can be chosen with buttons instead; a payment can be
reversed with a typed reason.

Buttons (ids only; every press reads again through the service):
  bp:cust:<customer id>  bp:m:<method index>  bp:inv:<invoice id>  bp:done  bp:choose  bp:save  bp:cancel
  bi:pay:<invoice id>  bp:rev:<payment id>
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.billing.line import parse_amount, parse_payment, read_date
from crm.billing.model import PaymentDraft, PaymentMethod
from crm.core.errors import DomainError, ValidationFailed
from handlers.billing.common import customer_named, local_now, local_today, words
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond
from views.billing.billing import money, payment_line
from views.core.text import short

DRAFT_KEY = "payment_draft"
KIND = "bp"  # steps: bp.customer, bp.amount (typed); bp.pick, bp.method, bp.choose, bp.review (buttons)
METHODS = tuple(PaymentMethod)


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _at(context: CrmContext, *steps: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind in {f"{KIND}.{step}" for step in steps}


def _as_draft(draft: dict[str, Any]) -> PaymentDraft:
    return PaymentDraft(customer_id=int(draft["customer_id"]), amount=Decimal(str(draft["amount"])),
                        currency=str(draft["currency"]), method=PaymentMethod(draft["method"]),
                        received_on=date.fromisoformat(str(draft["received_on"])),
                        reference=draft.get("reference") or None,
                        invoice_ids=tuple(int(i) for i in draft.get("invoice_ids", ())))


async def _currency(context: CrmContext, customer_id: int) -> str:
    """A payment typed without a currency is in the currency of the customer's oldest open invoice."""
    open_ = await context.services.billing.payments.open_invoices(actor_of(context), customer_id)
    return open_[0].currency if open_ else context.settings.default_currency


async def _next(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """Ask what is still missing, else show the check screen."""
    _keep(context, draft)
    if "amount" not in draft:
        flow.ask(context, f"{KIND}.amount", owns=(DRAFT_KEY,))
        await respond(update, context, context.t("billing.ask_amount", name=words(draft["customer_name"])),
                      edit=False)
        return
    if not draft.get("method"):
        flow.ask(context, f"{KIND}.method", expects="button", buttons=("bp:",), owns=(DRAFT_KEY,))
        rows: Rows = [[(context.t(f"billing.method_{m.value}"), f"bp:m:{n}") for n, m in enumerate(METHODS)]]
        await respond(update, context, context.t("billing.ask_method"), rows, edit=False)
        return
    await _review(update, context, draft)


async def _review(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    try:
        allocations = await context.services.billing.payments.preview(actor_of(context), _as_draft(draft))
    except ValidationFailed as exc:
        # Too much for what is open, nothing open, a bad date: say so and ask for the amount again.
        _keep(context, {k: v for k, v in draft.items() if k not in ("amount", "invoice_ids")})
        flow.ask(context, f"{KIND}.amount", owns=(DRAFT_KEY,))
        await respond(update, context, context.t(exc.key, **exc.params) + "\n"
                      + context.t("billing.ask_amount", name=words(draft["customer_name"])), edit=False)
        return
    _keep(context, draft)
    flow.ask(context, f"{KIND}.review", expects="button", buttons=("bp:",), owns=(DRAFT_KEY,))
    currency = str(draft["currency"])
    lines = [context.t("billing.check_payment", name=words(draft["customer_name"]),
                       amount=money(Decimal(str(draft["amount"])), currency),
                       method=context.t(f"billing.method_{draft['method']}"), date=draft["received_on"]),
             *(context.t("billing.check_allocation", number=a.number, amount=money(a.amount, currency))
               for a in allocations)]
    if draft.get("reference"):
        lines.append(context.t("billing.check_reference", reference=words(draft["reference"])))
    rows: Rows = [[(context.t("billing.btn_save"), "bp:save"), (context.t("billing.btn_choose"), "bp:choose")],
                  [(context.t("common.cancel"), "bp:cancel")]]
    await respond(update, context, "\n".join(lines), rows, edit=False)


@require_actor("payments.record")
async def new_payment(update: Update, context: CrmContext) -> None:
    """``/payment 台積電 NT$50000 transfer [date] [#reference]``; alone, the guided flow."""
    line = " ".join(context.args or []).strip()
    if not line:
        _keep(context, {})
        flow.ask(context, f"{KIND}.customer", owns=(DRAFT_KEY,))
        await respond(update, context, context.t("billing.ask_customer"))
        return
    try:
        parsed = parse_payment(line, local_now(context))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.payment_usage"))
        return
    found = await customer_named(context, parsed.customer)
    if len(found) != 1:
        await respond(update, context, context.t("billing.no_customer", name=words(parsed.customer)))
        return
    customer_id, name = found[0]
    await _next(update, context, {
        "customer_id": customer_id, "customer_name": name, "amount": str(parsed.amount),
        "currency": parsed.currency or await _currency(context, customer_id),
        "method": parsed.method.value if parsed.method else None,
        "received_on": (parsed.received_on or local_today(context)).isoformat(), "reference": parsed.reference})


@require_actor("payments.record")
async def pay_invoice(update: Update, context: CrmContext) -> None:
    """"Record payment" on an invoice (its card or the overdue push): the flow for that one invoice."""
    invoice = await context.services.billing.invoices.get(actor_of(context), arg(update, 0))
    if not invoice.is_open:
        raise DomainError("billing.error_not_open")
    customer = await context.services.customers.customers.get(actor_of(context), invoice.customer_id)
    await _next(update, context, {"customer_id": customer.id, "customer_name": customer.name,
                                  "currency": invoice.currency, "invoice_ids": [invoice.id],
                                  "received_on": local_today(context).isoformat(),
                                  "outstanding": str(invoice.outstanding)})


@flow.on_text(f"{KIND}.customer")
@require_actor("payments.record")
async def typed_customer(update: Update, context: CrmContext) -> None:
    name = message_text(update).strip()
    found = await customer_named(context, name, starting=True)
    if not found:
        await respond(update, context, context.t("billing.no_customer", name=words(name)) + "\n"
                      + context.t("billing.ask_customer"))
        return
    if len(found) == 1:
        await _start_for(update, context, *found[0])
        return
    flow.ask(context, f"{KIND}.pick", expects="button", buttons=("bp:",), owns=(DRAFT_KEY,))
    rows: Rows = [[(short(title, 48), f"bp:cust:{customer_id}")] for customer_id, title in found]
    await respond(update, context, context.t("billing.pick_customer"), rows, edit=False)


async def _start_for(update: Update, context: CrmContext, customer_id: int, name: str) -> None:
    await _next(update, context, {"customer_id": customer_id, "customer_name": name,
                                  "currency": await _currency(context, customer_id),
                                  "received_on": local_today(context).isoformat()})


@require_actor("payments.record")
async def picked_customer(update: Update, context: CrmContext) -> None:
    if not _at(context, "pick"):
        raise DomainError("error.stale_button")
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    await _start_for(update, context, customer.id, customer.name)


@flow.on_text(f"{KIND}.amount")
@require_actor("payments.record")
async def typed_amount(update: Update, context: CrmContext) -> None:
    """``50000`` or ``50,000 yesterday``: the amount, optionally the day it was received."""
    draft = _draft(context)
    if "customer_id" not in draft:
        flow.abandon(context)
        raise DomainError("error.stale_button")
    first, _, rest = message_text(update).strip().partition(" ")
    try:
        amount, currency = parse_amount(first)
        received = read_date(rest, local_now(context))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n"
                      + context.t("billing.ask_amount", name=words(draft["customer_name"])))
        return
    if currency is not None and currency != draft["currency"]:
        await respond(update, context, context.t("billing.error_currency", currency=draft["currency"]))
        return
    draft["amount"] = str(amount)
    if received is not None:
        draft["received_on"] = received.isoformat()
    await _next(update, context, draft)


@require_actor("payments.record")
async def picked_method(update: Update, context: CrmContext) -> None:
    index = arg(update, 0)
    if not _at(context, "method") or index >= len(METHODS):
        raise DomainError("error.stale_button")
    await _next(update, context, {**_draft(context), "method": METHODS[index].value})


@require_actor("payments.record")
async def choose(update: Update, context: CrmContext) -> None:
    """The customer's open invoices in the payment's currency as toggles; Done shows the check again."""
    if not _at(context, "review", "choose"):
        raise DomainError("error.stale_button")
    draft = _draft(context)
    await _choices(update, context, draft)


async def _choices(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    chosen = {int(i) for i in draft.get("invoice_ids", ())}
    open_ = await context.services.billing.payments.open_invoices(actor_of(context), int(draft["customer_id"]))
    rows: Rows = [[(("☑️ " if invoice.id in chosen else "▫️ ")
                    + f"{invoice.number} · {money(invoice.outstanding, invoice.currency)}", f"bp:inv:{invoice.id}")]
                  for invoice in open_[:20] if invoice.currency == draft["currency"]]
    rows.append([(context.t("billing.btn_done"), "bp:done")])
    flow.ask(context, f"{KIND}.choose", expects="button", buttons=("bp:",), owns=(DRAFT_KEY,))
    await respond(update, context, context.t("billing.choose_invoices"), rows, edit=True)


@require_actor("payments.record")
async def toggle(update: Update, context: CrmContext) -> None:
    if not _at(context, "choose"):
        raise DomainError("error.stale_button")
    draft = _draft(context)
    invoice = await context.services.billing.invoices.get(actor_of(context), arg(update, 0))
    if invoice.customer_id != int(draft["customer_id"]) or not invoice.is_open:
        raise DomainError("error.stale_button")
    chosen = [int(i) for i in draft.get("invoice_ids", ())]
    draft["invoice_ids"] = [i for i in chosen if i != invoice.id] if invoice.id in chosen else [*chosen, invoice.id]
    _keep(context, draft)
    await _choices(update, context, draft)


@require_actor("payments.record")
async def done(update: Update, context: CrmContext) -> None:
    if not _at(context, "choose"):
        raise DomainError("error.stale_button")
    await _review(update, context, _draft(context))


@flow.on_stray(f"{KIND}.review")
@require_actor("payments.record")
async def stray_review(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if "amount" in draft:
        await _review(update, context, draft)


@require_actor("payments.record")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, "review") or "amount" not in draft:
        raise DomainError("error.stale_button")
    payment = await context.services.billing.payments.record(actor_of(context), _as_draft(draft))
    flow.abandon(context)
    lines = [context.t("billing.payment_saved", amount=money(payment.amount, payment.currency)),
             *(context.t("billing.check_allocation", number=a.number, amount=money(a.amount, payment.currency))
               for a in payment.allocations)]
    rows: Rows = [[(a.number, f"bi:open:{a.invoice_id}") for a in payment.allocations[:3]],
                  [(context.t("billing.btn_reverse"), f"bp:rev:{payment.id}")]]
    await respond(update, context, "\n".join(lines), rows, edit=False)


@require_actor("payments.record")
async def cancel(update: Update, context: CrmContext) -> None:
    if flow.current(context) is not None and _draft(context):
        flow.abandon(context)
    await respond(update, context, context.t("billing.cancelled"))


@require_actor("payments.record")
async def ask_reverse(update: Update, context: CrmContext) -> None:
    payment = await context.services.billing.payments.get(actor_of(context), arg(update, 0))
    flow.ask(context, "bx.reason", payment_id=payment.id)
    await respond(update, context, context.t("billing.ask_reverse_reason", line=payment_line(context.t, payment)),
                  edit=False)


@flow.on_text("bx.reason")
@require_actor("payments.record")
async def typed_reverse_reason(update: Update, context: CrmContext) -> None:
    payment_id = int(flow.pending(context).get("payment_id", 0))
    try:
        payment = await context.services.billing.payments.reverse(actor_of(context), payment_id,
                                                                  message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("billing.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await respond(update, context, context.t("billing.reversed", line=payment_line(context.t, payment)))
