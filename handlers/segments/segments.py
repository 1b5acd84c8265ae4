"""/segments: build a customer segment with filter buttons (live count), save it, list its customers, delete it.

The segment being built lives in ``user_data`` (persisted) as the filter's JSON, so a restart or a wrong
answer never loses it. Buttons carry ids and short codes only; every press re-reads and re-checks.
/handover lives in its own file; ``register`` wires both.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.customers.model import Classification, Tier
from crm.segments.model import SegmentFilter
from crm.segments.segments import PAGE_SIZE, SegmentView, parse_days
from handlers.core import common
from handlers.segments import handover
from views.core.text import short
from views.customers.icons import customer_icon
from views.segments.labels import class_label

DRAFT_KEY = "segment_draft"
DAY_CHOICES = (7, 14, 30, 60, 90)
MAX_DAYS = 3650
# Typed lists: commas in any script; tags also split on spaces (a tag is one word, as in the customer form).
_SPLIT = re.compile(r"[,，、;；\n]+")
_SPLIT_TAGS = re.compile(r"[,，、;；\s]+")
TEXT_FIELDS = {"rg": "regions", "in": "industries", "tg": "tags"}


def describe(context: CrmContext, view: SegmentView) -> list[str]:
    """One line per filter that is set, in the reader's language."""
    f = view.filter
    lines: list[str] = []
    if f.classifications:
        values = ", ".join(class_label(context.t, c) for c in Classification if c in f.classifications)
        lines.append(context.t("segments.line_classification", values=values))
    if f.tiers:
        lines.append(context.t("segments.line_tier", values=", ".join(sorted(t.value for t in f.tiers))))
    if f.regions:
        lines.append(context.t("segments.line_region", values=", ".join(sorted(f.regions))))
    if f.industries:
        lines.append(context.t("segments.line_industry", values=", ".join(sorted(f.industries))))
    if f.tags:
        lines.append(context.t("segments.line_tag", values=", ".join(f"#{tag}" for tag in sorted(f.tags))))
    if f.no_contact_days:
        lines.append(context.t("segments.line_no_contact", days=f.no_contact_days))
    if f.owner_ids:
        names = ", ".join(view.owner_names.get(i, "?") for i in sorted(f.owner_ids))
        lines.append(context.t("segments.line_owner", values=names))
    if f.custom:  # the conditions on custom fields are read and described by /filter (docs/fields.md)
        lines.append(context.t("segments.line_custom", count=len(f.custom)))
    if not lines:
        lines.append(context.t("segments.no_filters"))
    return lines


# ---- the draft -----------------------------------------------------------------------------------------------

def _draft(context: CrmContext) -> SegmentFilter:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return SegmentFilter.from_json(data if isinstance(data, dict) else None)


def _keep(context: CrmContext, segment_filter: SegmentFilter) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = segment_filter.to_json()


def _drop_my_question(context: CrmContext) -> None:
    """Pressing a button abandons a typed question of this flow (and only of this flow)."""
    if str(common.current_pending(context).get("kind", "")).startswith("segments."):
        common.clear_pending(context)


async def _set_draft(update: Update, context: CrmContext, segment_filter: SegmentFilter) -> None:
    """Validate by counting first: a refused filter leaves the draft as it was."""
    view = await context.services.segments.segments.preview(common.actor_of(context), segment_filter)
    _keep(context, view.filter)
    await _show_builder(update, context, view)


# ---- list and builder ------------------------------------------------------------------------------------------

@common.require_actor("customers.view")
async def segments_home(update: Update, context: CrmContext) -> None:
    """Saved segments with their counts; open one, or build a new one."""
    await common.answer(update.callback_query)
    _drop_my_question(context)
    actor = common.actor_of(context)
    listed = await context.services.segments.segments.list(actor)
    lines = [context.t("segments.title")]
    rows: list[list[common.Button]] = []
    for segment, count in listed:
        mine = segment.owner_id == actor.staff_id
        rows.append([(short(f"{'🎯' if mine else '👥'} {segment.name} · {count}"), f"sg:v:{segment.id}")])
    if not listed:
        lines.append(context.t("segments.none_saved"))
    rows.append([(context.t("segments.btn_new"), "sg:new")])
    if context.user_data and context.user_data.get(DRAFT_KEY):
        rows.append([(context.t("segments.btn_continue"), "sg:b")])
    await common.reply(update, context, "\n".join(lines), rows)


