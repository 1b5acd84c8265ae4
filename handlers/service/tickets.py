"""Service tickets in chat: ``/ticket <customer> <text>`` (or the customer card's 🛠 Ticket button) echoed for one
tap, with severity buttons and pick buttons when the customer is ambiguous; ``/tickets`` (mine / my team's, breached
first); the ticket card with status moves, customer updates and internal notes (each echoed before it is saved or
sent) and assignment.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  tkn:save  tkn:cancel  tkn:sev:<i>  tkn:pick:<customer id>  tkn:c:<customer id>
  tk:open:<id>  tk:mv:<id>:<status i>  tk:upd:<id>  tk:note:<id>  tk:asg:<id>  tk:to:<id>:<staff id>  tk:list:<0|1>
  tk:att:<id>  tk:prod:<id>  tk:pp:<id>:<product id|0>  tk:ord:<id>  tk:po:<id>:<order id|0>  tke:send  tke:cancel
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.customers.model import EntityKind, SearchHit
from crm.organisation.permissions import Scope
from crm.service.model import EntryKind, Severity, Status, TicketCard
from crm.service.report import period_days
from crm.service.tickets import clean_text, order_numbers_in, sku_of
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import arg, respond
from handlers.fields import asking
from handlers.fields import values as field_values
from handlers.service import card_extras
from outbound.telegram_send import Outcome, deliver
from views.core.text import short
from views.service.tickets import card_rows, card_text, listing_text, report_text, severity_text, ticket_button

log = logging.getLogger(__name__)

DRAFT_KEY = "ticket_draft"
ENTRY_KEY = "ticket_entry"
CONFIRM = "tkn.confirm"
PICK = "tkn.pick"
TYPED = "tkn.text"
ENTRY = "tke.text"
ENTRY_CONFIRM = "tke.confirm"
ATTACH = "tka.file"
PRODUCT = "tkp.text"
SEVERITIES = tuple(Severity)
STATUSES = tuple(Status)
PICK_LIMIT = 8
KIND = "ticket"  # its custom fields (handlers/fields)


def _draft(context: CrmContext, key: str = DRAFT_KEY) -> dict[str, Any]:
    data = context.user_data.get(key) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _at(context: CrmContext, kind: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == kind


# ---- a new ticket ---------------------------------------------------------------------------------------------

async def _confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """What was understood, with severity buttons and Save / Cancel; nothing is stored before the tap."""
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    flow.ask(context, CONFIRM, expects="button", buttons=("tkn:",), owns=(DRAFT_KEY,))
    severity = Severity(draft["severity"])
    lines = [context.t("service.check"), context.t("service.check_customer", name=draft["customer_name"]),
             context.t("service.check_severity", severity=severity_text(context.t, severity))]
    if draft.get("product_label"):
        lines.append(context.t("service.check_product", product=draft["product_label"]))
    if draft.get("order_number"):
        lines.append(context.t("service.check_order", number=draft["order_number"]))
    lines += await asking.summary_lines(context, KIND, draft)
    text = "\n".join([*lines, context.t("service.check_text", text=draft["text"])])
    severities = [(("• " if s is severity else "") + severity_text(context.t, s), f"tkn:sev:{i}")
                  for i, s in enumerate(SEVERITIES)]
    rows = [severities[:2], severities[2:],
            [(context.t("service.btn_save"), "tkn:save"), (context.t("common.cancel"), "tkn:cancel")]]
    await respond(update, context, text, rows, edit=False)


def _label(hit: SearchHit) -> str:
    """Two customers may share a name: the subtitle (or the id) tells the pick buttons apart."""
    return f"{hit.title} · {hit.subtitle}" if hit.subtitle else f"{hit.title} #{hit.id}"


async def _candidates(context: CrmContext, words: list[str]) -> tuple[list[tuple[int, str]], str]:
    """Customers the leading words name, longest name first: (matches, the rest of the text)."""
    customers = context.services.customers.customers
    actor = actor_of(context)
    for cut in range(len(words) - 1, 0, -1):
        name = " ".join(words[:cut])
        found = await customers.named(actor, [name])
        hits = [(h.id, _label(h)) for h in found.get(name, ()) if h.entity is EntityKind.CUSTOMER]
        if hits:
            return hits[:PICK_LIMIT], " ".join(words[cut:])
    page = await customers.search(actor, words[0])
    hits = [(h.id, _label(h)) for h in page.hits if h.entity is EntityKind.CUSTOMER]
    return hits[:PICK_LIMIT], " ".join(words[1:])


async def _with_references(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """The customer is known: read what ``sku:`` and an order number name for that customer, then the summary.
    A SKU not in the catalog or another customer's order is said plainly and nothing waits."""
    try:
        refs = await context.services.service.tickets.references(
            actor_of(context), int(draft["customer_id"]), draft.pop("sku", None), draft.pop("orders", None) or ())
    except ValidationFailed as exc:
        flow.abandon(context)
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("service.usage"),
                      edit=False)
        return
    await _fields_then_confirm(update, context, {
        **draft, "product_id": refs.product_id, "product_label": refs.product_label, "order_id": refs.order_id,
        "order_number": refs.order_number})


