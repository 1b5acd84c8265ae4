"""A new contract in chat: ``/contract`` asks step by step (customer search → title → value → start → end → a file
or Skip → the summary), ``/contract 台積電 維護合約 NT$120000 2027-01-01 to 2027-12-31`` goes straight to the summary.
Nothing is stored before ✅ Save on the summary (docs/input-flows.md); wrong input at any step is answered and the
step asked again.

Buttons: ktn:cu:<customer id>  ktn:skip  ktn:save  ktn:cancel
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Message, Update

from bot.context import CrmContext
from crm.contracts.contracts import MAX_FILE_BYTES, Attachment
from crm.contracts.line import parse_day, parse_line, parse_value
from crm.contracts.model import ContractFields
from crm.core.errors import DomainError, ValidationFailed
from crm.core.money import Money
from crm.customers.model import EntityKind
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond
from views.contracts.contracts import card_rows, card_text, money_text
from views.core.formatting import zone
from views.core.text import short

DRAFT_KEY = "contract_draft"
FLOW = "ktn"
STEPS = ("customer", "title", "value", "start", "end", "file", "review")
PICKS = 8


def now_local(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


def error_text(context: CrmContext, exc: DomainError) -> str:
    return context.t(exc.key, **exc.params)


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _fields(draft: dict[str, Any]) -> ContractFields:
    return ContractFields(customer_id=int(draft["customer_id"]), title=str(draft["title"]),
                          value=Decimal(str(draft["value"])), currency=str(draft["currency"]),
                          starts_on=date.fromisoformat(str(draft["starts_on"])),
                          ends_on=date.fromisoformat(str(draft["ends_on"])))


def _at(context: CrmContext, step: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == f"{FLOW}.{step}"


async def _ask(update: Update, context: CrmContext, step: str, note: str | None = None) -> None:
    """Ask the step's question (after ``note``, e.g. what was wrong with the last answer)."""
    draft = _draft(context)
    rows: Rows = []
    if step == "review":
        flow.ask(context, f"{FLOW}.review", expects="button", buttons=("ktn:",), owns=(DRAFT_KEY,))
        await _summary(update, context, draft, note)
        return
    if step == "file":
        rows = [[(context.t("contracts.btn_skip"), "ktn:skip"), (context.t("common.cancel"), "ktn:cancel")]]
    else:
        rows = [[(context.t("common.cancel"), "ktn:cancel")]]
    flow.ask(context, f"{FLOW}.{step}", buttons=("ktn:",), owns=(DRAFT_KEY,), document=step == "file")
    question = context.t(f"contracts.ask_{step}", customer=draft.get("customer_name", ""),
                         start=draft.get("starts_on", ""))
    await respond(update, context, f"{note}\n\n{question}" if note else question, rows, edit=False)


async def _summary(update: Update, context: CrmContext, draft: dict[str, Any], note: str | None) -> None:
    fields = _fields(draft)
    lines = [context.t("contracts.check"),
             context.t("contracts.card_customer", name=draft.get("customer_name", "")),
             context.t("contracts.check_title", title=fields.title),
             context.t("contracts.card_value", value=money_text(Money(fields.value, fields.currency))),
             context.t("contracts.card_term", start=fields.starts_on.isoformat(), end=fields.ends_on.isoformat()),
             context.t("contracts.check_file", name=draft.get("file_name") or context.t("contracts.none")),
             context.t("contracts.card_remind", days=fields.remind_days)]
    rows = [[(context.t("contracts.btn_save"), "ktn:save"), (context.t("common.cancel"), "ktn:cancel")]]
    text = "\n".join(lines)
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=False)


# ---- starting -----------------------------------------------------------------------------------------------

@require_actor("contracts.manage")
async def new_contract(update: Update, context: CrmContext) -> None:
    """``/contract`` alone: the guided flow; with words: the one-message form."""
    line = " ".join(context.args or []).strip()
    if not line:
        _keep(context, {})
        await _ask(update, context, "customer")
        return
    try:
        parsed = parse_line(line, now_local(context))
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("contracts.usage"))
        return
    draft: dict[str, Any] = {"title": parsed.title, "value": str(parsed.value),
                             "currency": parsed.currency or context.services.contracts.contracts.currency,
                             "starts_on": parsed.starts_on.isoformat(), "ends_on": parsed.ends_on.isoformat()}
    if parsed.ends_on < parsed.starts_on:
        await respond(update, context, context.t("contracts.error_end_before_start") + "\n"
                      + context.t("contracts.usage"))
        return
    _keep(context, draft)
    await _offer_customers(update, context, parsed.customer, then="review")


async def _offer_customers(update: Update, context: CrmContext, query: str, *, then: str) -> None:
    """The customers found for ``query`` as buttons (also a single one: a tap confirms who it is)."""
    page = await context.services.customers.customers.search(actor_of(context), query)
    hits = [h for h in page.hits if h.entity is EntityKind.CUSTOMER][:PICKS]
    draft = _draft(context)
    draft["then"] = then
    _keep(context, draft)
    flow.ask(context, f"{FLOW}.customer", buttons=("ktn:",), owns=(DRAFT_KEY,))
    cancel = [(context.t("common.cancel"), "ktn:cancel")]
    if not hits:
        await respond(update, context, context.t("contracts.no_customer", query=short(query, 60)), [cancel],
                      edit=False)
        return
    rows: Rows = [[(short(h.title, 48), f"ktn:cu:{h.id}")] for h in hits]
    await respond(update, context, context.t("contracts.pick_customer", query=short(query, 60)), [*rows, cancel],
                  edit=False)


# ---- the steps ----------------------------------------------------------------------------------------------

