"""Expenses in chat: ``/expense 350 taxi @台積電 yesterday`` (or a receipt photo with that caption) echoed for
one tap, the approver's push with Approve / Reject (a rejection asks its reason), ``/approvals`` and
``/expenses``.

``#name`` picks a project: one open project named so is taken, none gets a clear reply, several are offered as
buttons. The submitter's own card has Edit and Delete until the expense is approved (the service refuses both
after). A receipt photo is also copied under DATA_DIR once the expense is saved.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  exn:save  exn:cancel  exn:prj:<project id>  ex:open:<id>  ex:ok:<id>  ex:no:<id>  ex:rcpt:<id>
  ex:month:<0|1>  ex:edit:<id>  ex:ef:<id>:<field>  ex:ec:<id>:<category id>  ex:del:<id>  ex:delok:<id>

The approver's and the submitter's messages are pushes (``outbound.telegram_send.deliver``) sent right after the
change committed. The decision itself is durable (expense row + audit row); a push that does not arrive is logged
and the person still finds everything under /approvals or /expenses.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.money import Money
from crm.core.natural_dates import parse_when
from crm.customers.model import EntityKind
from crm.expenses.line import amount_of as _amount_of
from crm.expenses.line import parse_line
from crm.expenses.model import Category, ExpenseCard, ExpenseFields, Status
from crm.organisation.model import Staff
from crm.organisation.permissions import Scope
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, respond, word
from handlers.fields import asking
from handlers.fields import values as field_values
from outbound.telegram_send import Button, Outcome, deliver
from views.core.formatting import zone
from views.expenses.budgets import tell_alert, translator_of
from views.expenses.expenses import (
    approval_request,
    card_text,
    decide_rows,
    expense_button,
    money_text,
    month_text,
    outcome,
)

log = logging.getLogger(__name__)
MAX_RECEIPT_BYTES = 10 * 1024 * 1024  # as storage/expenses/receipts.py: not even downloaded when larger

DRAFT_KEY = "expense_draft"
CONFIRM = "exn.confirm"
KIND = "expense"  # its custom fields (handlers/fields)
REASON = "exr.reason"
EDIT = "exe.value"
EDIT_FIELDS = {"a": "amount", "d": "spent_on", "n": "note"}  # typed answers; the category is picked by buttons


def _now(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


def _error(context: CrmContext, exc: DomainError) -> str:
    return context.t(exc.key, **exc.params)


# ---- a new expense ----------------------------------------------------------------------------------------

def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _fields(draft: dict[str, Any]) -> ExpenseFields:
    customer = draft.get("customer_id")
    return ExpenseFields(amount=Decimal(str(draft["amount"])), currency=str(draft["currency"]),
                         category_id=int(draft["category_id"]), spent_on=date.fromisoformat(str(draft["spent_on"])),
                         note=draft.get("note") or None, customer_id=int(customer) if customer else None,
                         receipt_file_id=draft.get("receipt") or None,
                         project_id=int(draft["project_id"]) if draft.get("project_id") else None)


async def _confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """Show what was understood with Save / Cancel; nothing is stored before the tap."""
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    flow.ask(context, CONFIRM, expects="button", buttons=("exn:",), owns=(DRAFT_KEY,))
    fields = _fields(draft)
    none = context.t("expenses.none")
    lines = [context.t("expenses.check"),
             context.t("expenses.check_amount", amount=money_text(Money(fields.amount, fields.currency))),
             context.t("expenses.check_category", category=draft["category_name"]),
             context.t("expenses.check_date", date=fields.spent_on.isoformat()),
             context.t("expenses.check_customer", name=draft.get("customer_name") or none),
             context.t("expenses.check_project", name=draft.get("project_name") or none),
             context.t("expenses.check_note", note=fields.note or none)]
    if fields.receipt_file_id:
        lines.append(context.t("expenses.card_receipt"))
    lines += await asking.summary_lines(context, KIND, draft)
    rows = [[(context.t("expenses.btn_save"), "exn:save"), (context.t("common.cancel"), "exn:cancel")]]
    await respond(update, context, "\n".join(lines), rows, edit=False)


async def _customer(context: CrmContext, name: str) -> tuple[int, str] | None:
    found = await context.services.customers.customers.named(actor_of(context), [name])
    customers = [h for h in found.get(name, ()) if h.entity is EntityKind.CUSTOMER]
    return (customers[0].id, customers[0].title) if len(customers) == 1 else None


async def _from_line(update: Update, context: CrmContext, line: str, receipt: str | None) -> None:
    if not line.strip():
        await respond(update, context, context.t("expenses.usage"))
        return
    service = context.services.expenses.expenses
    categories = await service.categories(actor_of(context))
    try:
        line, typed = await asking.take_line(context, KIND, line)  # `label=value` parts: custom fields
        parsed = parse_line(line, _now(context), categories)
    except DomainError as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("expenses.usage"))
        return
    category: Category | None = parsed.category or next((c for c in categories if c.key == "other"), None)
    if category is None:
        await respond(update, context, context.t("expenses.error_category"))
        return
    draft: dict[str, Any] = {
        "amount": str(parsed.amount), "currency": parsed.currency or service.currency, "category_id": category.id,
        "category_name": category.display_name(context.locale), "spent_on": parsed.spent_on.isoformat(),
        "note": parsed.note, "receipt": receipt, **typed}
    if parsed.customer:
        customer = await _customer(context, parsed.customer)
        if customer is None:
            await respond(update, context, context.t("expenses.no_customer", name=parsed.customer))
            return
        draft["customer_id"], draft["customer_name"] = customer
    if parsed.project:
        projects = await context.services.expenses.projects.matching(actor_of(context), parsed.project)
        if not projects:
            await respond(update, context, context.t("expenses.no_project", name=parsed.project))
            return
        if len(projects) > 1:
            await _pick_project(update, context, draft, [(p.id, p.name) for p in projects])
            return
        draft["project_id"], draft["project_name"] = projects[0].id, projects[0].name
    await _fields_then_confirm(update, context, draft)


async def _fields_then_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """The custom fields not answered yet (a required one always), then the summary."""
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    if not await asking.next_question(update, context, KIND, DRAFT_KEY, "exn"):
        await _confirm(update, context, draft)


@asking.resumes("exn")
async def _fields_asked(update: Update, context: CrmContext) -> None:
    await _confirm(update, context, _draft(context))


async def _pick_project(update: Update, context: CrmContext, draft: dict[str, Any],
                        choices: list[tuple[int, str]]) -> None:
    """Several projects match ``#name``: the person taps one (typed text is not a pick)."""
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    flow.ask(context, CONFIRM, step="project", expects="button", buttons=("exn:",), owns=(DRAFT_KEY,))
    rows: Rows = [[(name, f"exn:prj:{project_id}")] for project_id, name in choices]
    rows.append([(context.t("common.cancel"), "exn:cancel")])
    await respond(update, context, context.t("expenses.pick_project"), rows, edit=False)


