"""Contracts in chat after they exist: ``/contracts`` (in the reader's ``sales`` scope, active ones ending soonest
first), the card and its buttons — the file, edit a field, attach a file, renew, terminate with a reason, delete
(soft) — and the trash with Restore.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  kt:list:<page>  kt:open:<id>  kt:card:<id>  kt:file:<id>  kt:edit:<id>  kt:ef:<id>:<field>  kt:att:<id>
  kt:renew:<id>  kt:rnok:<id>  kt:rnd:<id>  kt:term:<id>  kt:del:<id>  kt:delok:<id>  kt:trash:<page>  kt:rst:<id>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InputFile, Update
from telegram.error import BadRequest

from bot.context import CrmContext
from crm.contracts.contracts import EDITABLE, Attachment
from crm.contracts.line import parse_day, parse_value
from crm.contracts.model import ContractCard, Status
from crm.core.errors import DomainError, NotFound, ValidationFailed
from handlers.contracts.new import attachment_of, download, error_text, now_local, too_big
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import EntityScreen, Rows, ScreenTexts, arg, grid, page_arg, paged, respond, word
from views.contracts.contracts import card_rows, card_text, contract_button, money_text, section_lines

EDIT = "kte.value"
REASON = "ktt.reason"
RENEW_END = "ktr.end"
ATTACH = "kta.file"
TYPED_FIELDS = ("title", "value", "starts_on", "ends_on", "remind_days", "terms")

TEXTS = ScreenTexts(edit_title="contracts.edit_title", pick_value="contracts.ask_field",
                    ask_value="contracts.ask_field", ask_list_value="contracts.ask_field",
                    confirm_delete="contracts.confirm_delete", trash_title="contracts.trash_title",
                    trash_empty="contracts.trash_empty")


async def load(context: CrmContext, contract_id: int) -> ContractCard:
    return await context.services.contracts.contracts.card(actor_of(context), contract_id)


def render(context: CrmContext, card: ContractCard) -> tuple[str, Rows]:
    return card_text(context.t, card), card_rows(context.t, card, manage=actor_of(context).can("contracts.manage"))


SCREEN: EntityScreen[ContractCard] = EntityScreen("kt", load, render)


# ---- the list and the card -----------------------------------------------------------------------------------

async def _list(update: Update, context: CrmContext, page: int, *, edit: bool | None) -> None:
    cards, more = await context.services.contracts.contracts.listed(actor_of(context), page=page)
    if not cards and page == 0:
        await respond(update, context, context.t("contracts.list_empty"), edit=edit)
        return
    rows = paged(cards, contract_button, lambda p: f"kt:list:{p}", page, more)
    if actor_of(context).can("contracts.manage"):
        rows.append([(context.t("contracts.btn_trash"), "kt:trash:0")])
    await respond(update, context, context.t("contracts.list_title", page=page + 1), rows, edit=edit)


@require_actor("sales.view")
async def list_contracts(update: Update, context: CrmContext) -> None:
    await _list(update, context, 0, edit=False)


@require_actor("sales.view")
async def list_page(update: Update, context: CrmContext) -> None:
    await _list(update, context, page_arg(update), edit=None)


@require_actor("sales.view")
async def open_card(update: Update, context: CrmContext) -> None:
    await SCREEN.open(update, context)


@require_actor("sales.view")
async def back_to_card(update: Update, context: CrmContext) -> None:
    await SCREEN.card(update, context)


@require_actor("sales.view")
async def send_file(update: Update, context: CrmContext) -> None:
    """By its Telegram file id; when Telegram no longer knows it (the bot's token changed, or it was a photo),
    the copy kept under DATA_DIR is uploaded instead."""
    service = context.services.contracts.contracts
    contract = await service.file(actor_of(context), arg(update, 0))
    chat = update.effective_chat
    await respond(update, context, context.t("contracts.file_of", number=contract.number), edit=False)
    if chat is None or contract.file_id is None:
        return
    try:
        await context.bot.send_document(chat.id, contract.file_id)
    except BadRequest:
        data = await service.file_copy(actor_of(context), contract.id)
        await context.bot.send_document(chat.id, InputFile(data, filename=contract.file_name or "contract"))


# ---- edit a field -------------------------------------------------------------------------------------------

def _current(context: CrmContext, card: ContractCard, field: str) -> str:
    c = card.contract
    if field == "value":
        return money_text(c.money)
    value = getattr(c, field)
    return context.t("contracts.none") if value in (None, "") else str(value)


@require_actor("contracts.manage")
async def edit_menu(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    cid = card.contract.id
    buttons = [(context.t(f"contracts.field_{f}"), f"kt:ef:{cid}:{f}") for f in TYPED_FIELDS]
    rows = [*grid(buttons, 3), [SCREEN.back(context, cid)]]
    await respond(update, context, context.t("contracts.edit_title", name=card.contract.number), rows)


@require_actor("contracts.manage")
async def ask_field(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    field = word(update, 1)
    if field not in TYPED_FIELDS:
        raise DomainError("error.stale_button")
    flow.ask(context, EDIT, contract_id=card.contract.id, field=field)
    await respond(update, context, context.t("contracts.ask_field", field=context.t(f"contracts.field_{field}"),
                                             current=_current(context, card, field)), edit=False)


def _change(context: CrmContext, field: str, text: str) -> dict[str, Any]:
    if field == "value":
        value, currency = parse_value(text)
        return {"value": value, **({"currency": currency} if currency else {})}
    if field in ("starts_on", "ends_on"):
        return {field: parse_day(text, now_local(context))}
    if field == "remind_days":
        cleaned = text.strip()
        if not cleaned.isdigit() or not cleaned.isascii():
            raise ValidationFailed("contracts.error_days", limit=365)
        return {field: int(cleaned)}
    if field == "terms":
        return {field: None if text.strip() in ("-", "—") else text}
    return {field: text}


@flow.on_text(EDIT)
@require_actor("contracts.manage")
async def typed_field(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    field = str(pending.get("field"))
    contract_id = int(pending.get("contract_id", 0))
    if field not in EDITABLE:
        flow.end(context)
        raise DomainError("error.stale_button")
    try:
        card = await context.services.contracts.contracts.update(actor_of(context), contract_id,
                                                                 _change(context, field, message_text(update)))
    except NotFound:
        flow.end(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("contracts.try_again"))
        return
    flow.end(context)
    await SCREEN.present(update, context, card, edit=False, note=context.t("contracts.updated"))


# ---- attach a file ------------------------------------------------------------------------------------------

@require_actor("contracts.manage")
async def ask_attach(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    flow.ask(context, ATTACH, document=True, contract_id=card.contract.id)
    await respond(update, context, context.t("contracts.ask_attach", number=card.contract.number), edit=False)


@flow.on_text(ATTACH)
@flow.on_message(ATTACH)
@require_actor("contracts.manage")
async def sent_attachment(update: Update, context: CrmContext) -> None:
    found = attachment_of(update.effective_message)
    if found is None:
        await respond(update, context, context.t("contracts.error_send_file"))
        return
    file_id, name, size = found
    if too_big(size):
        await respond(update, context, context.t("contracts.error_file_size", limit=20))
        return
    contract_id = int(flow.pending(context).get("contract_id", 0))
    attachment: Attachment = await download(context, file_id, name)
    flow.end(context)
    card = await context.services.contracts.contracts.attach(actor_of(context), contract_id, attachment)
    await SCREEN.present(update, context, card, edit=False, note=context.t("contracts.attached"))


# ---- renew, terminate -----------------------------------------------------------------------------------------

@require_actor("contracts.manage")
async def renew(update: Update, context: CrmContext) -> None:
    """The renewal proposed with its dates; ✅ renews, 📅 asks for another end date."""
    service = context.services.contracts.contracts
    card = await service.manageable(actor_of(context), arg(update, 0))
    c = card.contract
    if c.status is not Status.ACTIVE:
        raise DomainError("contracts.error_not_active")
    start, end = service.next_term(c)
    rows = [[(context.t("contracts.btn_renew_ok"), f"kt:rnok:{c.id}")],
            [(context.t("contracts.btn_renew_dates"), f"kt:rnd:{c.id}"), SCREEN.back(context, c.id)]]
    await respond(update, context, context.t("contracts.renew_check", number=c.number, title=c.title,
                                             start=start.isoformat(), end=end.isoformat(),
                                             value=money_text(c.money)), rows, edit=False)


@require_actor("contracts.manage")
async def renew_confirmed(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.renew(actor_of(context), arg(update, 0))
    await SCREEN.present(update, context, card, note=context.t("contracts.renewed"))


@require_actor("contracts.manage")
async def renew_dates(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    flow.ask(context, RENEW_END, contract_id=card.contract.id)
    start, _ = context.services.contracts.contracts.next_term(card.contract)
    await respond(update, context, context.t("contracts.ask_renew_end", start=start.isoformat()), edit=False)


@flow.on_text(RENEW_END)
@require_actor("contracts.manage")
async def typed_renew_end(update: Update, context: CrmContext) -> None:
    contract_id = int(flow.pending(context).get("contract_id", 0))
    try:
        end = parse_day(message_text(update), now_local(context))
        card = await context.services.contracts.contracts.renew(actor_of(context), contract_id, ends_on=end)
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("contracts.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await SCREEN.present(update, context, card, edit=False, note=context.t("contracts.renewed"))


@require_actor("contracts.manage")
async def terminate(update: Update, context: CrmContext) -> None:
    """Ask for the reason first; the contract is terminated when it is typed."""
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    if card.contract.status is not Status.ACTIVE:
        raise DomainError("contracts.error_not_active")
    flow.ask(context, REASON, contract_id=card.contract.id)
    await respond(update, context, context.t("contracts.ask_reason", number=card.contract.number), edit=False)


@flow.on_text(REASON)
@require_actor("contracts.manage")
async def typed_reason(update: Update, context: CrmContext) -> None:
    contract_id = int(flow.pending(context).get("contract_id", 0))
    try:
        card = await context.services.contracts.contracts.terminate(actor_of(context), contract_id,
                                                                    message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("contracts.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await SCREEN.present(update, context, card, edit=False, note=context.t("contracts.terminated"))


# ---- delete, trash, restore ----------------------------------------------------------------------------------

@require_actor("contracts.manage")
async def delete(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.manageable(actor_of(context), arg(update, 0))
    await SCREEN.confirm_delete(update, context, TEXTS, card.contract.id, card.contract.number)


@require_actor("contracts.manage")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    contract = await context.services.contracts.contracts.delete(actor_of(context), arg(update, 0))
    rows = [[(context.t("contracts.btn_restore"), f"kt:rst:{contract.id}")]]
    await respond(update, context, context.t("contracts.deleted", number=contract.number), rows)


@require_actor("contracts.manage")
async def trash(update: Update, context: CrmContext) -> None:
    page = page_arg(update)
    cards, more = await context.services.contracts.contracts.listed(actor_of(context), page=page, deleted=True)
    items = [(c.contract.id, f"{c.contract.number} {c.contract.title}") for c in cards]
    await SCREEN.trash(update, context, TEXTS, items, page, more)


@require_actor("contracts.manage")
async def restore(update: Update, context: CrmContext) -> None:
    card = await context.services.contracts.contracts.restore(actor_of(context), arg(update, 0))
    await SCREEN.present(update, context, card, note=context.t("contracts.restored"))


def card_section(context: CrmContext, cards: Sequence[Any]) -> str:
    """The customer card's "contracts" lines (handlers/customers/card_extras.py)."""
    return section_lines(context.t, cards)
