"""/newproduct: a product from one line (``/newproduct A-100 Widget 120 TWD``) or asked step by step (SKU,
name, price). Either way what the bot understood is shown with Save / Cancel before anything is stored, and
text typed at that step is never taken as the answer (handlers/core/flow.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.core.money import Money
from crm.sales.catalog import clean_amount, clean_currency, clean_name, clean_sku, parse_line
from crm.sales.model import ProductDraft
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import respond
from handlers.sales.views import PRODUCT, error_text, money

DRAFT_KEY = "product_draft"
KIND = "np"  # steps: np.sku, np.name, np.price (typed), np.confirm (buttons)


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _as_draft(data: dict[str, Any]) -> ProductDraft:
    return ProductDraft(sku=str(data["sku"]), name=str(data["name"]), list_price=Decimal(str(data["price"])),
                        currency=str(data["currency"]))


async def _confirm(update: Update, context: CrmContext, draft: ProductDraft) -> None:
    _keep(context, {"sku": draft.sku, "name": draft.name, "price": str(draft.list_price),
                    "currency": draft.currency})
    flow.ask(context, f"{KIND}.confirm", expects="button", buttons=("np:",), owns=(DRAFT_KEY,))
    text = context.t("sales.new_check", sku=draft.sku, name=draft.name,
                     price=money(Money(draft.list_price, draft.currency)))
    rows = [[(context.t("sales.btn_save"), "np:save"), (context.t("common.cancel"), "np:cancel")]]
    await respond(update, context, text, rows, edit=False)


@require_actor("products.manage")
async def new_product(update: Update, context: CrmContext) -> None:
    line = " ".join(context.args or []).strip()
    if not line:
        _keep(context, {})
        flow.ask(context, f"{KIND}.sku", owns=(DRAFT_KEY,))
        await respond(update, context, context.t("sales.ask_sku"))
        return
    try:
        draft = parse_line(line, context.services.sales.catalog.currency)
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.newproduct_usage"))
        return
    await _confirm(update, context, draft)


async def _step(update: Update, context: CrmContext, field: str, value: Any, next_kind: str, question: str) -> None:
    draft = {**_draft(context), field: value}
    _keep(context, draft)
    flow.ask(context, f"{KIND}.{next_kind}", owns=(DRAFT_KEY,))
    await respond(update, context, context.t(question))


@flow.on_text(f"{KIND}.sku")
@require_actor("products.manage")
async def typed_sku(update: Update, context: CrmContext) -> None:
    try:
        sku = clean_sku(message_text(update))
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    await _step(update, context, "sku", sku, "name", "sales.ask_name")


@flow.on_text(f"{KIND}.name")
@require_actor("products.manage")
async def typed_name(update: Update, context: CrmContext) -> None:
    try:
        name = clean_name(message_text(update), "name", required=True)
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    await _step(update, context, "name", name, "price", "sales.ask_price")


@flow.on_text(f"{KIND}.price")
@require_actor("products.manage")
async def typed_price(update: Update, context: CrmContext) -> None:
    """"120" (in the default currency) or "120 USD"."""
    words = message_text(update).split()
    data = _draft(context)
    try:
        if not words or len(words) > 2:
            raise DomainError("sales.error_amount", field="list_price", value=message_text(update)[:20])
        currency = clean_currency(words[1]) if len(words) == 2 else context.services.sales.catalog.currency
        draft = ProductDraft(sku=str(data.get("sku", "")), name=str(data.get("name", "")),
                             list_price=clean_amount(words[0], "list_price"), currency=currency)
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    await _confirm(update, context, draft)


def _at_confirm(context: CrmContext) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == f"{KIND}.confirm"


@require_actor("products.manage")
async def save(update: Update, context: CrmContext) -> None:
    data = _draft(context)
    if not _at_confirm(context) or not data:
        raise DomainError("error.stale_button")
    product = await context.services.sales.catalog.create(actor_of(context), _as_draft(data))
    flow.abandon(context)
    await PRODUCT.show(update, context, product.id, note=context.t("sales.created", sku=product.sku))


@require_actor("products.manage")
async def cancel(update: Update, context: CrmContext) -> None:
    if _at_confirm(context):
        flow.abandon(context)
    await respond(update, context, context.t("sales.new_cancelled"))


@flow.on_stray(f"{KIND}.confirm")
@require_actor("products.manage")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the summary waits: show the summary again; the text is not the product."""
    data = _draft(context)
    if data:
        await _confirm(update, context, _as_draft(data))