@require_actor("expenses.create")
async def picked_project(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at_confirm(context) or "amount" not in draft:
        raise DomainError("error.stale_button")
    project = await context.services.expenses.projects.open_project(actor_of(context), arg(update, 0))
    draft["project_id"], draft["project_name"] = project.id, project.name
    await _fields_then_confirm(update, context, draft)


@require_actor("expenses.create")
async def new_expense(update: Update, context: CrmContext) -> None:
    """``/expense 350 taxi @台積電 yesterday``; alone, how to use it."""
    await _from_line(update, context, " ".join(context.args or []), None)


@require_actor("expenses.create")
async def receipt_photo(update: Update, context: CrmContext) -> None:
    """A photo captioned ``/expense …``: the same form, with the photo as the receipt."""
    message = update.effective_message
    if message is None or not message.photo:
        return
    caption = (message.caption or "").split(maxsplit=1)
    await _from_line(update, context, caption[1] if len(caption) > 1 else "", message.photo[-1].file_id)


def _at_confirm(context: CrmContext) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == CONFIRM


async def _push(context: CrmContext, person: Staff | None, render: Any) -> None:
    """A message to a colleague in their language; one that does not arrive is logged (module docstring)."""
    if person is None or person.telegram_user_id is None or not person.active:
        return
    locale = person.locale or context.settings.default_locale

    def t(key: str, /, **params: Any) -> str:
        return context.i18n.t(locale, key, **params)

    text, rows = render(t, locale)
    delivery = await deliver(context.bot, person.telegram_user_id, text, rows)
    if delivery.outcome is not Outcome.SENT:
        log.warning("could not tell staff %s about an expense: %s", person.id, delivery.error)


@require_actor("expenses.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    waiting = flow.current(context)
    if not _at_confirm(context) or "amount" not in draft or (waiting is not None and waiting.step == "project"):
        raise DomainError("error.stale_button")
    try:
        submitted = await context.services.expenses.expenses.create(actor_of(context), _fields(draft),
                                                                    await asking.answers(context, KIND, draft))
    except ValidationFailed as exc:  # a field became required meanwhile: ask it
        if exc.key != "fields.required":
            raise
        await respond(update, context, context.t(exc.key, **exc.params), edit=False)
        await _fields_then_confirm(update, context, {**draft, "cf_asked": list(draft.get("cf") or {})})
        return
    flow.abandon(context)
    card = submitted.card
    if card.expense.receipt_file_id:
        await _keep_receipt(context, card.expense.id, card.expense.receipt_file_id)
    note = context.t("expenses.saved", count=len(submitted.approvers)) if submitted.approvers \
        else context.t("expenses.saved_no_approver")
    await respond(update, context, note + "\n\n" + _card_text(context, card), _fields_row(context, card))
    for approver in submitted.approvers:
        await _push(context, approver, lambda t, locale: approval_request(t, locale, card))


async def _keep_receipt(context: CrmContext, expense_id: int, file_id: str) -> None:
    """The receipt's copy under DATA_DIR; the expense stands without it (Telegram keeps the photo too)."""
    try:
        file = await context.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > MAX_RECEIPT_BYTES:
            raise ValidationFailed("expenses.error_receipt_size")
        data = bytes(await file.download_as_bytearray())
        await context.services.expenses.expenses.keep_receipt(actor_of(context), expense_id, data)
    except Exception:  # the photo stays reachable by its file id
        log.warning("could not keep a copy of the receipt of expense %s", expense_id, exc_info=True)


@require_actor("expenses.create")
async def cancel(update: Update, context: CrmContext) -> None:
    if _at_confirm(context):
        flow.abandon(context)
    await respond(update, context, context.t("expenses.cancelled"))


@flow.on_stray(CONFIRM)
@require_actor("expenses.create")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the summary waits: show the summary again; the text is not the expense."""
    draft = _draft(context)
    waiting = flow.current(context)
    if waiting is not None and waiting.step == "project":
        await respond(update, context, context.t("expenses.pick_project"))
        return
    if "amount" in draft:
        await _confirm(update, context, draft)


# ---- the card and the approval ------------------------------------------------------------------------------

def _may_decide(context: CrmContext, card: ExpenseCard) -> bool:
    actor = actor_of(context)
    return (card.expense.status is Status.SUBMITTED and actor.can("expenses.approve")
            and card.expense.staff_id != actor.staff_id)


async def _show(update: Update, context: CrmContext, card: ExpenseCard, note: str | None = None,
                edit: bool | None = None) -> None:
    rows: Rows = decide_rows(context.t, card.expense.id) if _may_decide(context, card) else []
    if card.expense.receipt_file_id:
        rows.append([(context.t("expenses.btn_receipt"), f"ex:rcpt:{card.expense.id}")])
    actor = actor_of(context)
    if card.expense.staff_id == actor.staff_id and not card.expense.locked and actor.can("expenses.create"):
        rows.append([(context.t("expenses.btn_edit"), f"ex:edit:{card.expense.id}"),
                     (context.t("expenses.btn_delete"), f"ex:del:{card.expense.id}")])
    rows += _fields_row(context, card)
    text = _card_text(context, card)
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


def _card_text(context: CrmContext, card: ExpenseCard) -> str:
    text = card_text(context.t, context.locale, card)
    return text + "\n" + field_values.render_section(context, card.custom) if card.custom else text


def _fields_row(context: CrmContext, card: ExpenseCard) -> Rows:
    button = field_values.section_button(context, KIND, card.expense.id)
    return [[button]] if button else []


@require_actor()
async def open_expense(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.expenses.card(actor_of(context), arg(update, 0))
    await _show(update, context, card, edit=False)


@require_actor()
async def receipt(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.expenses.card(actor_of(context), arg(update, 0))
    chat = update.effective_chat
    await respond(update, context, context.t("expenses.receipt_of", amount=money_text(card.expense.money)),
                  edit=False)
    if chat is not None and card.expense.receipt_file_id:
        await context.bot.send_photo(chat.id, card.expense.receipt_file_id)


@require_actor("expenses.approve")
async def approve(update: Update, context: CrmContext) -> None:
    decided = await context.services.expenses.expenses.approve(actor_of(context), arg(update, 0))
    await _show(update, context, decided.card, context.t("expenses.approved_note"))
    await _push(context, decided.submitter, lambda t, locale: (outcome(t, locale, decided.card),
                                                               [[expense_button(locale, decided.card)]]))
    for alert_id in decided.alerts:  # written with the approval; the alert job retries what does not arrive
        await tell_alert(context.services.expenses.budgets, context.bot, translator_of(context.i18n),
                         context.settings.default_locale, alert_id)


@require_actor("expenses.approve")
async def reject(update: Update, context: CrmContext) -> None:
    """Ask for the reason first; the expense is rejected when it is typed."""
    card = await context.services.expenses.expenses.to_decide(actor_of(context), arg(update, 0))
    flow.ask(context, REASON, expense_id=card.expense.id)
    await respond(update, context, context.t("expenses.ask_reason", amount=money_text(card.expense.money),
                                             name=card.staff_name), edit=False)


@flow.on_text(REASON)
@require_actor("expenses.approve")
async def typed_reason(update: Update, context: CrmContext) -> None:
    expense_id = int(flow.pending(context).get("expense_id", 0))
    try:
        decided = await context.services.expenses.expenses.reject(actor_of(context), expense_id,
                                                                  message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("expenses.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await _show(update, context, decided.card, context.t("expenses.rejected_note"), edit=False)
    await _push(context, decided.submitter, lambda t, locale: (outcome(t, locale, decided.card),
                                                               [[expense_button(locale, decided.card)]]))


# ---- lists --------------------------------------------------------------------------------------------------

@require_actor("expenses.approve")
async def approvals(update: Update, context: CrmContext) -> None:
    pending = await context.services.expenses.expenses.pending(actor_of(context))
    if not pending:
        await respond(update, context, context.t("expenses.approvals_none"))
        return
    rows: list[list[Button]] = [[expense_button(context.locale, card, who=True)] for card in pending]
    await respond(update, context, context.t("expenses.approvals_title", count=len(pending)), rows)


def _has_team(context: CrmContext) -> bool:
    return actor_of(context).scope("expenses") is not Scope.OWN


async def _month(update: Update, context: CrmContext, team: bool) -> None:
    team = team and _has_team(context)
    actor = actor_of(context)
    if not (actor.can("expenses.create") or actor.can("expenses.approve")):
        raise NotFound()
    view = await context.services.expenses.expenses.month(actor, team=team)
    rows: list[list[Button]] = [[expense_button(context.locale, card, who=team)] for card in view.items[:20]]
    if _has_team(context):
        rows.append([(context.t("expenses.btn_mine" if team else "expenses.btn_team"), f"ex:month:{int(not team)}")])
    await respond(update, context, month_text(context.t, view), rows)


@require_actor()
async def month(update: Update, context: CrmContext) -> None:
    await _month(update, context, team=False)


@require_actor()
async def month_team(update: Update, context: CrmContext) -> None:
    await _month(update, context, team=arg(update, 0) == 1)


# ---- edit and delete before approval ------------------------------------------------------------------------

@require_actor("expenses.create")
async def edit_menu(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.expenses.card(actor_of(context), arg(update, 0))
    if card.expense.staff_id != actor_of(context).staff_id:
        raise NotFound()
    if card.expense.locked:
        raise DomainError("expenses.error_locked")
    e = card.expense.id
    rows: Rows = [[(context.t("expenses.field_amount"), f"ex:ef:{e}:a"),
                   (context.t("expenses.field_date"), f"ex:ef:{e}:d")],
                  [(context.t("expenses.field_note"), f"ex:ef:{e}:n"),
                   (context.t("expenses.field_category"), f"ex:ef:{e}:c")],
                  [(context.t("expenses.btn_back"), f"ex:open:{e}")]]
    await respond(update, context, context.t("expenses.edit_title") + "\n\n" +
                  card_text(context.t, context.locale, card), rows)


@require_actor("expenses.create")
async def edit_field(update: Update, context: CrmContext) -> None:
    expense_id, code = arg(update, 0), word(update, 1)
    card = await context.services.expenses.expenses.card(actor_of(context), expense_id)
    if card.expense.staff_id != actor_of(context).staff_id:
        raise NotFound()
    if card.expense.locked:
        raise DomainError("expenses.error_locked")
    if code == "c":
        categories = await context.services.expenses.expenses.categories(actor_of(context))
        buttons = [(c.display_name(context.locale), f"ex:ec:{expense_id}:{c.id}") for c in categories]
        await respond(update, context, context.t("expenses.ask_category"), grid(buttons, 2))
        return
    if code not in EDIT_FIELDS:
        raise DomainError("error.stale_button")
    flow.ask(context, EDIT, expense_id=expense_id, field=EDIT_FIELDS[code])
    await respond(update, context, context.t(f"expenses.ask_{EDIT_FIELDS[code]}"), edit=False)


@flow.on_text(EDIT)
@require_actor("expenses.create")
async def typed_value(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    expense_id, field = int(pending.get("expense_id", 0)), str(pending.get("field", ""))
    text = message_text(update).strip()
    change: dict[str, Any]
    try:
        if field == "amount":
            parsed = _amount_of(text)
            if parsed is None:
                raise ValidationFailed("expenses.error_amount")
            change = {"amount": parsed[0]} | ({"currency": parsed[1]} if parsed[1] else {})
        elif field == "spent_on":
            when = parse_when(text, _now(context))
            if when is None:
                raise ValidationFailed("expenses.error_date")
            change = {"spent_on": when.at.date()}
        else:
            change = {"note": text}
        card = await context.services.expenses.expenses.update(actor_of(context), expense_id, change)
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("expenses.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await _show(update, context, card, context.t("expenses.edited_note"), edit=False)


@require_actor("expenses.create")
async def edit_category(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.expenses.update(actor_of(context), arg(update, 0),
                                                           {"category_id": arg(update, 1)})
    await _show(update, context, card, context.t("expenses.edited_note"))


@require_actor("expenses.create")
async def delete_ask(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.expenses.card(actor_of(context), arg(update, 0))
    if card.expense.staff_id != actor_of(context).staff_id:
        raise NotFound()
    if card.expense.locked:
        raise DomainError("expenses.error_locked")
    e = card.expense.id
    await respond(update, context, context.t("expenses.delete_ask", amount=money_text(card.expense.money)),
                  [[(context.t("expenses.btn_delete"), f"ex:delok:{e}"),
                    (context.t("expenses.btn_back"), f"ex:open:{e}")]])


@require_actor("expenses.create")
async def delete_ok(update: Update, context: CrmContext) -> None:
    expense_id = arg(update, 0)
    await context.services.expenses.expenses.delete(actor_of(context), expense_id)
    await respond(update, context, context.t("expenses.deleted_note"),
                  [[(context.t("expenses.btn_restore"), f"ex:undel:{expense_id}")]])


@require_actor("expenses.create")
async def restore(update: Update, context: CrmContext) -> None:
    """♻️ on the deletion note: the service checks it is the presser's own deleted expense."""
    card = await context.services.expenses.expenses.restore(actor_of(context), arg(update, 0))
    await _show(update, context, card, context.t("expenses.restored_note"))
