"""Intel changed in chat after it was saved: its own screen (from ✏️ on the competitor card) with the text, the day
it was seen and the price typed, the kind picked, and delete / restore. The author changes their own; holders of
competitors.manage any in their sales scope. The service checks that on every press and every typed answer.

Buttons (ids only):
  cie:open:<intel>  cie:f:<intel>:<t|d|p>  cie:k:<intel>:<kind index>  cie:del:<intel>  cie:rst:<intel>
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import CrmContext
from crm.competitors.intel_line import price_of, seen_on
from crm.competitors.model import IntelItem, IntelKind
from crm.core.errors import DomainError, NotFound, ValidationFailed
from handlers.competitors.competitors import show_card
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond
from views.competitors.competitors import intel_line

EDIT = "cie.value"
FIELDS = {"t": "text", "d": "seen_on", "p": "price"}
KINDS = tuple(IntelKind)
NO_PRICE = frozenset({"-", "none", "no price", "無", "无", "沒有", "没有"})


async def _screen(update: Update, context: CrmContext, item: IntelItem, note: str | None = None,
                  edit: bool | None = None) -> None:
    i, t = item.intel, context.t
    rows: Rows = [[(t("competitors.btn_intel_text"), f"cie:f:{i.id}:t"),
                   (t("competitors.btn_intel_date"), f"cie:f:{i.id}:d"),
                   (t("competitors.btn_intel_price"), f"cie:f:{i.id}:p")],
                  [(t(f"competitors.kind_{kind.value}"), f"cie:k:{i.id}:{n}")
                   for n, kind in enumerate(KINDS) if kind is not i.kind],
                  [(t("competitors.btn_delete"), f"cie:del:{i.id}"),
                   (t("competitors.btn_back"), f"cp:open:{i.competitor_id}")]]
    text = t("competitors.intel_title") + "\n" + intel_line(t, item)
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor()
async def open_intel(update: Update, context: CrmContext) -> None:
    service, actor = context.services.competitors.competitors, actor_of(context)
    item = await service.intel_item(actor, arg(update, 0))
    if not service.may_change(actor, item.intel):
        raise NotFound()
    await _screen(update, context, item)


@require_actor()
async def ask_field(update: Update, context: CrmContext) -> None:
    field = FIELDS.get(str(update.callback_query.data if update.callback_query else "").rsplit(":", 1)[-1])
    if field is None:
        raise DomainError("error.stale_button")
    service, actor = context.services.competitors.competitors, actor_of(context)
    item = await service.intel_item(actor, arg(update, 0))
    if not service.may_change(actor, item.intel):
        raise NotFound()
    flow.ask(context, EDIT, intel_id=item.intel.id, field=field)
    await respond(update, context, context.t(f"competitors.ask_intel_{field}"), edit=False)


def _value(context: CrmContext, field: str, text: str) -> dict[str, Any] | None:
    """The change a typed answer means, or None when it cannot be read."""
    if field == "text":
        return {"text": text}
    if field == "seen_on":
        now = context.services.clock.now().astimezone(ZoneInfo(actor_of(context).timezone))
        day = seen_on(text, now)
        return {"seen_on": day} if day is not None else None
    if text.strip().casefold() in NO_PRICE:
        return {"price": None}
    price = price_of(text)
    return {"price": price[0], "currency": price[1]} if price is not None else None


@flow.on_text(EDIT)
@require_actor()
async def typed_value(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    intel_id, field = int(pending.get("intel_id", 0)), str(pending.get("field", ""))
    changes = _value(context, field, message_text(update))
    if changes is None:
        await respond(update, context, context.t(f"competitors.bad_intel_{field}") + "\n"
                      + context.t("competitors.try_again"))
        return
    try:
        item = await context.services.competitors.competitors.edit_intel(actor_of(context), intel_id, changes)
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("competitors.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await _screen(update, context, item, context.t("competitors.edited"), edit=False)


@require_actor()
async def kind(update: Update, context: CrmContext) -> None:
    index = arg(update, 1)
    if not 0 <= index < len(KINDS):
        raise DomainError("error.stale_button")
    item = await context.services.competitors.competitors.edit_intel(actor_of(context), arg(update, 0),
                                                                     {"kind": KINDS[index]})
    await _screen(update, context, item, context.t("competitors.edited"))


@require_actor()
async def delete(update: Update, context: CrmContext) -> None:
    intel = await context.services.competitors.competitors.delete_intel(actor_of(context), arg(update, 0))
    await respond(update, context, context.t("competitors.intel_deleted"),
                  [[(context.t("competitors.btn_restore"), f"cie:rst:{intel.id}"),
                    (context.t("competitors.btn_back"), f"cp:open:{intel.competitor_id}")]])


@require_actor()
async def restore(update: Update, context: CrmContext) -> None:
    intel = await context.services.competitors.competitors.restore_intel(actor_of(context), arg(update, 0))
    await show_card(update, context, intel.competitor_id, note=context.t("competitors.restored"))
