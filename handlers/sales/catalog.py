"""/products and /product: browse the category tree with buttons, search by typing, open a product's card,
edit its fields (the entity-screen kit), delete and restore; categories are added from the browser.

Typing after /products searches the catalog: /products asks for it through handlers/core/flow.py, so /cancel,
the timeout and any other command end the search like every other question.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound
from crm.sales.model import ProductCard
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Editable, EditMenu, ScreenTexts, arg, page_arg, respond
from handlers.sales.views import (
    PRODUCT,
    TOP,
    error_text,
    field_label,
    load_card,
    money,
    product_name,
    render_category,
    results_rows,
)

SEARCH = "pr.search"
EDIT = "pr.edit"
NEW_CATEGORY = "pr.category"
CLEAR = "-"

TEXTS = ScreenTexts(
    edit_title="sales.edit_title", pick_value="sales.pick_value", ask_value="sales.ask_value",
    ask_list_value="sales.ask_value", confirm_delete="sales.confirm_delete", trash_title="sales.trash_title",
    trash_empty="sales.trash_empty",
)


def _current(context: CrmContext, card: ProductCard, field: str) -> str:
    p = card.product
    values: dict[str, Any] = {
        "sku": p.sku, "name": p.name, "name_zh_hant": p.name_zh_hant, "name_zh_hans": p.name_zh_hans,
        "category": card.path[-1].name if card.path else None, "unit": p.unit, "list_price": p.list_price,
        "currency": p.currency, "cost": p.cost, "tax_rate": p.tax_rate, "photo": p.photo_file_id and "📷",
    }
    value = values.get(field)
    return str(value) if value not in (None, "") else context.t("sales.none")


def _ask_edit(context: CrmContext, product_id: int, field: str) -> None:
    # A photo is an answer too (on_message below): the "photo" field takes one.
    flow.ask(context, EDIT, product_id=product_id, field=field)


PRODUCT_EDIT = EditMenu(
    PRODUCT, load_card, lambda card: card.product.name, label=field_label, current=_current, texts=TEXTS,
    ask=_ask_edit,
    fields=(
        Editable("name"), Editable("name_zh_hant"), Editable("name_zh_hans"), Editable("sku"),
        Editable("category"), Editable("unit"), Editable("list_price"), Editable("currency"), Editable("cost"),
        Editable("tax_rate"),
        Editable("active", lambda context: [(context.t("sales.active_yes"), "1"), (context.t("sales.active_no"), "0")],
                 lambda value: {"1": True, "0": False}[value]),
        Editable("photo"),
    ),
)


# ---- browsing and searching ------------------------------------------------------------------------------

async def _browse(update: Update, context: CrmContext, category_id: int | None, page: int) -> None:
    shown = await context.services.sales.catalog.browse(actor_of(context), category_id, page)
    flow.ask(context, SEARCH)
    text, rows = render_category(context, shown)
    await respond(update, context, text, rows)


@require_actor()
async def products(update: Update, context: CrmContext) -> None:
    """/products: the top of the category tree; typing now searches the catalog."""
    await _browse(update, context, None, 0)


@require_actor()
async def category(update: Update, context: CrmContext) -> None:
    category_id = arg(update, 0)
    await _browse(update, context, category_id if category_id != TOP else None, page_arg(update, 1))


async def _results(update: Update, context: CrmContext, query: str, page: int = 0) -> None:
    found = await context.services.sales.catalog.search(actor_of(context), query, page)
    if not found.products:
        await respond(update, context, context.t("sales.nothing_found", query=query[:60]))
        return
    if len(found.products) == 1 and page == 0:
        await PRODUCT.show(update, context, found.products[0].id, edit=False)
        return
    if context.user_data is not None:
        context.user_data["product_query"] = query[:100]
    more = f"pr:more:{page + 1}" if found.has_more else None
    await respond(update, context, context.t("sales.results_title", query=query[:60]),
                  results_rows(context, found.products, more), edit=False)


@flow.on_text(SEARCH)
@require_actor()
async def typed_search(update: Update, context: CrmContext) -> None:
    flow.ask(context, SEARCH)  # the next line typed searches again, until /cancel or another command
    await _results(update, context, message_text(update).strip())


@require_actor()
async def more_results(update: Update, context: CrmContext) -> None:
    query = context.user_data.get("product_query") if context.user_data is not None else None
    if not isinstance(query, str):
        raise DomainError("error.stale_button")
    await _results(update, context, query, page_arg(update))


@require_actor()
async def product(update: Update, context: CrmContext) -> None:
    """/product <SKU or name>: the card when one product matches, else the matches as buttons."""
    query = " ".join(context.args or []).strip()
    if not query:
        await respond(update, context, context.t("sales.product_usage"))
        return
    found = await context.services.sales.catalog.find(actor_of(context), query)
    if len(found.products) == 1:
        await PRODUCT.show(update, context, found.products[0].id, edit=False)
        return
    await _results(update, context, query)


open_product = require_actor()(PRODUCT.open)
product_card = require_actor()(PRODUCT.card)


@require_actor()
async def photo(update: Update, context: CrmContext) -> None:
    card = await load_card(context, arg(update, 0))
    if not card.product.photo_file_id:
        raise NotFound()
    await respond(update, context, context.t("sales.photo_of", name=product_name(context, card.product)))
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_photo(chat.id, card.product.photo_file_id)


# ---- editing ---------------------------------------------------------------------------------------------

edit_menu = require_actor("products.manage")(PRODUCT_EDIT.menu)
edit_field = require_actor("products.manage")(PRODUCT_EDIT.ask_field)


async def _save(update: Update, context: CrmContext, product_id: int, changes: dict[str, Any],
                edit: bool | None = None) -> None:
    before, after = await context.services.sales.catalog.edit(actor_of(context), product_id, changes)
    note = context.t("sales.saved")
    if after.price != before.price:
        note = context.t("sales.price_changed", before=money(before.price), after=money(after.price))
    await PRODUCT.show(update, context, product_id, edit=edit, note=note)


def _typed_value(field: str, text: str) -> Any:
    value = text.strip()
    if value == CLEAR and field in ("name_zh_hant", "name_zh_hans", "cost", "category", "photo"):
        return None
    return value


@flow.on_text(EDIT)
@require_actor("products.manage")
async def typed_edit(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    product_id, field = int(pending.get("product_id", 0)), str(pending.get("field", ""))
    if field not in PRODUCT_EDIT.typed:
        flow.end(context)
        return
    value = _typed_value(field, message_text(update))
    if field == "photo" and value is not None:
        await respond(update, context, context.t("sales.send_photo"))  # a photo, or "-" to remove it
        return
    changes = {"photo_file_id": value} if field == "photo" else {field: value}
    try:
        await _save(update, context, product_id, changes, edit=False)
    except NotFound:
        flow.end(context)
        raise
    except DomainError as exc:
        # The question stays open: the value is typed again.
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    flow.end(context)


@flow.on_message(EDIT)
@require_actor("products.manage")
async def sent_photo(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    message = update.effective_message
    if pending.get("field") != "photo" or message is None or not message.photo:
        await respond(update, context, context.t("sales.send_photo"))
        return
    await _save(update, context, int(pending.get("product_id", 0)), {"photo_file_id": message.photo[-1].file_id},
                edit=False)
    flow.end(context)


@require_actor("products.manage")
async def set_choice(update: Update, context: CrmContext) -> None:
    product_id, field, value = PRODUCT_EDIT.picked(update)
    await _save(update, context, product_id, {field: value})


# ---- delete, trash, restore ------------------------------------------------------------------------------

@require_actor("products.manage")
async def delete(update: Update, context: CrmContext) -> None:
    card = await load_card(context, arg(update, 0))
    await PRODUCT.confirm_delete(update, context, TEXTS, card.product.id, product_name(context, card.product))


@require_actor("products.manage")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    product = await context.services.sales.catalog.delete(actor_of(context), arg(update, 0))
    await respond(update, context, context.t("sales.deleted", name=product_name(context, product)),
                  [[(context.t("sales.btn_restore"), f"pr:rst:{product.id}")]])


@require_actor("products.manage")
async def trash(update: Update, context: CrmContext) -> None:
    page = page_arg(update)
    found = await context.services.sales.catalog.trash(actor_of(context), page)
    items = [(p.id, f"{p.sku} · {product_name(context, p)}") for p in found.products]
    await PRODUCT.trash(update, context, TEXTS, items, page, found.has_more)


@require_actor("products.manage")
async def restore(update: Update, context: CrmContext) -> None:
    product = await context.services.sales.catalog.restore(actor_of(context), arg(update, 0))
    await PRODUCT.show(update, context, product.id,
                       note=context.t("sales.restored", name=product_name(context, product)))


# ---- categories ------------------------------------------------------------------------------------------

@require_actor("products.manage")
async def new_category(update: Update, context: CrmContext) -> None:
    parent = arg(update, 0)
    flow.ask(context, NEW_CATEGORY, parent_id=parent if parent != TOP else None)
    await respond(update, context, context.t("sales.ask_category_name"), edit=False)


@flow.on_text(NEW_CATEGORY)
@require_actor("products.manage")
async def typed_category(update: Update, context: CrmContext) -> None:
    parent = flow.pending(context).get("parent_id")
    try:
        created = await context.services.sales.catalog.create_category(
            actor_of(context), message_text(update), int(parent) if parent is not None else None)
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    flow.end(context)
    shown = await context.services.sales.catalog.browse(actor_of(context), created.id, 0)
    text, rows = render_category(context, shown)
    await respond(update, context, context.t("sales.category_created", name=created.name) + "\n\n" + text, rows)