@flow.on_text(f"{FLOW}.customer")
@require_actor("contracts.manage")
async def typed_customer(update: Update, context: CrmContext) -> None:
    query = message_text(update).strip()
    if len(query) < 1:
        await _ask(update, context, "customer")
        return
    await _offer_customers(update, context, query, then=str(_draft(context).get("then") or "title"))


@require_actor("contracts.manage")
async def picked_customer(update: Update, context: CrmContext) -> None:
    if not _at(context, "customer"):
        raise DomainError("error.stale_button")
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    draft = _draft(context)
    draft |= {"customer_id": customer.id, "customer_name": customer.name}
    _keep(context, draft)
    await _ask(update, context, "review" if draft.get("then") == "review" and "ends_on" in draft else "title")


@flow.on_text(f"{FLOW}.title")
@require_actor("contracts.manage")
async def typed_title(update: Update, context: CrmContext) -> None:
    title = " ".join(message_text(update).split())
    if not title or len(title) > 200:
        await _ask(update, context, "title", context.t("contracts.error_title"))
        return
    draft = _draft(context) | {"title": title}
    _keep(context, draft)
    await _ask(update, context, "value")


@flow.on_text(f"{FLOW}.value")
@require_actor("contracts.manage")
async def typed_value(update: Update, context: CrmContext) -> None:
    try:
        value, currency = parse_value(message_text(update))
    except ValidationFailed as exc:
        await _ask(update, context, "value", error_text(context, exc))
        return
    draft = _draft(context) | {"value": str(value),
                               "currency": currency or context.services.contracts.contracts.currency}
    _keep(context, draft)
    await _ask(update, context, "start")


@flow.on_text(f"{FLOW}.start")
@require_actor("contracts.manage")
async def typed_start(update: Update, context: CrmContext) -> None:
    try:
        day = parse_day(message_text(update), now_local(context))
    except ValidationFailed as exc:
        await _ask(update, context, "start", error_text(context, exc))
        return
    _keep(context, _draft(context) | {"starts_on": day.isoformat()})
    await _ask(update, context, "end")


@flow.on_text(f"{FLOW}.end")
@require_actor("contracts.manage")
async def typed_end(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    try:
        day = parse_day(message_text(update), now_local(context))
    except ValidationFailed as exc:
        await _ask(update, context, "end", error_text(context, exc))
        return
    if day < date.fromisoformat(str(draft.get("starts_on"))):
        await _ask(update, context, "end", context.t("contracts.error_end_before_start"))
        return
    _keep(context, draft | {"ends_on": day.isoformat()})
    await _ask(update, context, "file")


def attachment_of(message: Message | None) -> tuple[str, str, int] | None:
    """(file id, name, size) of a document or photo, or None."""
    if message is None:
        return None
    if message.document is not None:
        doc = message.document
        return doc.file_id, doc.file_name or f"document-{doc.file_unique_id}", doc.file_size or 0
    if message.photo:
        photo = message.photo[-1]
        return photo.file_id, f"photo-{photo.file_unique_id}.jpg", photo.file_size or 0
    return None


def too_big(size: int) -> bool:
    return size > MAX_FILE_BYTES


@flow.on_text(f"{FLOW}.file")
@require_actor("contracts.manage")
async def typed_at_file(update: Update, context: CrmContext) -> None:
    """Text where a file is asked for: the file (a document sent) or Skip."""
    message = update.effective_message
    if message is not None and message.document is not None:
        await sent_file(update, context)
        return
    await _ask(update, context, "file", context.t("contracts.error_send_file"))


@flow.on_message(f"{FLOW}.file")
@require_actor("contracts.manage")
async def sent_file(update: Update, context: CrmContext) -> None:
    found = attachment_of(update.effective_message)
    if found is None:
        await _ask(update, context, "file", context.t("contracts.error_send_file"))
        return
    file_id, name, size = found
    if too_big(size):
        await _ask(update, context, "file", context.t("contracts.error_file_size",
                                                      limit=MAX_FILE_BYTES // (1024 * 1024)))
        return
    _keep(context, _draft(context) | {"file_id": file_id, "file_name": name[:120]})
    await _ask(update, context, "review")


@require_actor("contracts.manage")
async def skip_file(update: Update, context: CrmContext) -> None:
    if not _at(context, "file"):
        raise DomainError("error.stale_button")
    await _ask(update, context, "review")


@flow.on_stray(f"{FLOW}.review")
@require_actor("contracts.manage")
async def stray_at_review(update: Update, context: CrmContext) -> None:
    """Text while the summary waits: the summary again; the text is not the contract."""
    await _ask(update, context, "review", context.t("input.use_buttons"))


async def download(context: CrmContext, file_id: str, name: str) -> Attachment:
    telegram_file = await context.bot.get_file(file_id)
    if too_big(telegram_file.file_size or 0):
        raise ValidationFailed("contracts.error_file_size", limit=MAX_FILE_BYTES // (1024 * 1024))
    data = bytes(await telegram_file.download_as_bytearray())
    return Attachment(file_id, name, data)


@require_actor("contracts.manage")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, "review") or "customer_id" not in draft or "ends_on" not in draft:
        raise DomainError("error.stale_button")
    attachment = None
    if draft.get("file_id"):
        attachment = await download(context, str(draft["file_id"]), str(draft.get("file_name") or "file"))
    card = await context.services.contracts.contracts.create(actor_of(context), _fields(draft), attachment)
    flow.abandon(context)
    await respond(update, context, context.t("contracts.saved") + "\n\n" + card_text(context.t, card),
                  card_rows(context.t, card, manage=True))


@require_actor("contracts.manage")
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind.startswith(f"{FLOW}."):
        flow.abandon(context)
    await respond(update, context, context.t("contracts.cancelled"))
