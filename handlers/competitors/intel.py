"""Intel from the field: ``/intel <competitor> <text>``, or a photo (a price tag, a flyer) captioned ``/intel …``
or ``#intel …``, or a text message starting ``#intel``. What was understood — competitor, customer (``@name``),
kind, price, the text — is echoed with Save / Cancel; nothing is stored before the tap. A competitor name not in
the archive asks first: create it, pick one of the similar names, or cancel.

Buttons (ids only; the service re-checks every press):
  cpi:save  cpi:cancel  cpi:new  cpi:pick:<competitor id>
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import CrmContext
from crm.competitors.intel_line import parse_intel
from crm.competitors.model import IntelDraft, IntelKind
from crm.core.errors import DomainError, ValidationFailed
from crm.core.money import Money
from crm.customers.model import EntityKind
from handlers.competitors.competitors import show_card
from handlers.core import flow
from handlers.core.common import actor_of, require_actor
from handlers.core.screens import Rows, arg, respond
from views.competitors.competitors import money_text
from views.core.text import short

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 10 * 1024 * 1024
DRAFT_KEY = "intel_draft"
CONFIRM = "cpi.confirm"


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _at(context: CrmContext, step: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == CONFIRM and waiting.step == step


async def _confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """What was understood, with Save / Cancel."""
    _keep(context, draft)
    flow.ask(context, CONFIRM, step="confirm", expects="button", buttons=("cpi:",), owns=(DRAFT_KEY,))
    t, none = context.t, context.t("competitors.none")
    price = money_text(Money(Decimal(draft["price"]), draft["currency"])) if draft.get("price") else none
    lines = [t("competitors.check"), t("competitors.check_competitor", name=draft["competitor_name"]),
             t("competitors.check_customer", name=draft.get("customer_name") or none),
             t("competitors.check_kind", kind=t(f"competitors.kind_{draft['kind']}")),
             t("competitors.check_price", price=price),
             t("competitors.check_seen", date=draft.get("seen_on") or t("competitors.seen_today")),
             t("competitors.check_text", text=draft["text"])]
    if draft.get("file_id"):
        lines.append(t("competitors.check_photo"))
    rows: Rows = [[(t("competitors.btn_save"), "cpi:save"), (t("common.cancel"), "cpi:cancel")]]
    await respond(update, context, "\n".join(lines), rows, edit=False)


async def _ask_competitor(update: Update, context: CrmContext, draft: dict[str, Any],
                          similar: list[tuple[int, str]]) -> None:
    """The name is not in the archive: create it, take a similar one, or cancel."""
    draft["offered"] = [competitor_id for competitor_id, _ in similar]
    _keep(context, draft)
    flow.ask(context, CONFIRM, step="competitor", expects="button", buttons=("cpi:",), owns=(DRAFT_KEY,))
    name = draft["competitor_name"]
    rows: Rows = [[(context.t("competitors.btn_create", name=short(name, 30)), "cpi:new")]]
    rows += [[(short(other, 40), f"cpi:pick:{competitor_id}")] for competitor_id, other in similar]
    rows.append([(context.t("common.cancel"), "cpi:cancel")])
    text = context.t("competitors.ask_new", name=name) + (
        "\n" + context.t("competitors.ask_similar") if similar else "")
    await respond(update, context, text, rows, edit=False)


async def _customer(context: CrmContext, name: str) -> tuple[int, str] | None:
    found = await context.services.customers.customers.named(actor_of(context), [name])
    customers = [h for h in found.get(name, ()) if h.entity is EntityKind.CUSTOMER]
    return (customers[0].id, customers[0].title) if len(customers) == 1 else None


async def _from_line(update: Update, context: CrmContext, line: str, file_id: str | None) -> None:
    service = context.services.competitors.competitors
    actor = actor_of(context)
    now = context.services.clock.now().astimezone(ZoneInfo(actor.timezone))
    parsed = parse_intel(line, [name for _, name in await service.names(actor)], now) if line.strip() else None
    if parsed is None:
        await respond(update, context, context.t("competitors.intel_usage"), edit=False)
        return
    draft: dict[str, Any] = {"competitor_name": parsed.competitor, "text": parsed.text, "kind": parsed.kind.value,
                             "price": str(parsed.price) if parsed.price is not None else None,
                             "currency": parsed.currency or service.currency, "file_id": file_id,
                             "seen_on": parsed.seen_on.isoformat() if parsed.seen_on else None}
    if parsed.customer:
        customer = await _customer(context, parsed.customer)
        if customer is None:
            await respond(update, context, context.t("competitors.no_customer", name=parsed.customer), edit=False)
            return
        draft["customer_id"], draft["customer_name"] = customer
    competitor, similar = await service.named(actor, parsed.competitor)
    if competitor is None:
        await _ask_competitor(update, context, draft, similar)
        return
    draft["competitor_id"], draft["competitor_name"] = competitor.id, competitor.name
    await _confirm(update, context, draft)


@require_actor("intel.create")
async def new_intel(update: Update, context: CrmContext) -> None:
    """``/intel 大同 新竹店 冷氣 NT$18,900 滿萬送千``; alone, how to use it."""
    await _from_line(update, context, " ".join(context.args or []), None)


def _after_tag(text: str) -> str:
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


@require_actor("intel.create")
async def tagged(update: Update, context: CrmContext) -> None:
    """A photo captioned ``/intel …`` or ``#intel …``, or a text message starting ``#intel``."""
    message = update.effective_message
    if message is None:
        return
    if message.photo:
        await _from_line(update, context, _after_tag(message.caption or ""), message.photo[-1].file_id)
    else:
        await _from_line(update, context, _after_tag(message.text or ""), None)


