"""``/fields``: the custom fields of each kind of record — list, add (a guided flow ending in an echo to confirm),
edit a label, the choices, the required flag or the order, remove (soft) and restore. ``fields.manage`` only;
every press re-reads through the service, which checks the permission again.

Buttons (ids, kind codes and fixed words only):
  fd:home  fd:ls:<kind>  fd:op:<field>  fd:tr:<kind>  fd:rs:<field>  fd:rm:<field>  fd:rmok:<field>
  fd:rq:<field>  fd:up:<field>  fd:dn:<field>  fd:lb:<field>:<language>  fd:ch:<field>
  fd:add:<kind>  fd:ty:<type>  fd:sk  fd:req:<1|0>  fd:save  fd:x
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.fields.fields import check_choices, clean_labels
from crm.fields.model import LANGUAGES, FieldDef, FieldDraft, FieldEntity, FieldType
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, respond, word

MANAGE = "fields.manage"
NEW = "fd.new"  # the add flow: steps "type", "en", "zh-Hant", "zh-Hans", "choices", "required", "summary"
LABEL = "fd.label"
CHOICES = "fd.choices"
DRAFT_KEY = "field_draft"


def _suffix(lang: str) -> str:
    """A language as part of a message key (``zh-Hant`` → ``zh_Hant``)."""
    return lang.replace("-", "_")


def kind_name(context: CrmContext, entity: FieldEntity | str) -> str:
    return context.t(f"fields.kind_{FieldEntity(entity).value}")


def type_name(context: CrmContext, kind: FieldType | str) -> str:
    return context.t(f"fields.type_{FieldType(kind).value}")


def _entity(update: Update, index: int = 0) -> FieldEntity:
    try:
        return FieldEntity(word(update, index))
    except ValueError as exc:
        raise DomainError("error.stale_button") from exc


def describe(context: CrmContext, field: FieldDef | dict[str, Any]) -> str:
    """A field (or the add flow's draft) as the admin checks it: labels, type, choices, required."""
    if isinstance(field, FieldDef):
        labels, kind, choices, required = field.labels, field.type, field.choices, field.required
        entity: FieldEntity | str = field.entity
    else:
        labels, kind = field.get("labels", {}), field.get("type", "text")
        choices, required, entity = tuple(field.get("choices", ())), bool(field.get("required")), field["entity"]
    lines = [context.t("fields.line_kind", kind=kind_name(context, entity)),
             context.t("fields.line_type", type=type_name(context, kind))]
    for lang in LANGUAGES:
        lines.append(context.t(f"fields.line_label_{_suffix(lang)}", label=labels.get(lang) or "—"))
    if choices:
        lines.append(context.t("fields.line_choices", choices=", ".join(choices)))
    lines.append(context.t("fields.line_required" if required else "fields.line_optional"))
    return "\n".join(lines)


# ---- lists --------------------------------------------------------------------------------------------------

@require_actor(MANAGE)
async def fields_home(update: Update, context: CrmContext) -> None:
    """``/fields``: which kind of record's fields."""
    buttons = [(kind_name(context, e), f"fd:ls:{e.value}") for e in FieldEntity]
    await respond(update, context, context.t("fields.home"), grid(buttons, 2))


async def show_list(update: Update, context: CrmContext, entity: FieldEntity, *, note: str | None = None,
                    edit: bool | None = None) -> None:
    actor = actor_of(context)
    actor.require(MANAGE)
    fields = await context.services.fields.fields.listed(actor, entity)
    rows: Rows = [[(f"{f.label(actor.locale)} · {type_name(context, f.type)}{' *' if f.required else ''}",
                    f"fd:op:{f.id}")] for f in fields]
    rows.append([(context.t("fields.btn_add"), f"fd:add:{entity.value}"),
                 (context.t("fields.btn_removed"), f"fd:tr:{entity.value}")])
    rows.append([(context.t("fields.btn_back"), "fd:home")])
    text = context.t("fields.list_title", kind=kind_name(context, entity)) if fields else \
        context.t("fields.list_none", kind=kind_name(context, entity))
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor(MANAGE)
async def list_fields(update: Update, context: CrmContext) -> None:
    await show_list(update, context, _entity(update))


@require_actor(MANAGE)
async def removed(update: Update, context: CrmContext) -> None:
    entity = _entity(update)
    actor = actor_of(context)
    fields = await context.services.fields.fields.listed(actor, entity, deleted=True)
    rows: Rows = [[(context.t("fields.btn_restore", label=f.label(actor.locale)), f"fd:rs:{f.id}")]
                  for f in fields]
    rows.append([(context.t("fields.btn_back"), f"fd:ls:{entity.value}")])
    key = "fields.removed_title" if fields else "fields.removed_none"
    await respond(update, context, context.t(key, kind=kind_name(context, entity)), rows)


async def show_field(update: Update, context: CrmContext, field: FieldDef, *, note: str | None = None,
                     edit: bool | None = None) -> None:
    f = field.id
    rows: Rows = [[(context.t(f"fields.btn_label_{_suffix(lang)}"), f"fd:lb:{f}:{lang}") for lang in LANGUAGES]]
    second = [(context.t("fields.btn_optional" if field.required else "fields.btn_required"), f"fd:rq:{f}"),
              ("⬆️", f"fd:up:{f}"), ("⬇️", f"fd:dn:{f}")]
    rows.append(second)
    if field.type.has_choices:
        rows.append([(context.t("fields.btn_choices"), f"fd:ch:{f}")])
    rows.append([(context.t("fields.btn_remove"), f"fd:rm:{f}"),
                 (context.t("fields.btn_back"), f"fd:ls:{field.entity.value}")])
    text = describe(context, field)
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor(MANAGE)
async def open_field(update: Update, context: CrmContext) -> None:
    await show_field(update, context, await context.services.fields.fields.get(actor_of(context), arg(update, 0)))


# ---- changes ------------------------------------------------------------------------------------------------

@require_actor(MANAGE)
async def toggle_required(update: Update, context: CrmContext) -> None:
    service = context.services.fields.fields
    field = await service.get(actor_of(context), arg(update, 0))
    changed = await service.edit(actor_of(context), field.id, required=not field.required)
    await show_field(update, context, changed, note=context.t("fields.saved"))


async def _move(update: Update, context: CrmContext, step: int) -> None:
    changed = await context.services.fields.fields.edit(actor_of(context), arg(update, 0), move=step)
    await show_list(update, context, changed.entity, note=context.t("fields.moved"))


@require_actor(MANAGE)
async def move_up(update: Update, context: CrmContext) -> None:
    await _move(update, context, -1)


@require_actor(MANAGE)
async def move_down(update: Update, context: CrmContext) -> None:
    await _move(update, context, 1)


@require_actor(MANAGE)
async def remove_ask(update: Update, context: CrmContext) -> None:
    field = await context.services.fields.fields.get(actor_of(context), arg(update, 0))
    rows: Rows = [[(context.t("fields.btn_remove_yes"), f"fd:rmok:{field.id}"),
                   (context.t("fields.btn_back"), f"fd:op:{field.id}")]]
    await respond(update, context, context.t("fields.remove_ask", label=field.label(actor_of(context).locale)),
                  rows)


@require_actor(MANAGE)
async def remove_ok(update: Update, context: CrmContext) -> None:
    field = await context.services.fields.fields.remove(actor_of(context), arg(update, 0))
    await show_list(update, context, field.entity,
                    note=context.t("fields.removed", label=field.label(actor_of(context).locale)))


@require_actor(MANAGE)
async def restore(update: Update, context: CrmContext) -> None:
    field = await context.services.fields.fields.restore(actor_of(context), arg(update, 0))
    await show_list(update, context, field.entity,
                    note=context.t("fields.restored", label=field.label(actor_of(context).locale)))


@require_actor(MANAGE)
async def label_ask(update: Update, context: CrmContext) -> None:
    lang = word(update, 1)
    if lang not in LANGUAGES:
        raise DomainError("error.stale_button")
    field = await context.services.fields.fields.get(actor_of(context), arg(update, 0))
    flow.ask(context, LABEL, field_id=field.id, lang=lang)
    await respond(update, context, context.t(f"fields.ask_label_{_suffix(lang)}"), edit=False)


@flow.on_text(LABEL)
@require_actor(MANAGE)
async def typed_label(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    field_id, lang = int(pending.get("field_id", 0)), str(pending.get("lang", "en"))
    text = message_text(update).strip()
    try:
        changed = await context.services.fields.fields.edit(
            actor_of(context), field_id, labels={lang: "" if text == "-" and lang != "en" else text})
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("fields.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await show_field(update, context, changed, note=context.t("fields.saved"), edit=False)


@require_actor(MANAGE)
async def choices_ask(update: Update, context: CrmContext) -> None:
    field = await context.services.fields.fields.get(actor_of(context), arg(update, 0))
    if not field.type.has_choices:
        raise DomainError("error.stale_button")
    flow.ask(context, CHOICES, field_id=field.id)
    await respond(update, context, context.t("fields.ask_choices") + "\n" +
                  context.t("fields.current_choices", choices=", ".join(field.choices)), edit=False)


@flow.on_text(CHOICES)
@require_actor(MANAGE)
async def typed_choices(update: Update, context: CrmContext) -> None:
    field_id = int(flow.pending(context).get("field_id", 0))
    try:
        changed = await context.services.fields.fields.edit(actor_of(context), field_id,
                                                            choices=check_choices(message_text(update)))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("fields.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await show_field(update, context, changed, note=context.t("fields.saved"), edit=False)


# ---- adding: a guided flow ending in an echo --------------------------------------------------------------

def _draft(context: CrmContext) -> dict[str, Any] | None:
    draft = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return draft if isinstance(draft, dict) else None


async def _ask(update: Update, context: CrmContext, draft: dict[str, Any], step: str, *,
               error: str | None = None) -> None:
    rows: Rows = []
    expects = "text"
    if step == "type":
        rows = grid([(type_name(context, t), f"fd:ty:{t.value}") for t in FieldType], 3)
        text, expects = context.t("fields.ask_type", kind=kind_name(context, draft["entity"])), "button"
    elif step in LANGUAGES:
        text = context.t(f"fields.ask_label_{_suffix(step)}")
        if step != "en":
            rows = [[(context.t("fields.btn_skip"), "fd:sk")]]
    elif step == "choices":
        text = context.t("fields.ask_choices")
    elif step == "required":
        rows = [[(context.t("fields.btn_yes"), "fd:req:1"), (context.t("fields.btn_no"), "fd:req:0")]]
        text, expects = context.t("fields.ask_required"), "button"
    else:
        rows = [[(context.t("fields.btn_save"), "fd:save"), (context.t("fields.btn_cancel"), "fd:x")]]
        text, expects = context.t("fields.confirm") + "\n\n" + describe(context, draft), "button"
    rows.append([(context.t("fields.btn_cancel"), "fd:x")]) if step != "summary" else None
    flow.ask(context, NEW, step=step, expects="button" if expects == "button" else "text", buttons=("fd:",),
             owns=(DRAFT_KEY,))
    await respond(update, context, f"{error}\n\n{text}" if error else text, rows, edit=False)


def _next(draft: dict[str, Any], step: str) -> str:
    order = ["type", *LANGUAGES, "choices", "required", "summary"]
    following = order[order.index(step) + 1]
    if following == "choices" and not FieldType(draft["type"]).has_choices:
        return "required"
    return following


def _step(context: CrmContext) -> str:
    waiting = flow.current(context)
    return (waiting.step or "") if waiting is not None and waiting.kind == NEW else ""


async def _lost(update: Update, context: CrmContext) -> None:
    flow.end(context) if flow.pending(context).get("kind") == NEW else None
    await respond(update, context, context.t("fields.draft_lost"), edit=False)


@require_actor(MANAGE)
async def add_start(update: Update, context: CrmContext) -> None:
    entity = _entity(update)
    assert context.user_data is not None
    draft: dict[str, Any] = {"entity": entity.value, "type": None, "labels": {}, "choices": [], "required": False}
    context.user_data[DRAFT_KEY] = draft
    await _ask(update, context, draft, "type")


@require_actor(MANAGE)
async def pick_type(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if draft is None or _step(context) != "type":
        await _lost(update, context)
        return
    try:
        draft["type"] = FieldType(word(update, 0)).value
    except ValueError as exc:
        raise DomainError("error.stale_button") from exc
    await _ask(update, context, draft, "en")


@flow.on_text(NEW)
@require_actor(MANAGE)
async def typed(update: Update, context: CrmContext) -> None:
    draft, step = _draft(context), _step(context)
    if draft is None or not step:
        await _lost(update, context)
        return
    text = message_text(update).strip()
    try:
        if step in LANGUAGES:
            labels = {**draft["labels"], step: text}
            clean_labels({"en": labels.get("en") or text, **{k: v for k, v in labels.items() if k != "en"}})
            draft["labels"] = labels
        elif step == "choices":
            choices = check_choices(text)
            context.services.fields.fields.check_draft(FieldDraft(
                FieldEntity(draft["entity"]), FieldType(draft["type"]), {"en": "x"}, choices))
            draft["choices"] = list(choices)
    except ValidationFailed as exc:
        await _ask(update, context, draft, step, error=context.t(exc.key, **exc.params))
        return
    await _ask(update, context, draft, _next(draft, step))


@require_actor(MANAGE)
async def skip(update: Update, context: CrmContext) -> None:
    draft, step = _draft(context), _step(context)
    if draft is None or step not in LANGUAGES[1:]:
        await _lost(update, context)
        return
    await _ask(update, context, draft, _next(draft, step))


@require_actor(MANAGE)
async def pick_required(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if draft is None or _step(context) != "required":
        await _lost(update, context)
        return
    draft["required"] = word(update, 0) == "1"
    await _ask(update, context, draft, "summary")


@require_actor(MANAGE)
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if draft is None or _step(context) != "summary":
        await _lost(update, context)
        return
    field_draft = FieldDraft(FieldEntity(draft["entity"]), FieldType(draft["type"]), dict(draft["labels"]),
                             tuple(draft["choices"]), bool(draft["required"]))
    try:
        field = await context.services.fields.fields.define(actor_of(context), field_draft)
    except ValidationFailed as exc:
        await _ask(update, context, draft, "en", error=context.t(exc.key, **exc.params))
        return
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    flow.end(context)
    await show_list(update, context, field.entity, edit=False,
                    note=context.t("fields.created", label=field.label(actor_of(context).locale)))


async def cancel(update: Update, context: CrmContext) -> None:
    flow.abandon(context) if flow.pending(context).get("kind") == NEW else None
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    await respond(update, context, context.t("fields.cancelled"), edit=False)


@flow.on_stray(NEW)
async def typed_at_button(update: Update, context: CrmContext) -> None:
    """Typed text where a button is expected (the type, required, the confirmation): the question again."""
    draft, step = _draft(context), _step(context)
    if draft is None or not step:
        await _lost(update, context)
        return
    await _ask(update, context, draft, step, error=context.t("fields.use_buttons"))