async def _fields_then_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """The custom fields not answered yet (a required one always), then the summary."""
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    if not await asking.next_question(update, context, KIND, DRAFT_KEY, "tkn"):
        await _confirm(update, context, draft)


@asking.resumes("tkn")
async def _fields_asked(update: Update, context: CrmContext) -> None:
    await _confirm(update, context, _draft(context))


@require_actor("tickets.create")
async def new_ticket(update: Update, context: CrmContext) -> None:
    """``/ticket 台積電 冷氣不冷``; alone, how to use it."""
    words = (" ".join(context.args or [])).split()
    if len(words) < 2:
        await respond(update, context, context.t("service.usage"))
        return
    hits, rest = await _candidates(context, words)
    sku, rest = sku_of(rest)
    try:
        rest, typed = await asking.take_line(context, KIND, rest)  # `label=value` parts: custom fields
        text = clean_text(rest)
    except ValidationFailed:
        await respond(update, context, context.t("service.usage"))
        return
    except DomainError as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("service.usage"))
        return
    if not hits:
        await respond(update, context, context.t("service.no_customer", name=words[0]) + "\n"
                      + context.t("service.usage"))
        return
    draft = {"text": text, "severity": Severity.NORMAL.value, "sku": sku, "orders": order_numbers_in(text), **typed}
    if len(hits) == 1:
        await _with_references(update, context, {**draft, "customer_id": hits[0][0], "customer_name": hits[0][1]})
        return
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = {**draft, "choices": {str(i): name for i, name in hits}}
    flow.ask(context, PICK, expects="button", buttons=("tkn:",), owns=(DRAFT_KEY,))
    rows: list[list[Button]] = [[(short(name, 48), f"tkn:pick:{i}")] for i, name in hits]
    rows.append([(context.t("common.cancel"), "tkn:cancel")])
    await respond(update, context, context.t("service.pick_customer"), rows, edit=False)