@require_actor("intel.create")
async def create_competitor(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, "competitor") or "competitor_name" not in draft:
        raise DomainError("error.stale_button")
    competitor = await context.services.competitors.competitors.create(actor_of(context), draft["competitor_name"])
    draft["competitor_id"], draft["competitor_name"] = competitor.id, competitor.name
    await _confirm(update, context, draft)


@require_actor("intel.create")
async def pick_competitor(update: Update, context: CrmContext) -> None:
    draft, competitor_id = _draft(context), arg(update, 0)
    if not _at(context, "competitor") or competitor_id not in draft.get("offered", []):
        raise DomainError("error.stale_button")
    competitor = await context.services.competitors.competitors.get(actor_of(context), competitor_id)
    draft["competitor_id"], draft["competitor_name"] = competitor.id, competitor.name
    await _confirm(update, context, draft)


def _today(context: CrmContext) -> date:
    return context.services.clock.now().astimezone(ZoneInfo(actor_of(context).timezone)).date()


@require_actor("intel.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at(context, "confirm") or "competitor_id" not in draft:
        raise DomainError("error.stale_button")
    service = context.services.competitors.competitors
    intel = await service.add_intel(actor_of(context), IntelDraft(
        competitor_id=int(draft["competitor_id"]), text=str(draft["text"]), kind=IntelKind(draft["kind"]),
        seen_on=date.fromisoformat(draft["seen_on"]) if draft.get("seen_on") else _today(context),
        customer_id=int(draft["customer_id"]) if draft.get("customer_id") else None,
        price=Decimal(draft["price"]) if draft.get("price") else None, currency=draft.get("currency"),
        file_id=draft.get("file_id") or None))
    flow.abandon(context)
    if intel.file_id:
        await _keep_file(context, intel.id, intel.file_id)
    await show_card(update, context, intel.competitor_id, note=context.t("competitors.intel_saved"), edit=False)


async def _keep_file(context: CrmContext, intel_id: int, file_id: str) -> None:
    """The photo's copy under DATA_DIR; the intel stands without it (Telegram keeps the photo too)."""
    try:
        file = await context.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > MAX_FILE_BYTES:
            raise ValidationFailed("competitors.error_file_size")
        data = bytes(await file.download_as_bytearray())
        await context.services.competitors.competitors.keep_file(actor_of(context), intel_id, data)
    except Exception:  # the photo stays reachable by its file id
        log.warning("could not keep a copy of the photo of intel %s", intel_id, exc_info=True)


@require_actor("intel.create")
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == CONFIRM:
        flow.abandon(context)
    await respond(update, context, context.t("competitors.cancelled"))


@flow.on_stray(CONFIRM)
@require_actor("intel.create")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the question waits: the question again; the text is not the intel."""
    draft = _draft(context)
    if _at(context, "competitor"):
        await respond(update, context, context.t("competitors.choose_button"), edit=False)
    elif "competitor_id" in draft:
        await _confirm(update, context, draft)
