"""/stages: the pipeline's stages for those who may edit them (stages.manage) — rename in three languages, set the
win probability, reorder, add (echoed for one tap), remove and restore. Rules live in crm/sales/stages.py."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound
from crm.sales.opportunity_model import Outcome, Stage
from crm.sales.stages import NAME_FIELDS
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import EntityScreen, Rows, ScreenTexts, arg, grid, respond, word
from handlers.sales.views import error_text
from views.core.text import short
from views.sales.opportunities import stage_label

EDIT = "st.edit"
NEW = "st.new"
DRAFT_KEY = "stage_draft"
FIELDS = (*NAME_FIELDS, "probability")
FIELD_KEYS = {"name": "sales.stage_field_name", "name_zh_hant": "sales.stage_field_name_zh_hant",
              "name_zh_hans": "sales.stage_field_name_zh_hans", "probability": "sales.stage_field_probability"}
OUTCOME_KEYS = {Outcome.OPEN: "sales.stage_open", Outcome.WON: "sales.stage_won", Outcome.LOST: "sales.stage_lost"}
TEXTS = ScreenTexts(edit_title="", pick_value="", ask_value="", ask_list_value="",
                    confirm_delete="sales.stage_confirm_remove", trash_title="sales.stage_trash_title",
                    trash_empty="sales.stage_trash_empty")


async def _load(context: CrmContext, stage_id: int) -> Stage:
    return await context.services.sales.stages.get(actor_of(context), stage_id)


def _render(context: CrmContext, stage: Stage) -> tuple[str, Rows]:
    none = context.t("sales.none")

    def line(field: str, value: str | None) -> str:
        return context.t("sales.stage_line", field=context.t(FIELD_KEYS[field]), value=value or none)

    lines = [context.t("sales.stage_title", name=stage.name), line("name_zh_hant", stage.name_zh_hant),
             line("name_zh_hans", stage.name_zh_hans), line("probability", f"{stage.probability.normalize():f}%"),
             context.t(OUTCOME_KEYS[stage.outcome])]
    fields = [field for field in FIELDS if stage.is_open or field != "probability"]
    edits: list[Button] = [(context.t("sales.stage_edit", field=context.t(FIELD_KEYS[field])),
                            STAGE.data("ef", stage.id, field)) for field in fields]
    rows: Rows = [*grid(edits, 2)]
    if stage.is_open:
        rows.append([("⬆️", STAGE.data("up", stage.id)), ("⬇️", STAGE.data("down", stage.id)),
                     (context.t("sales.stage_remove"), STAGE.data("del", stage.id))])
    rows.append([(context.t("sales.stage_back"), STAGE.data("list"))])
    return "\n".join(lines), rows


STAGE = EntityScreen("st", _load, _render)
open_stage = require_actor("stages.manage")(STAGE.open)
stage_card = require_actor("stages.manage")(STAGE.card)


async def _list(update: Update, context: CrmContext, *, edit: bool | None = None, note: str | None = None) -> None:
    stages = await context.services.sales.stages.all(actor_of(context))
    locale = context.locale
    lines = [context.t("sales.stages_title")]
    lines.extend(f"{i}. {stage_label(s, locale)} · {context.t(OUTCOME_KEYS[s.outcome])}"
                 for i, s in enumerate(stages, start=1))
    if note:
        lines.extend(("", note))
    buttons = [(short(stage_label(s, locale), 40), STAGE.data("card", s.id)) for s in stages]
    rows: Rows = [*grid(buttons, 2), [(context.t("sales.stage_add"), STAGE.data("new")),
                                      (context.t("sales.stage_trash"), STAGE.data("trash"))]]
    await respond(update, context, "\n".join(lines), rows, edit=edit)


@require_actor("stages.manage")
async def stages(update: Update, context: CrmContext) -> None:
    await _list(update, context, edit=False)


@require_actor("stages.manage")
async def stage_list(update: Update, context: CrmContext) -> None:
    await _list(update, context)


@require_actor("stages.manage")
async def move_up(update: Update, context: CrmContext) -> None:
    await context.services.sales.stages.move(actor_of(context), arg(update, 0), -1)
    await _list(update, context)


@require_actor("stages.manage")
async def move_down(update: Update, context: CrmContext) -> None:
    await context.services.sales.stages.move(actor_of(context), arg(update, 0), 1)
    await _list(update, context)


# ---- typed values ---------------------------------------------------------------------------------------------

@require_actor("stages.manage")
async def edit_field(update: Update, context: CrmContext) -> None:
    stage = await _load(context, arg(update, 0))
    field = word(update, 1)
    if field not in FIELDS or (field == "probability" and not stage.is_open):
        raise DomainError("error.stale_button")
    current = {"name": stage.name, "name_zh_hant": stage.name_zh_hant, "name_zh_hans": stage.name_zh_hans,
               "probability": f"{stage.probability.normalize():f}%"}[field] or context.t("sales.none")
    flow.ask(context, EDIT, stage_id=stage.id, field=field)
    key = "sales.stage_ask_probability" if field == "probability" else "sales.stage_ask_name"
    await respond(update, context, context.t(key, field=context.t(FIELD_KEYS[field]), current=current), edit=False)


@flow.on_text(EDIT)
@require_actor("stages.manage")
async def typed_value(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    stage_id, field = int(pending.get("stage_id", 0)), str(pending.get("field", ""))
    service, actor, text = context.services.sales.stages, actor_of(context), message_text(update)
    try:
        if field == "probability":
            stage = await service.set_probability(actor, stage_id, text)
        else:
            stage = await service.rename(actor, stage_id, field, text)
    except NotFound:
        flow.end(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    flow.end(context)
    await STAGE.present(update, context, stage, edit=False, note=context.t("sales.saved"))


# ---- adding: the name, echoed, then one tap -------------------------------------------------------------------

@require_actor("stages.manage")
async def new_stage(update: Update, context: CrmContext) -> None:
    flow.ask(context, NEW, owns=(DRAFT_KEY,))
    await respond(update, context, context.t("sales.stage_ask_new"), edit=False)


@flow.on_text(NEW)
@require_actor("stages.manage")
async def typed_new(update: Update, context: CrmContext) -> None:
    name = " ".join(message_text(update).split())
    if not name or len(name) > 40:
        await respond(update, context, context.t("sales.stage_error_name", limit=40))
        return
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = name
    flow.ask(context, f"{NEW}.confirm", expects="button", buttons=("st:add", "st:nocancel"), owns=(DRAFT_KEY,))
    rows = [[(context.t("sales.stage_add_confirm"), STAGE.data("add")),
             (context.t("common.cancel"), STAGE.data("nocancel"))]]
    await respond(update, context, context.t("sales.stage_confirm_new", name=name), rows)


def _draft(context: CrmContext) -> str | None:
    waiting = flow.current(context)
    draft = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    if waiting is None or waiting.kind != f"{NEW}.confirm" or not isinstance(draft, str):
        return None
    return draft


@require_actor("stages.manage")
async def add(update: Update, context: CrmContext) -> None:
    name = _draft(context)
    if name is None:
        raise DomainError("error.stale_button")
    flow.abandon(context)
    stage = await context.services.sales.stages.add(actor_of(context), name)
    await STAGE.present(update, context, stage, note=context.t("sales.saved"))


async def cancel_new(update: Update, context: CrmContext) -> None:
    if _draft(context) is not None:
        flow.abandon(context)
    await respond(update, context, context.t("sales.stage_not_added"))


# ---- removing and restoring -----------------------------------------------------------------------------------

@require_actor("stages.manage")
async def remove(update: Update, context: CrmContext) -> None:
    stage = await _load(context, arg(update, 0))
    await STAGE.confirm_delete(update, context, TEXTS, stage.id, stage.name)


@require_actor("stages.manage")
async def remove_confirmed(update: Update, context: CrmContext) -> None:
    stage = await _load(context, arg(update, 0))
    await context.services.sales.stages.remove(actor_of(context), stage.id)
    await _list(update, context, note=context.t("sales.stage_removed", name=stage.name))


@require_actor("stages.manage")
async def trash(update: Update, context: CrmContext) -> None:
    removed = await context.services.sales.stages.removed(actor_of(context))
    await STAGE.trash(update, context, TEXTS, [(s.id, s.name) for s in removed], 0, False)


@require_actor("stages.manage")
async def restore(update: Update, context: CrmContext) -> None:
    stage = await context.services.sales.stages.restore(actor_of(context), arg(update, 0))
    await STAGE.present(update, context, stage, note=context.t("sales.stage_restored"))