@common.require_actor("customers.view")
async def new_segment(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    await _set_draft(update, context, SegmentFilter())


@common.require_actor("customers.view")
async def builder(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    await _set_draft(update, context, _draft(context))


async def _show_builder(update: Update, context: CrmContext, view: SegmentView, *, edit: bool | None = None) -> None:
    text = "\n".join([context.t("segments.builder_title"), *describe(context, view), "",
                      context.t("segments.live_count", count=view.count)])
    rows: list[list[common.Button]] = [
        [(context.t("segments.btn_classification"), "sg:f:cl"), (context.t("segments.btn_tier"), "sg:f:ti")],
        [(context.t("segments.btn_region"), "sg:f:rg"), (context.t("segments.btn_industry"), "sg:f:in"),
         (context.t("segments.btn_tag"), "sg:f:tg")],
        [(context.t("segments.btn_no_contact"), "sg:f:nc"), (context.t("segments.btn_owner"), "sg:f:ow:0")],
        [(context.t("segments.btn_clear"), "sg:clr"), (context.t("segments.btn_save"), "sg:save")],
        [(context.t("common.back"), "sg:home")],
    ]
    await common.reply(update, context, text, rows, edit=edit)


@common.require_actor("customers.view")
async def field_menu(update: Update, context: CrmContext) -> None:
    """The choices of one filter: toggles for fixed values, a typed answer for free text."""
    await common.answer(update.callback_query)
    _drop_my_question(context)
    args = common.callback_args(update)
    which = args[0] if args else ""
    draft = _draft(context)
    back: list[common.Button] = [(context.t("common.back"), "sg:b")]
    if which in ("cl", "ti"):
        await _fixed_menu(update, context, which, draft)
    elif which in TEXT_FIELDS:
        await _ask_text(update, context, which, draft, back)
    elif which == "nc":
        common.expect_text(context, "segments.days")
        rows = [[(f"{'✅ ' if draft.no_contact_days == n else ''}{n}", f"sg:nc:{n}") for n in DAY_CHOICES],
                [(context.t("segments.btn_any_contact"), "sg:nc:0")], back]
        await common.reply(update, context, context.t("segments.pick_days"), rows)
    elif which == "ow":
        await _owner_menu(update, context, draft, common.int_arg(args, 1) if len(args) > 1 else 0)
    else:
        await _set_draft(update, context, draft)


async def _fixed_menu(update: Update, context: CrmContext, which: str, draft: SegmentFilter) -> None:
    """Classification or tier: one toggle per value, ticked when chosen."""
    back: list[common.Button] = [(context.t("common.back"), "sg:b")]
    if which == "cl":
        rows = [[(("✅ " if c in draft.classifications else "▫️ ") + class_label(context.t, c), f"sg:tg:cl:{c.value}")]
                for c in Classification]
        await common.reply(update, context, context.t("segments.pick_classification"), [*rows, back])
        return
    tiers = [(("✅ " if t in draft.tiers else "▫️ ") + context.t("segments.tier_label", tier=t.value),
              f"sg:tg:ti:{t.value}") for t in Tier]
    await common.reply(update, context, context.t("segments.pick_tier"), [tiers, back])


async def _ask_text(update: Update, context: CrmContext, which: str, draft: SegmentFilter,
                    back: list[common.Button]) -> None:
    field_name = TEXT_FIELDS[which]
    common.expect_text(context, "segments.value", field=which)
    current = sorted(getattr(draft, field_name))
    shown = ", ".join(f"#{v}" if which == "tg" else v for v in current) or "—"
    if which == "rg":
        prompt = context.t("segments.ask_regions", current=shown)
    elif which == "in":
        prompt = context.t("segments.ask_industries", current=shown)
    else:
        prompt = context.t("segments.ask_tags", current=shown)
    rows = [[(context.t("segments.btn_clear_field"), f"sg:x:{which}")], back] if current else [back]
    await common.reply(update, context, prompt, rows)


async def _owner_menu(update: Update, context: CrmContext, draft: SegmentFilter, page: int) -> None:
    people = await context.services.segments.segments.owner_choices(common.actor_of(context))
    page = max(0, min(page, (len(people) - 1) // PAGE_SIZE if people else 0))
    rows: list[list[common.Button]] = []
    for person in people[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        mark = "✅ " if person.id in draft.owner_ids else "▫️ "
        rows.append([(short(mark + person.name + ("" if person.active else " ⛔")), f"sg:tg:ow:{person.id}:{page}")])
    nav: list[common.Button] = []
    if page > 0:
        nav.append(("◀️", f"sg:f:ow:{page - 1}"))
    if (page + 1) * PAGE_SIZE < len(people):
        nav.append(("▶️", f"sg:f:ow:{page + 1}"))
    rows += [nav, [(context.t("common.back"), "sg:b")]]
    await common.reply(update, context, context.t("segments.pick_owner"), rows)


@common.require_actor("customers.view")
async def toggle(update: Update, context: CrmContext) -> None:
    """Switch one classification, tier or owner on or off, then show the same choices again."""
    args = common.callback_args(update)
    which, value = [*args, "", ""][:2]
    draft = _draft(context)
    if which == "cl" and value in {c.value for c in Classification}:
        draft = draft.toggled("classifications", Classification(value))
    elif which == "ti" and value in {t.value for t in Tier}:
        draft = draft.toggled("tiers", Tier(value))
    elif which == "ow":
        draft = draft.toggled("owner_ids", common.int_arg(args, 1))
    else:
        await common.answer(update.callback_query, context.t("error.stale_button"), alert=True)
        return
    view = await context.services.segments.segments.preview(common.actor_of(context), draft)
    _keep(context, view.filter)
    await common.answer(update.callback_query, context.t("segments.count_toast", count=view.count))
    if which == "ow":
        await _owner_menu(update, context, view.filter, common.int_arg(args, 2) if len(args) > 2 else 0)
    else:
        await _fixed_menu(update, context, which, view.filter)


@common.require_actor("customers.view")
async def set_days(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    days = common.int_arg(common.callback_args(update), 0)
    await _set_draft(update, context, replace(_draft(context), no_contact_days=days or None))


@common.require_actor("customers.view")
async def clear_field(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    args = common.callback_args(update)
    field_name = TEXT_FIELDS.get(args[0] if args else "")
    if field_name is None:
        await common.reply(update, context, context.t("error.stale_button"))
        return
    await _set_draft(update, context, _draft(context).with_values(field_name, frozenset()))


@common.require_actor("customers.view")
async def clear_all(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    await _set_draft(update, context, SegmentFilter())


@common.on_pending("segments.value")
@common.require_actor("customers.view")
async def _typed_values(update: Update, context: CrmContext) -> None:
    which = str(common.current_pending(context).get("field", ""))
    field_name = TEXT_FIELDS.get(which)
    if field_name is None:
        common.clear_pending(context)
        return
    splitter = _SPLIT_TAGS if which == "tg" else _SPLIT
    typed = splitter.split(common.message_text(update))
    values = [v.strip().lstrip("#") if which == "tg" else v.strip() for v in typed]
    values = [v for v in values if v]
    if not values:
        await common.reply(update, context, context.t("segments.type_something"))
        return
    # Typed values replace the field's values (the prompt says so); "Clear" empties it.
    changed = _draft(context).with_values(field_name, frozenset(values))
    view = await context.services.segments.segments.preview(common.actor_of(context), changed)
    _keep(context, view.filter)
    common.clear_pending(context)
    await _show_builder(update, context, view)


@common.on_pending("segments.days")
@common.require_actor("customers.view")
async def _typed_days(update: Update, context: CrmContext) -> None:
    days = parse_days(common.message_text(update), limit=MAX_DAYS)
    view = await context.services.segments.segments.preview(common.actor_of(context),
                                                   replace(_draft(context), no_contact_days=days or None))
    _keep(context, view.filter)
    common.clear_pending(context)
    await _show_builder(update, context, view)


@common.require_actor("customers.view")
async def save(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "segments.name")
    await common.reply(update, context, context.t("segments.ask_name"), edit=False)


@common.on_pending("segments.name")
@common.require_actor("customers.view")
async def _typed_name(update: Update, context: CrmContext) -> None:
    segment = await context.services.segments.segments.create(common.actor_of(context), common.message_text(update),
                                                              _draft(context))
    common.clear_pending(context)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await common.reply(update, context, context.t("segments.saved", name=segment.name))
    await _show_segment(update, context, segment.id, edit=False)


# ---- one saved segment ---------------------------------------------------------------------------------------------

async def _show_segment(update: Update, context: CrmContext, segment_id: int, *, edit: bool | None = None) -> None:
    view = await context.services.segments.segments.view(common.actor_of(context), segment_id)
    assert view.segment is not None
    text = "\n".join([context.t("segments.card_title", name=view.segment.name), *describe(context, view), "",
                      context.t("segments.live_count", count=view.count)])
    rows: list[list[common.Button]] = [
        [(context.t("segments.btn_list", count=view.count), f"sg:ls:{segment_id}:0")],
        [(context.t("segments.btn_delete"), f"sg:del:{segment_id}")],
        [(context.t("common.back"), "sg:home")],
    ]
    await common.reply(update, context, text, rows, edit=edit)


@common.require_actor("customers.view")
async def view_segment(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    _drop_my_question(context)
    await _show_segment(update, context, common.int_arg(common.callback_args(update), 0))


@common.require_actor("customers.view")
async def list_customers(update: Update, context: CrmContext) -> None:
    """One page of the segment's customers; each opens the customer card."""
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    segment_id, page = common.int_arg(args, 0), common.int_arg(args, 1)
    actor = common.actor_of(context)
    segment = await context.services.segments.segments.get(actor, segment_id)
    result = await context.services.segments.segments.list_customers(actor, segment_id, page)
    rows: list[list[common.Button]] = [[(short(f"{customer_icon(c)} {c.name}"), f"cu:open:{c.id}")]
                                       for c in result.customers]
    nav: list[common.Button] = []
    if result.page > 0:
        nav.append(("◀️", f"sg:ls:{segment_id}:{result.page - 1}"))
    if result.has_more:
        nav.append(("▶️", f"sg:ls:{segment_id}:{result.page + 1}"))
    rows += [nav, [(context.t("common.back"), f"sg:v:{segment_id}")]]
    key_text = (context.t("segments.list_title", name=segment.name, page=result.page + 1) if result.customers
                else context.t("segments.list_empty", name=segment.name))
    await common.reply(update, context, key_text, rows)


@common.require_actor("customers.view")
async def delete_segment(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    segment_id = common.int_arg(common.callback_args(update), 0)
    segment = await context.services.segments.segments.get(common.actor_of(context), segment_id)
    await common.reply(update, context, context.t("segments.confirm_delete", name=segment.name),
                [[(context.t("common.yes_delete"), f"sg:delok:{segment_id}"),
                  (context.t("common.cancel"), f"sg:v:{segment_id}")]])


@common.require_actor("customers.view")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    segment_id = common.int_arg(common.callback_args(update), 0)
    segment = await context.services.segments.segments.delete(common.actor_of(context), segment_id)
    await common.answer(update.callback_query)
    await common.reply(update, context, context.t("segments.deleted", name=segment.name),
                [[(context.t("common.restore_named", name=short(segment.name, 30)), f"sg:undo:{segment_id}")],
                 [(context.t("common.back"), "sg:home")]])


@common.require_actor("customers.view")
async def restore_segment(update: Update, context: CrmContext) -> None:
    segment_id = common.int_arg(common.callback_args(update), 0)
    segment = await context.services.segments.segments.restore(common.actor_of(context), segment_id)
    await common.answer(update.callback_query)
    await common.reply(update, context, context.t("segments.restored", name=segment.name), edit=False)
    await _show_segment(update, context, segment_id, edit=False)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    app.add_handlers([
        CommandHandler("segments", segments_home),
        CommandHandler("handover", handover.start),
    ])
    routes: dict[str, Any] = {
        "home": segments_home, "new": new_segment, "b": builder, "f": field_menu, "tg": toggle, "nc": set_days,
        "x": clear_field, "clr": clear_all, "save": save, "v": view_segment, "ls": list_customers,
        "del": delete_segment, "delok": delete_confirmed, "undo": restore_segment,
    }
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^sg:{verb}(:|$)") for verb, func in routes.items()])
    app.add_handlers(handover.handlers())
