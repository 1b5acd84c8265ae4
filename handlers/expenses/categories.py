"""``/expensecategories``: the categories as data — add (typed ``key | English | 繁體 | 简体``, echoed for one
tap), rename (typed names), deactivate and activate again.

Buttons (ids only): ec:open:<id>  ec:ren:<id>  ec:off:<id>  ec:on:<id>  ec:add  ec:list  ecn:save  ecn:cancel
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, PermissionDenied, ValidationFailed
from crm.expenses.categories import key_of, names_of
from crm.expenses.model import Category
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond

ADD = "ecn.add"
RENAME = "ecr.names"
DRAFT = "category_draft"


def _text(context: CrmContext, category: Category, active: bool) -> str:
    return "\n".join([
        context.t("expenses.category_title", name=category.display_name(context.locale), key=category.key),
        f"English: {category.name}", f"繁體中文: {category.name_zh_hant or '—'}",
        f"简体中文: {category.name_zh_hans or '—'}",
        context.t("expenses.category_active" if active else "expenses.category_inactive")])


async def _card(update: Update, context: CrmContext, category_id: int, note: str | None = None,
                edit: bool | None = None) -> None:
    service = context.services.expenses.categories
    category, active = await service.get(actor_of(context), category_id)
    rows: Rows = [[(context.t("expenses.btn_rename"), f"ec:ren:{category.id}"),
                   (context.t("expenses.btn_deactivate") if active else context.t("expenses.btn_activate"),
                    f"ec:{'off' if active else 'on'}:{category.id}")]] if service.may_keep(actor_of(context)) else []
    rows.append([(context.t("expenses.btn_back"), "ec:list")])
    text = _text(context, category, active)
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor("expenses.budget")
async def categories(update: Update, context: CrmContext) -> None:
    every = await context.services.expenses.categories.every(actor_of(context))
    rows: Rows = [[(("" if active else "⚫ ") + c.display_name(context.locale), f"ec:open:{c.id}")]
                  for c, active in every]
    if context.services.expenses.categories.may_keep(actor_of(context)):
        rows.append([(context.t("expenses.btn_add_category"), "ec:add")])
    await respond(update, context, context.t("expenses.categories_title"), rows)


@require_actor("expenses.budget")
async def open_category(update: Update, context: CrmContext) -> None:
    await _card(update, context, arg(update, 0))


@require_actor("expenses.budget")
async def rename(update: Update, context: CrmContext) -> None:
    service = context.services.expenses.categories
    category, _ = await service.get(actor_of(context), arg(update, 0))
    if not service.may_keep(actor_of(context)):
        raise PermissionDenied(operation="expenses.budget")
    flow.ask(context, RENAME, category_id=category.id)
    await respond(update, context, context.t("expenses.ask_category_names", key=category.key), edit=False)


@flow.on_text(RENAME)
@require_actor("expenses.budget")
async def typed_names(update: Update, context: CrmContext) -> None:
    category_id = int(flow.pending(context).get("category_id", 0))
    try:
        await context.services.expenses.categories.rename(actor_of(context), category_id, message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("expenses.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await _card(update, context, category_id, context.t("expenses.edited_note"), edit=False)


@require_actor("expenses.budget")
async def deactivate(update: Update, context: CrmContext) -> None:
    await context.services.expenses.categories.set_active(actor_of(context), arg(update, 0), False)
    await _card(update, context, arg(update, 0))


@require_actor("expenses.budget")
async def activate(update: Update, context: CrmContext) -> None:
    await context.services.expenses.categories.set_active(actor_of(context), arg(update, 0), True)
    await _card(update, context, arg(update, 0))


@require_actor("expenses.budget")
async def add(update: Update, context: CrmContext) -> None:
    if not context.services.expenses.categories.may_keep(actor_of(context)):
        raise PermissionDenied(operation="expenses.budget")
    flow.ask(context, ADD, step="text")
    await respond(update, context, context.t("expenses.ask_new_category"), edit=False)


@flow.on_text(ADD)
@require_actor("expenses.budget")
async def typed_category(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.step != "text":
        return
    key, _, names = message_text(update).partition("|")
    try:
        key, names3 = key_of(key), names_of(names)
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" +
                      context.t("expenses.ask_new_category"))
        return
    draft: dict[str, Any] = {"key": key, "names": " | ".join(names3)}
    if context.user_data is not None:
        context.user_data[DRAFT] = draft
    flow.ask(context, ADD, step="confirm", expects="button", buttons=("ecn:",), owns=(DRAFT,))
    await respond(update, context, context.t("expenses.category_check", key=key, names=draft["names"]),
                  [[(context.t("expenses.btn_create"), "ecn:save"), (context.t("common.cancel"), "ecn:cancel")]])


@flow.on_stray(ADD)
@require_actor("expenses.budget")
async def stray(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("expenses.tap_button"))


@require_actor("expenses.budget")
async def save(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if waiting is None or waiting.kind != ADD or waiting.step != "confirm" or not isinstance(draft, dict):
        raise DomainError("error.stale_button")
    category = await context.services.expenses.categories.add(actor_of(context), str(draft["key"]),
                                                              str(draft["names"]))
    flow.abandon(context)
    await _card(update, context, category.id, context.t("expenses.category_added"))


@require_actor("expenses.budget")
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == ADD:
        flow.abandon(context)
    await respond(update, context, context.t("expenses.cancelled"))
