"""``/filter <label><op><value>; …``: customers found by their custom fields (``staff>50``, ``員工數>=10``,
``sector=retail; since<2024-01-01``), within the reader's scope; the result can be saved as a segment, which
keeps the conditions and stays live.

Buttons: cff:pg:<page>  cff:seg
"""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.fields.fields import COUNT_UP_TO
from crm.fields.values import stored_condition
from crm.segments.model import SegmentFilter
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, page_arg, page_row, respond
from views.core.text import short

FILTER_KEY = "field_filter"
NAME = "cff.name"


def _saved_text(context: CrmContext) -> str:
    text = context.user_data.get(FILTER_KEY) if context.user_data is not None else None
    if not isinstance(text, str) or not text:
        raise DomainError("error.stale_button")
    return text


async def _show(update: Update, context: CrmContext, text: str, page: int, *, edit: bool | None = None) -> None:
    service = context.services.fields.fields
    actor = actor_of(context)
    try:
        conditions = await service.conditions(actor, text)
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n\n" + context.t("fields.filter_usage"),
                      edit=False)
        return
    found = await service.find(actor, conditions, page)
    if context.user_data is not None:
        context.user_data[FILTER_KEY] = text
    rows: Rows = [[(short(c.name, 40), f"cu:open:{c.id}")] for c in found.customers]
    rows.append(page_row(lambda p: f"cff:pg:{p}", page, found.has_more))
    if found.customers:
        rows.append([(context.t("fields.btn_save_segment"), "cff:seg")])
    head = context.t("fields.filter_title", query=text)
    if found.count > COUNT_UP_TO:
        head += "\n" + context.t("fields.filter_count_many", count=f"{COUNT_UP_TO:,}")
    elif found.count >= 0:
        head += "\n" + context.t("fields.filter_count", count=found.count)
    if not found.customers:
        head += "\n" + context.t("fields.filter_none")
    await respond(update, context, head, [r for r in rows if r], edit=edit)


@require_actor("customers.view")
async def filter_command(update: Update, context: CrmContext) -> None:
    text = " ".join(context.args or []).strip()
    if not text:
        await respond(update, context, context.t("fields.filter_usage"))
        return
    await _show(update, context, text, 0, edit=False)


async def from_find(update: Update, context: CrmContext, text: str) -> bool:
    """``/find staff>50``: a condition on a customer field is a filter; text naming no field stays a search."""
    actor = context.actor
    if actor is None or not actor.can("customers.view"):
        return False
    try:
        await context.services.fields.fields.conditions(actor, text)
    except ValidationFailed as exc:
        if exc.key in ("fields.unknown_field", "fields.invalid_condition"):
            return False
    await _show(update, context, text.strip(), 0, edit=False)
    return True


@require_actor("customers.view")
async def filter_page(update: Update, context: CrmContext) -> None:
    await _show(update, context, _saved_text(context), page_arg(update))


@require_actor("customers.view")
async def save_segment(update: Update, context: CrmContext) -> None:
    _saved_text(context)
    flow.ask(context, NAME)
    await respond(update, context, context.t("fields.ask_segment_name"), edit=False)


@flow.on_text(NAME)
@require_actor("customers.view")
async def typed_name(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    try:
        conditions = await context.services.fields.fields.conditions(actor, _saved_text(context))
        segment = await context.services.segments.segments.create(
            actor, message_text(update), SegmentFilter(custom=tuple(stored_condition(c) for c in conditions)))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("fields.try_again"),
                      edit=False)
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    rows: Rows = [[(context.t("fields.btn_open_segment"), f"sg:v:{segment.id}")]]
    await respond(update, context, context.t("fields.segment_saved", name=segment.name), rows, edit=False)