@require_actor("tickets.create")
async def pick(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    choices = draft.get("choices") or {}
    chosen = str(arg(update, 0))
    if not _at(context, PICK) or chosen not in choices:
        raise DomainError("error.stale_button")
    draft.pop("choices")
    await _with_references(update, context, {**draft, "customer_id": int(chosen), "customer_name": choices[chosen]})


@require_actor("tickets.create")
async def severity(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    index = arg(update, 0)
    if not _at(context, CONFIRM) or "customer_id" not in draft or not 0 <= index < len(SEVERITIES):
        raise DomainError("error.stale_button")
    await _confirm(update, context, {**draft, "severity": SEVERITIES[index].value})


@require_actor("tickets.create")
async def from_card(update: Update, context: CrmContext) -> None:
    """The customer card's 🛠 Ticket: ask what is wrong."""
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    flow.ask(context, TYPED, customer_id=customer.id, customer_name=customer.name)
    await respond(update, context, context.t("service.ask_text", name=customer.name), edit=False)


@flow.on_text(TYPED)
@require_actor("tickets.create")
async def typed_text(update: Update, context: CrmContext) -> None:
    waiting = flow.pending(context)
    try:
        text = clean_text(message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("service.try_again"))
        return
    await _fields_then_confirm(update, context, {
        "customer_id": int(waiting.get("customer_id", 0)), "text": text,
        "customer_name": str(waiting.get("customer_name", "")), "severity": Severity.NORMAL.value})


@require_actor("tickets.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, CONFIRM) or "customer_id" not in draft:
        raise DomainError("error.stale_button")
    try:
        told = await context.services.service.tickets.open(
            actor_of(context), int(draft["customer_id"]), str(draft["text"]), severity=Severity(draft["severity"]),
            product_id=draft.get("product_id"), order_id=draft.get("order_id"),
            custom=await asking.answers(context, KIND, draft))
    except ValidationFailed as exc:  # a field became required meanwhile: ask it
        if exc.key != "fields.required":
            raise
        await respond(update, context, context.t(exc.key, **exc.params), edit=False)
        await _fields_then_confirm(update, context, {**draft, "cf_asked": list(draft.get("cf") or {})})
        return
    flow.abandon(context)
    await _show(update, context, told.card, context.t("service.opened", number=told.card.ticket.number))


@require_actor()
async def cancel(update: Update, context: CrmContext) -> None:
    if _at(context, CONFIRM) or _at(context, PICK):
        flow.abandon(context)
    await respond(update, context, context.t("service.cancelled"))


@flow.on_stray(CONFIRM)
@require_actor("tickets.create")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the summary waits: show it again; the text is not the ticket."""
    draft = _draft(context)
    if "customer_id" in draft:
        await _confirm(update, context, draft)


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    """The customer card's "🛠 Ticket" (handlers/customers/card_extras.py)."""
    if kind != "customer" or not actor_of(context).can("tickets.create"):
        return None
    return (context.t("service.btn_ticket"), f"tkn:c:{record_id}")


# ---- the card -------------------------------------------------------------------------------------------------

async def _show(update: Update, context: CrmContext, card: TicketCard, note: str | None = None,
                edit: bool | None = False) -> None:
    actor = actor_of(context)
    now = context.services.clock.now()
    text = card_text(context.t, card, actor.timezone, now)
    if card.custom:
        text += "\n" + field_values.render_section(context, card.custom)
    rows = card_rows(context.t, card, staff_id=actor.staff_id, may_assign=actor.can("tickets.assign"),
                     may_close=actor.can("tickets.close"))
    rows += [[button] for button in card_extras.buttons(context, card)]
    if fields_button := field_values.section_button(context, KIND, card.ticket.id):
        rows.append([fields_button])
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor("service.view")
async def open_ticket(update: Update, context: CrmContext) -> None:
    card = await context.services.service.tickets.card(actor_of(context), arg(update, 0))
    await _show(update, context, card)


@require_actor("service.view")
async def move(update: Update, context: CrmContext) -> None:
    index = arg(update, 1)
    if not 0 <= index < len(STATUSES):
        raise NotFound()
    card = await context.services.service.tickets.move(actor_of(context), arg(update, 0), STATUSES[index])
    await _show(update, context, card, context.t("service.moved", status=context.t(
        f"service.status_{card.ticket.status.value}")))


@require_actor("tickets.assign")
async def assign_menu(update: Update, context: CrmContext) -> None:
    ticket_id = arg(update, 0)
    people = await context.services.service.tickets.assignable(actor_of(context), ticket_id)
    rows: list[list[Button]] = [[(short(p.name, 48), f"tk:to:{ticket_id}:{p.id}")] for p in people]
    await respond(update, context, context.t("service.pick_assignee") if rows else context.t("service.nobody_to"),
                  rows, edit=False)


@require_actor("tickets.assign")
async def assign(update: Update, context: CrmContext) -> None:
    told = await context.services.service.tickets.assign(actor_of(context), arg(update, 0), arg(update, 1))
    await _show(update, context, told.card, context.t("service.assigned", name=
        told.card.assignee_name or "?"))
    for chat_id, locale in told.tell:
        text = context.i18n.t(locale or context.settings.default_locale, "service.push_assigned",
                              number=told.card.ticket.number, subject=told.card.ticket.subject)
        delivery = await deliver(context.bot, chat_id, text, [[ticket_button(context.t, told.card.ticket,
                                                                             context.services.clock.now())]])
        if delivery.outcome is not Outcome.SENT:
            log.warning("could not tell %s about ticket %s: %s", chat_id, told.card.ticket.number, delivery.error)


# ---- notes and customer updates -------------------------------------------------------------------------------

async def _ask_entry(update: Update, context: CrmContext, kind: EntryKind) -> None:
    card = await context.services.service.tickets.card(actor_of(context), arg(update, 0))
    flow.ask(context, ENTRY, ticket_id=card.ticket.id, entry=kind.value)
    key = "service.ask_update" if kind is EntryKind.UPDATE else "service.ask_note"
    await respond(update, context, context.t(key, number=card.ticket.number), edit=False)


@require_actor("service.view")
async def ask_update(update: Update, context: CrmContext) -> None:
    await _ask_entry(update, context, EntryKind.UPDATE)


@require_actor("service.view")
async def ask_note(update: Update, context: CrmContext) -> None:
    await _ask_entry(update, context, EntryKind.NOTE)


async def _entry_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[ENTRY_KEY] = draft
    flow.ask(context, ENTRY_CONFIRM, expects="button", buttons=("tke:",), owns=(ENTRY_KEY,))
    key = "service.check_update" if draft["entry"] == EntryKind.UPDATE.value else "service.check_note"
    rows = [[(context.t("service.btn_send" if draft["entry"] == EntryKind.UPDATE.value else "service.btn_save"),
              "tke:send"), (context.t("common.cancel"), "tke:cancel")]]
    await respond(update, context, context.t(key, text=draft["text"]), rows, edit=False)


@flow.on_text(ENTRY)
@require_actor("service.view")
async def typed_entry(update: Update, context: CrmContext) -> None:
    waiting = flow.pending(context)
    try:
        text = clean_text(message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("service.try_again"))
        return
    await _entry_confirm(update, context, {"ticket_id": int(waiting.get("ticket_id", 0)),
                                           "entry": str(waiting.get("entry", "")), "text": text})


@flow.on_stray(ENTRY_CONFIRM)
@require_actor("service.view")
async def entry_stray(update: Update, context: CrmContext) -> None:
    draft = _draft(context, ENTRY_KEY)
    if "ticket_id" in draft:
        await _entry_confirm(update, context, draft)


@require_actor("service.view")
async def send_entry(update: Update, context: CrmContext) -> None:
    draft = _draft(context, ENTRY_KEY)
    if not _at(context, ENTRY_CONFIRM) or "ticket_id" not in draft:
        raise DomainError("error.stale_button")
    kind = EntryKind(draft["entry"])
    card = await context.services.service.tickets.add_entry(actor_of(context), int(draft["ticket_id"]), kind,
                                                            str(draft["text"]))
    flow.abandon(context)
    await _show(update, context, card, context.t("service.sent" if kind is EntryKind.UPDATE else "service.noted"))


@require_actor()
async def cancel_entry(update: Update, context: CrmContext) -> None:
    if _at(context, ENTRY_CONFIRM):
        flow.abandon(context)
    await respond(update, context, context.t("service.cancelled"))


# ---- lists ----------------------------------------------------------------------------------------------------

async def _listing(update: Update, context: CrmContext, team: bool) -> None:
    actor = actor_of(context)
    has_team = actor.scope("service") is not Scope.OWN
    team = team and has_team
    tickets = await context.services.service.tickets.listing(actor, team=team)
    now = context.services.clock.now()
    rows: list[list[Button]] = [[ticket_button(context.t, ticket, now)] for ticket in tickets[:20]]
    if has_team:
        rows.append([(context.t("service.btn_mine" if team else "service.btn_team"), f"tk:list:{int(not team)}")])
    await respond(update, context, listing_text(context.t, tickets, team, now), rows)


@require_actor("service.view")
async def listing(update: Update, context: CrmContext) -> None:
    await _listing(update, context, team=False)


@require_actor("service.view")
async def listing_page(update: Update, context: CrmContext) -> None:
    await _listing(update, context, team=arg(update, 0) == 1)


# ---- photos, files and the visit check-in ---------------------------------------------------------------------

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download


@require_actor("service.view")
async def ask_attachment(update: Update, context: CrmContext) -> None:
    card = await context.services.service.tickets.may_work(actor_of(context), arg(update, 0))
    flow.ask(context, ATTACH, ticket_id=card.ticket.id, document=True)
    await respond(update, context, context.t("service.ask_attachment", number=card.ticket.number), edit=False)


@flow.on_text(ATTACH)
@require_actor("service.view")
async def typed_at_attachment(update: Update, context: CrmContext) -> None:
    """Text where a photo, a file or a location was asked for: say so; the text is not kept."""
    await respond(update, context, context.t("service.ask_attachment_again"))


def _keep(context: CrmContext, ticket_id: int, name: str, content: bytes) -> str:
    """A private copy under DATA_DIR (0600): the Telegram file id may stop working one day."""
    suffix = "".join(ch for ch in Path(name).suffix[1:10] if ch.isalnum())
    return context.files.write(f"tickets/{int(ticket_id)}/{uuid.uuid4().hex}{'.' + suffix if suffix else ''}",
                               content)


@flow.on_message(ATTACH)
@require_actor("service.view")
async def sent_attachment(update: Update, context: CrmContext) -> None:
    message = update.effective_message
    ticket_id = int(flow.pending(context).get("ticket_id", 0))
    tickets = context.services.service.tickets
    actor = actor_of(context)
    if message is not None and message.location is not None:
        place = f"{message.location.latitude:.5f},{message.location.longitude:.5f}"
        card = await tickets.attach(actor, ticket_id, EntryKind.VISIT, place)
        flow.end(context)
        await _show(update, context, card, context.t("service.checked_in"))
        return
    found: tuple[str, str, int | None] | None = None
    if message is not None and message.photo:
        found = (message.photo[-1].file_id, "photo.jpg", message.photo[-1].file_size)
    elif message is not None and message.document is not None:
        found = (message.document.file_id, message.document.file_name or "file", message.document.file_size)
    if found is None:
        await respond(update, context, context.t("service.ask_attachment_again"))
        return
    file_id, name, size = found
    if size is not None and size > MAX_FILE_BYTES:
        await respond(update, context, context.t("service.file_too_big"))
        return
    await tickets.may_work(actor, ticket_id)  # nothing is downloaded for a ticket the sender may not touch
    content = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    path = _keep(context, ticket_id, name, content)
    try:
        card = await tickets.attach(actor, ticket_id, EntryKind.FILE, name, file_id=file_id, file_path=path)
    except DomainError:
        context.files.remove(path)
        raise
    flow.end(context)
    await _show(update, context, card, context.t("service.attached"))


# ---- the report -----------------------------------------------------------------------------------------------

@require_actor("service.view")
async def report(update: Update, context: CrmContext) -> None:
    """``/ticketreport [week|month|quarter|year|<days>]`` within the reader's scope."""
    days = period_days(" ".join(context.args or []))
    if days is None:
        await respond(update, context, context.t("service.report_usage"))
        return
    found = await context.services.service.tickets.report(actor_of(context), days)
    await respond(update, context, report_text(context.t, found, days, actor_of(context).timezone))


# ---- the product -------------------------------------------------------------------------------------------

@require_actor("service.view")
async def ask_product(update: Update, context: CrmContext) -> None:
    """📦 Product: its SKU or a word of its name is typed; the matches come back as buttons."""
    card = await context.services.service.tickets.card(actor_of(context), arg(update, 0))
    flow.ask(context, PRODUCT, ticket_id=card.ticket.id)
    await respond(update, context, context.t("service.ask_product", number=card.ticket.number), edit=False)


@flow.on_text(PRODUCT)
@require_actor("service.view")
async def typed_product(update: Update, context: CrmContext) -> None:
    ticket_id = int(flow.pending(context).get("ticket_id", 0))
    text = message_text(update).strip()
    page = await context.services.sales.catalog.find(actor_of(context), text) if text else None
    if page is None or not page.products:
        await respond(update, context, context.t("service.no_product", text=text[:60]))
        return  # still waiting: another SKU or name, or /cancel
    flow.end(context)
    rows: list[list[Button]] = [[(short(f"{p.sku} · {p.name}", 60), f"tk:pp:{ticket_id}:{p.id}")]
                                for p in page.products[:PICK_LIMIT]]
    rows.append([(context.t("service.btn_no_product"), f"tk:pp:{ticket_id}:0")])
    await respond(update, context, context.t("service.pick_product"), rows)


@require_actor("service.view")
async def picked_product(update: Update, context: CrmContext) -> None:
    product_id = arg(update, 1)
    card = await context.services.service.tickets.set_product(actor_of(context), arg(update, 0),
                                                              product_id or None)
    await _show(update, context, card, context.t("service.product_set" if product_id else "service.product_unset"),
                edit=True)


# ---- the order -------------------------------------------------------------------------------------------------

@require_actor("service.view")
async def order_menu(update: Update, context: CrmContext) -> None:
    """🧾 Order: the customer's recent orders as buttons, and ✖️ No order."""
    ticket_id = arg(update, 0)
    orders = await context.services.service.tickets.orders_of(actor_of(context), ticket_id)
    rows: list[list[Button]] = [
        [(short(f"{o.number} · {o.created_at.date().isoformat()} · " + context.t(f"orders.status_{o.status.value}"),
                60), f"tk:po:{ticket_id}:{o.id}")] for o in orders]
    rows.append([(context.t("service.btn_no_order"), f"tk:po:{ticket_id}:0")])
    await respond(update, context, context.t("service.pick_order" if orders else "service.no_orders"), rows)


@require_actor("service.view")
async def picked_order(update: Update, context: CrmContext) -> None:
    order_id = arg(update, 1)
    card = await context.services.service.tickets.set_order(actor_of(context), arg(update, 0), order_id or None)
    await _show(update, context, card, context.t("service.order_set" if order_id else "service.order_unset"),
                edit=True)
