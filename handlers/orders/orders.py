"""Orders in chat: ``/order`` guided (customer → products → review → delivery date → confirm) or in one message
(``/order 台積電 A-100 x3, B-20 x12``, echoed with prices and totals for one tap), the order card with Ship /
Delivered / Cancel, shipping all or part, and ``/orders``.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  orn:cu:<customer>  orn:last  orn:cat:<category|0>  orn:p:<product>  orn:q:<line>:<0 less|1 more>  orn:rm:<line>
  orn:add  orn:rev  orn:when  orn:nodate  orn:ok  orn:x
  or:open:<id>  or:card:<id>  or:lines:<id>  or:ship:<id>  or:part:<id>  or:dlv:<id>  or:cxl:<id>  or:apv:<id>
  or:rej:<id>  or:list:<page>  ors:q:<line>:<0 less|1 more|2 all>  ors:next  ors:none  ors:go  ors:x

The draft lives in ``user_data`` (persisted: a restart keeps it); nothing is stored before ✅ Confirm. Typed text
at the products step or the review adds items (``A-100 x3, B-20``) or searches the catalog by name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.core.natural_dates import parse_when
from crm.customers.model import EntityKind, SearchHit
from crm.orders.line import parse_items, parse_order_line
from crm.orders.model import Order, OrderCard
from crm.sales.quote_model import MAX_QUANTITY, LineDraft
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import EntityScreen, Rows, arg, grid, page_arg, paged, respond
from handlers.fields import asking
from handlers.fields import values as field_values
from handlers.sales.discounts import ask_approvers, tell_requester
from handlers.sales.views import error_text
from views.core.formatting import zone
from views.core.text import short
from views.orders.orders import (
    all_lines_text,
    card_rows,
    card_text,
    quantity_text,
    review_text,
    row_label,
)

DRAFT_KEY = "order_draft"
KIND = "order"  # its custom fields (handlers/fields)
SHIP_KEY = "shipment_draft"
CUSTOMER, ITEMS, WHEN, CONFIRM = "orn.customer", "orn.items", "orn.when", "orn.confirm"
REASON = "orc.reason"
CARRIER, SHIP_CONFIRM, SHIP_PICK = "ors.carrier", "ors.confirm", "ors.pick"
PICKS = 8  # customers or products offered as buttons at once
LESS, MORE, ALL = 0, 1, 2  # ➖ ➕ and "all that is left" in callback data (a button's numbers are never negative)


def _now(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


def _error(context: CrmContext, exc: DomainError) -> str:
    return error_text(context, exc)


# ---- the card and /orders ----------------------------------------------------------------------------------

async def _load(context: CrmContext, order_id: int) -> OrderCard:
    return await context.services.orders.orders.card(actor_of(context), order_id)


def _render(context: CrmContext, card: OrderCard) -> tuple[str, Rows]:
    text = card_text(context.t, card, locale=context.locale)
    if card.custom:
        text += "\n" + field_values.render_section(context, card.custom)
    rows = card_rows(context.t, actor_of(context), card)
    if fields_button := field_values.section_button(context, KIND, card.order.id):
        rows.append([fields_button])
    return text, rows


ORDER = EntityScreen("or", _load, _render)
open_order = require_actor("sales.view")(ORDER.open)
order_card = require_actor("sales.view")(ORDER.card)


@require_actor("sales.view")
async def lines(update: Update, context: CrmContext) -> None:
    card = await _load(context, arg(update, 0))
    await respond(update, context, all_lines_text(context.t, card, locale=context.locale),
                  [[ORDER.back(context, card.order.id)]])


@require_actor("sales.view")
async def orders(update: Update, context: CrmContext) -> None:
    """``/orders``: the orders within the reader's scope, newest first, a page at a time."""
    page = page_arg(update) if update.callback_query else 0
    rows, has_more = await context.services.orders.orders.listed(actor_of(context), page=page)
    if not rows and page == 0:
        await respond(update, context, context.t("orders.list_empty"))
        return
    buttons = paged(rows, lambda r: (row_label(r), f"or:open:{r.id}"), lambda p: f"or:list:{p}", page, has_more)
    await respond(update, context, context.t("orders.list_title", page=page + 1), buttons)


# ---- the draft --------------------------------------------------------------------------------------------

def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _lines(draft: dict[str, Any]) -> list[list[Any]]:
    found = draft.get("lines")
    return [list(x) for x in found] if isinstance(found, list) else []


def _drafts(draft: dict[str, Any]) -> list[LineDraft]:
    return [LineDraft(product_id=int(pid), quantity=Decimal(str(qty))) for pid, qty in _lines(draft)]


def _delivery(draft: dict[str, Any]) -> date | None:
    value = draft.get("delivery")
    return date.fromisoformat(value) if isinstance(value, str) else None


def _merge(draft: dict[str, Any], drafts: list[LineDraft]) -> dict[str, Any]:
    """Add lines; a product already on the draft gets the quantity added."""
    current = _lines(draft)
    for new in drafts:
        same = next((line for line in current if int(line[0]) == new.product_id), None)
        if same is not None:
            same[1] = str(min(Decimal(str(same[1])) + new.quantity, MAX_QUANTITY))
        else:
            current.append([new.product_id, str(new.quantity)])
    return {**draft, "lines": current}


def _in_flow(context: CrmContext, *kinds: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind in kinds and "customer_id" in _draft(context)


async def _preview(context: CrmContext, draft: dict[str, Any]) -> Order:
    if "editing" in draft:  # an order already taken: its prices are kept, the discount checked again
        return await context.services.orders.orders.preview_edit(actor_of(context), int(draft["editing"]),
                                                                  _drafts(draft), delivery_date=_delivery(draft))
    return await context.services.orders.orders.preview(actor_of(context), int(draft["customer_id"]),
                                                         _drafts(draft), delivery_date=_delivery(draft))


async def _ask_items(update: Update, context: CrmContext, draft: dict[str, Any], note: str = "") -> None:
    """The products step: type SKUs (with quantities) or a name, repeat the last order, or browse."""
    _keep(context, draft)
    flow.ask(context, ITEMS, buttons=("orn:",), owns=(DRAFT_KEY,))
    rows: Rows = []
    if draft.get("has_last"):
        rows.append([(context.t("orders.btn_same_as_last"), "orn:last")])
    rows.append([(context.t("orders.btn_categories"), "orn:cat:0")])
    if _lines(draft):
        rows.append([(context.t("orders.btn_review"), "orn:rev")])
    rows.append([(context.t("common.cancel"), "orn:x")])
    text = context.t("orders.ask_items", customer=draft["customer_name"])
    await respond(update, context, f"{note}\n{text}".strip(), rows, edit=False)


async def _review(update: Update, context: CrmContext, draft: dict[str, Any], *, edit: bool | None = None) -> None:
    """The draft with prices and totals; each line can be changed (➖ ➕) or removed before confirming. A change
    the price rules refuse (a product in another currency, one made inactive) is not kept."""
    if not _lines(draft):
        await _ask_items(update, context, draft)
        return
    try:
        order = await _preview(context, draft)
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc), edit=False)
        return
    _keep(context, draft)
    flow.ask(context, ITEMS, buttons=("orn:",), owns=(DRAFT_KEY,))
    rows: Rows = []
    for line in order.lines:
        rows.append([("➖", f"orn:q:{line.position}:{LESS}"),
                     (short(f"🗑 {line.sku} ×{quantity_text(line.quantity)}", 30), f"orn:rm:{line.position}"),
                     ("➕", f"orn:q:{line.position}:{MORE}")])
    rows.append([(context.t("orders.btn_add"), "orn:add"), (context.t("orders.btn_when"), "orn:when")])
    rows.append([(context.t("common.cancel"), "orn:x")])
    text = review_text(context.t, order, str(draft["customer_name"]), title="orders.review_title",
                       locale=context.locale)
    await respond(update, context, text + "\n\n" + context.t("orders.review_hint"), rows, edit=edit)


async def _confirm(update: Update, context: CrmContext, draft: dict[str, Any], order: Order | None = None) -> None:
    """What would be saved, for one tap; typed text now is not an answer. A new order's custom fields are asked
    first (those not answered yet; a required one always)."""
    _keep(context, draft)
    if "editing" not in draft and await asking.next_question(update, context, KIND, DRAFT_KEY, "orn"):
        return
    order = order or await _preview(context, draft)
    flow.ask(context, CONFIRM, expects="button", buttons=("orn:",), owns=(DRAFT_KEY,))
    rows = [[(context.t("orders.btn_confirm"), "orn:ok")],
            [(context.t("orders.btn_edit"), "orn:rev"), (context.t("orders.btn_when"), "orn:when"),
             (context.t("common.cancel"), "orn:x")]]
    text = review_text(context.t, order, str(draft["customer_name"]), title="orders.confirm_title",
                       locale=context.locale)
    if "editing" not in draft and (extra := await asking.summary_lines(context, KIND, draft)):
        text += "\n" + "\n".join(extra)
    await respond(update, context, text, rows, edit=False)


@asking.resumes("orn")
async def _fields_asked(update: Update, context: CrmContext) -> None:
    await _confirm(update, context, _draft(context))


async def _with_customer(update: Update, context: CrmContext, customer_id: int, name: str,
                         draft: dict[str, Any]) -> None:
    """The customer is known: to the echo when items were given, else to the products step."""
    draft = {**draft, "customer_id": customer_id, "customer_name": name}
    if _lines(draft):
        await _confirm(update, context, draft)
        return
    last = await context.services.orders.orders.last_lines(actor_of(context), customer_id)
    await _ask_items(update, context, {**draft, "has_last": bool(last)})


def _customers(hits: tuple[SearchHit, ...]) -> list[SearchHit]:
    return [h for h in hits if h.entity is EntityKind.CUSTOMER]


async def _find_customer(update: Update, context: CrmContext, text: str, draft: dict[str, Any]) -> None:
    """One customer by this name (or only one like it) → on; several → buttons to pick; none → ask again."""
    actor = actor_of(context)
    service = context.services.customers.customers
    exact = _customers((await service.named(actor, [text])).get(text, ()))
    found = exact if exact else _customers((await service.search(actor, text)).hits)
    if len(exact) == 1 or (not exact and len(found) == 1):
        # One customer by that name (or only one like it): on; the echo names them in full before anything is kept.
        await _with_customer(update, context, found[0].id, found[0].title, draft)
        return
    _keep(context, draft)
    flow.ask(context, CUSTOMER, buttons=("orn:",), owns=(DRAFT_KEY,))
    if not found:
        await respond(update, context, context.t("orders.no_customer", name=text), edit=False)
        return
    rows = grid([(short(h.title, 40), f"orn:cu:{h.id}") for h in found[:PICKS]], 1)
    rows.append([(context.t("common.cancel"), "orn:x")])
    await respond(update, context, context.t("orders.pick_customer", name=text), rows, edit=False)


@require_actor("orders.create")
async def new_order(update: Update, context: CrmContext) -> None:
    """``/order`` asks for the customer; ``/order 台積電`` starts at the products; ``/order 台積電 A-100 x3, B-20
    x12`` is echoed with prices and totals for one tap."""
    line = " ".join(context.args or []).strip()
    if not line:
        _keep(context, {})
        flow.ask(context, CUSTOMER, buttons=("orn:",), owns=(DRAFT_KEY,))
        await respond(update, context, context.t("orders.ask_customer"), edit=False)
        return
    try:
        line, typed = await asking.take_line(context, KIND, line)  # `label=value` parts: custom fields
    except DomainError as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("orders.usage"), edit=False)
        return
    try:
        parsed = parse_order_line(line)
    except DomainError:
        await _find_customer(update, context, line, {**typed})
        return
    if not parsed.customer:
        await respond(update, context, context.t("orders.usage"), edit=False)
        return
    actor, service = actor_of(context), context.services.orders.orders
    # The whole text is asked about as a name only when it could be one ("/order Acme Corp": one "item").
    named = await context.services.customers.customers.named(
        actor, [parsed.customer, line] if len(parsed.items) == 1 else [parsed.customer])
    exact = _customers(named.get(parsed.customer, ()))
    try:
        if len(exact) == 1:
            # The common case in one read: SKUs resolved and priced for the customer together.
            order, drafts = await service.preview_items(actor, exact[0].id, parsed.items)
            await _confirm(update, context, {"customer_id": exact[0].id, "customer_name": exact[0].title,
                                             "lines": [[d.product_id, str(d.quantity)] for d in drafts], **typed},
                           order)
            return
        if len(parsed.items) == 1 and _customers(named.get(line, ())):
            # "/order Acme Corp" read "CORP" as a SKU: the whole text names a customer, so start there.
            await _find_customer(update, context, line, {**typed})
            return
        drafts = await service.resolve(actor, parsed.items)
    except ValidationFailed as exc:
        if exc.key != "orders.error_unknown_sku":
            raise
        await respond(update, context, _error(context, exc) + "\n" + context.t("orders.nothing_saved"), edit=False)
        return
    await _find_customer(update, context, parsed.customer, _merge({**typed}, list(drafts)))


@flow.on_text(CUSTOMER)
@require_actor("orders.create")
async def typed_customer(update: Update, context: CrmContext) -> None:
    text = " ".join(message_text(update).split())
    if text:
        await _find_customer(update, context, text, _draft(context))


@require_actor("orders.create")
async def picked_customer(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.kind != CUSTOMER:
        raise DomainError("error.stale_button")
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    await _with_customer(update, context, customer.id, customer.name, _draft(context))


@flow.on_text(ITEMS)
@require_actor("orders.create")
async def typed_items(update: Update, context: CrmContext) -> None:
    """SKUs with quantities are added; anything else searches the catalog by name."""
    draft = _draft(context)
    text = " ".join(message_text(update).split())
    if not text or "customer_id" not in draft:
        return
    service = context.services.orders.orders
    try:
        drafts = await service.resolve(actor_of(context), parse_items(text))
    except ValidationFailed as exc:
        found = (await context.services.sales.catalog.search(actor_of(context), text)).products
        if not found:
            await _ask_items(update, context, draft, _error(context, exc))
            return
        rows = grid([(short(f"{p.sku} {p.display_name(context.locale)}", 40), f"orn:p:{p.id}")
                     for p in found[:PICKS]], 1)
        rows.append([(context.t("orders.btn_review"), "orn:rev")] if _lines(draft) else [])
        await respond(update, context, context.t("orders.pick_product", query=text), [r for r in rows if r],
                      edit=False)
        return
    await _review(update, context, _merge(draft, list(drafts)), edit=False)


@require_actor("orders.create")
async def same_as_last(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS):
        raise DomainError("error.stale_button")
    draft = _draft(context)
    last = await context.services.orders.orders.last_lines(actor_of(context), int(draft["customer_id"]))
    await _review(update, context, _merge(draft, list(last)), edit=False)


@require_actor("orders.create")
async def category(update: Update, context: CrmContext) -> None:
    """Browse the catalog: sub-categories, then products; a product tapped is added (one of it)."""
    if not _in_flow(context, ITEMS):
        raise DomainError("error.stale_button")
    category_id = arg(update, 0)
    page = await context.services.sales.catalog.browse(actor_of(context), category_id or None)
    buttons = [(short("📂 " + c.name, 40), f"orn:cat:{c.id}") for c in page.children]
    buttons += [(short(f"{p.sku} {p.display_name(context.locale)}", 40), f"orn:p:{p.id}") for p in page.products]
    rows = grid(buttons, 1)
    if page.category is not None:
        rows.append([(context.t("common.back"), f"orn:cat:{page.category.parent_id or 0}")])
    if _lines(_draft(context)):
        rows.append([(context.t("orders.btn_review"), "orn:rev")])
    title = " › ".join(c.name for c in page.path) or context.t("orders.catalog_top")
    await respond(update, context, context.t("orders.browse_title", path=title), rows)


@require_actor("orders.create")
async def picked_product(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS):
        raise DomainError("error.stale_button")
    product = await context.services.sales.catalog.get(actor_of(context), arg(update, 0))
    await _review(update, context, _merge(_draft(context), [LineDraft(product_id=product.id, quantity=Decimal(1))]),
                  edit=False)


@require_actor("orders.create")
async def change_quantity(update: Update, context: CrmContext) -> None:
    """➖ / ➕ on a line of the review; down to nothing removes it."""
    if not _in_flow(context, ITEMS):
        raise DomainError("error.stale_button")
    draft, index, step = _draft(context), arg(update, 0), arg(update, 1)
    current = _lines(draft)
    if not 0 <= index < len(current) or step not in (LESS, MORE):
        raise DomainError("error.stale_button")
    quantity = Decimal(str(current[index][1])) + (1 if step == MORE else -1)
    if quantity <= 0:
        del current[index]
    else:
        current[index][1] = str(min(quantity, MAX_QUANTITY))
    await _review(update, context, {**draft, "lines": current})


@require_actor("orders.create")
async def remove_line(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS):
        raise DomainError("error.stale_button")
    draft, index = _draft(context), arg(update, 0)
    current = _lines(draft)
    if not 0 <= index < len(current):
        raise DomainError("error.stale_button")
    del current[index]
    await _review(update, context, {**draft, "lines": current})


@require_actor("orders.create")
async def add_more(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS, CONFIRM):
        raise DomainError("error.stale_button")
    await _ask_items(update, context, _draft(context))


@require_actor("orders.create")
async def review(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS, CONFIRM, WHEN):
        raise DomainError("error.stale_button")
    await _review(update, context, _draft(context), edit=False)


@require_actor("orders.create")
async def ask_when(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, ITEMS, CONFIRM) or not _lines(_draft(context)):
        raise DomainError("error.stale_button")
    flow.ask(context, WHEN, buttons=("orn:",), owns=(DRAFT_KEY,))
    rows = [[(context.t("orders.btn_no_date"), "orn:nodate")], [(context.t("common.cancel"), "orn:x")]]
    await respond(update, context, context.t("orders.ask_when"), rows, edit=False)


@flow.on_text(WHEN)
@require_actor("orders.create")
async def typed_when(update: Update, context: CrmContext) -> None:
    when = parse_when(message_text(update), _now(context))
    if when is None:
        await respond(update, context, context.t("orders.error_when") + "\n" + context.t("orders.ask_when"))
        return
    draft = {**_draft(context), "delivery": when.at.date().isoformat()}
    try:
        await _confirm(update, context, draft)
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("orders.ask_when"))


@require_actor("orders.create")
async def no_date(update: Update, context: CrmContext) -> None:
    if not _in_flow(context, WHEN):
        raise DomainError("error.stale_button")
    await _confirm(update, context, {**_draft(context), "delivery": None})


@require_actor("orders.create")
async def confirmed(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _in_flow(context, CONFIRM) or not _lines(draft):
        raise DomainError("error.stale_button")
    if "editing" in draft:
        order = await context.services.orders.orders.edit(actor_of(context), int(draft["editing"]),
                                                          _drafts(draft), delivery_date=_delivery(draft))
        note = context.t("orders.edited_pending" if order.status.value == "pending_approval" else "orders.edited",
                         number=order.number)
    else:
        try:
            order = await context.services.orders.orders.create(
                actor_of(context), int(draft["customer_id"]), _drafts(draft), delivery_date=_delivery(draft),
                custom=await asking.answers(context, KIND, draft))
        except ValidationFailed as exc:  # a field became required meanwhile: ask it
            if exc.key != "fields.required":
                raise
            await respond(update, context, context.t(exc.key, **exc.params), edit=False)
            await _confirm(update, context, {**draft, "cf_asked": list(draft.get("cf") or {})})
            return
        note = context.t("orders.created_pending" if order.status.value == "pending_approval"
                         else "orders.created", number=order.number)
    flow.abandon(context)
    requested = await context.services.orders.orders.request_approval(actor_of(context), order)
    if requested is not None:  # beyond the taker's limit: the approvers are asked now
        note += "\n" + await ask_approvers(context, requested)
    await ORDER.show(update, context, order.id, note=note, edit=False)


@require_actor("orders.create")
async def edit_order(update: Update, context: CrmContext) -> None:
    """✏️ Edit order on the card: the order's lines and delivery date become a draft (the same ➖ ➕ 🗑, ➕ Product
    and 📅 steps as a new order); confirming saves them onto the order. Only before anything is shipped."""
    actor = actor_of(context)
    card = await context.services.orders.orders.card(actor, arg(update, 0))
    order = card.order
    await context.services.orders.orders.preview_edit(actor, order.id)  # refused now if it cannot be edited
    draft = {"customer_id": order.customer_id, "customer_name": card.customer_name, "editing": order.id,
             "lines": [[line.product_id, str(line.quantity)] for line in order.lines],
             "delivery": order.delivery_date.isoformat() if order.delivery_date else None}
    await _review(update, context, draft, edit=False)


@require_actor("orders.create")
async def cancel_draft(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind in (CUSTOMER, ITEMS, WHEN, CONFIRM):
        flow.abandon(context)
    await respond(update, context, context.t("orders.draft_cancelled"))


@flow.on_stray(CONFIRM)
@require_actor("orders.create")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the echo waits: show it again; the text is not the order."""
    draft = _draft(context)
    if _lines(draft):
        await _confirm(update, context, draft)


# ---- cancelling, approving, delivering -----------------------------------------------------------------------

@require_actor("orders.cancel")
async def cancel_order(update: Update, context: CrmContext) -> None:
    """Ask the reason first; the order is cancelled when it is typed."""
    order = await context.services.orders.orders.to_cancel(actor_of(context), arg(update, 0))
    flow.ask(context, REASON, order_id=order.id, verb="cancel")
    await respond(update, context, context.t("orders.ask_reason", number=order.number), edit=False)


@require_actor("discounts.approve")
async def reject_discount(update: Update, context: CrmContext) -> None:
    order = await context.services.orders.orders.get(actor_of(context), arg(update, 0))
    flow.ask(context, REASON, order_id=order.id, verb="reject")
    await respond(update, context, context.t("orders.ask_reject_reason", number=order.number), edit=False)


@flow.on_text(REASON)
@require_actor()
async def typed_reason(update: Update, context: CrmContext) -> None:
    waiting = flow.pending(context)
    order_id = int(waiting.get("order_id", 0))
    service = context.services.orders.orders
    try:
        if waiting.get("verb") == "reject":
            await tell_requester(context, await service.discount_rejected(actor_of(context), order_id,
                                                                          message_text(update)))
        else:
            await service.cancel(actor_of(context), order_id, message_text(update))
    except ValidationFailed as exc:
        if exc.key != "orders.error_reason" and not exc.key.startswith("error.field"):
            flow.end(context)
            raise
        await respond(update, context, _error(context, exc))
        return
    flow.end(context)
    await ORDER.show(update, context, order_id, note=context.t("orders.cancelled_note"), edit=False)


@require_actor("discounts.approve")
async def approve_discount(update: Update, context: CrmContext) -> None:
    decided = await context.services.orders.orders.discount_approved(actor_of(context), arg(update, 0))
    await ORDER.show(update, context, decided.subject.subject_id, note=context.t("orders.approved_note"))
    await tell_requester(context, decided)


@require_actor("shipments.create")
async def delivered(update: Update, context: CrmContext) -> None:
    order = await context.services.orders.orders.deliver(actor_of(context), arg(update, 0))
    await ORDER.show(update, context, order.id, note=context.t("orders.delivered_note"))


# ---- shipping ------------------------------------------------------------------------------------------------

def _ship_draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(SHIP_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep_ship(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[SHIP_KEY] = draft


def _ship_quantities(draft: dict[str, Any]) -> dict[int, Decimal] | None:
    quantities = draft.get("quantities")
    if not isinstance(quantities, dict):
        return None
    return {int(p): Decimal(str(q)) for p, q in quantities.items() if Decimal(str(q)) > 0}


async def _ask_carrier(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _keep_ship(context, draft)
    flow.ask(context, CARRIER, buttons=("ors:",), owns=(SHIP_KEY,))
    rows = [[(context.t("orders.btn_no_tracking"), "ors:none")], [(context.t("common.cancel"), "ors:x")]]
    await respond(update, context, context.t("orders.ask_carrier", number=draft["number"]), rows, edit=False)


@require_actor("shipments.create")
async def ship_all(update: Update, context: CrmContext) -> None:
    """🚚 Ship all: what is left of every line; the carrier and tracking number are asked next."""
    order = await context.services.orders.orders.get(actor_of(context), arg(update, 0))
    await _ask_carrier(update, context, {"order_id": order.id, "number": order.number, "quantities": None})


async def _pick_screen(update: Update, context: CrmContext, draft: dict[str, Any], order: Order, *,
                       edit: bool | None = None) -> None:
    _keep_ship(context, draft)
    flow.ask(context, SHIP_PICK, expects="button", buttons=("ors:",), owns=(SHIP_KEY,))
    chosen = _ship_quantities(draft) or {}
    left = order.remaining()
    rows: Rows = []
    text = [context.t("orders.ship_pick_title", number=order.number)]
    for line in order.lines:
        if line.position not in left:
            continue
        text.append(context.t("orders.ship_pick_line", sku=line.sku, chosen=quantity_text(
            chosen.get(line.position, Decimal(0))), left=quantity_text(left[line.position])))
        rows.append([("➖", f"ors:q:{line.position}:{LESS}"), (short(line.sku, 20), f"ors:q:{line.position}:{ALL}"),
                     ("➕", f"ors:q:{line.position}:{MORE}")])
    rows.append([(context.t("orders.btn_next"), "ors:next"), (context.t("common.cancel"), "ors:x")])
    await respond(update, context, "\n".join(text), rows, edit=edit)


@require_actor("shipments.create")
async def ship_part(update: Update, context: CrmContext) -> None:
    """📦 Ship part: choose the quantity of each line (none to start with), then the carrier."""
    order = await context.services.orders.orders.get(actor_of(context), arg(update, 0))
    await _pick_screen(update, context, {"order_id": order.id, "number": order.number, "quantities": {}}, order,
                       edit=False)


def _at_ship(context: CrmContext, *kinds: str) -> dict[str, Any]:
    waiting = flow.current(context)
    draft = _ship_draft(context)
    if waiting is None or waiting.kind not in kinds or "order_id" not in draft:
        raise DomainError("error.stale_button")
    return draft


@require_actor("shipments.create")
async def ship_quantity(update: Update, context: CrmContext) -> None:
    draft = _at_ship(context, SHIP_PICK)
    order = await context.services.orders.orders.get(actor_of(context), int(draft["order_id"]))
    position, step = arg(update, 0), arg(update, 1)
    left = order.remaining()
    if position not in left or step not in (LESS, MORE, ALL):
        raise DomainError("error.stale_button")
    chosen = _ship_quantities(draft) or {}
    # The SKU's own button takes all that is left of the line.
    change = {LESS: -1, MORE: 1}.get(step, 0)
    value = left[position] if step == ALL else min(max(chosen.get(position, Decimal(0)) + change, Decimal(0)),
                                                   left[position])
    chosen[position] = value
    await _pick_screen(update, context, {**draft, "quantities": {str(p): str(q) for p, q in chosen.items()}}, order)


@require_actor("shipments.create")
async def ship_next(update: Update, context: CrmContext) -> None:
    draft = _at_ship(context, SHIP_PICK)
    if not _ship_quantities(draft):
        raise ValidationFailed("orders.error_ship_nothing")
    await _ask_carrier(update, context, draft)


def _carrier_tracking(text: str) -> tuple[str | None, str | None]:
    """``黑貓 1234-5678``: the last word is the tracking number when it has a digit, the rest the carrier."""
    words = text.split()
    if len(words) > 1 and any(ch.isdigit() for ch in words[-1]):
        return " ".join(words[:-1]), words[-1]
    if len(words) == 1 and any(ch.isdigit() for ch in words[0]):
        return None, words[0]
    return (" ".join(words) or None), None


async def _ship_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _keep_ship(context, draft)
    flow.ask(context, SHIP_CONFIRM, expects="button", buttons=("ors:",), owns=(SHIP_KEY,))
    order = await context.services.orders.orders.get(actor_of(context), int(draft["order_id"]))
    chosen = _ship_quantities(draft)
    what = chosen if chosen is not None else order.remaining()
    text = [context.t("orders.ship_check", number=order.number),
            *(f"· {order.lines[p].sku} × {quantity_text(q)}" for p, q in sorted(what.items()) if p < len(order.lines)),
            context.t("orders.ship_check_carrier", carrier=draft.get("carrier") or "—",
                      tracking=draft.get("tracking") or "—")]
    rows = [[(context.t("orders.btn_ship_go"), "ors:go"), (context.t("common.cancel"), "ors:x")]]
    await respond(update, context, "\n".join(text), rows, edit=False)


@flow.on_text(CARRIER)
@require_actor("shipments.create")
async def typed_carrier(update: Update, context: CrmContext) -> None:
    carrier, tracking = _carrier_tracking(" ".join(message_text(update).split()))
    await _ship_confirm(update, context, {**_ship_draft(context), "carrier": carrier, "tracking": tracking})


@require_actor("shipments.create")
async def no_tracking(update: Update, context: CrmContext) -> None:
    draft = _at_ship(context, CARRIER)
    await _ship_confirm(update, context, {**draft, "carrier": None, "tracking": None})


@require_actor("shipments.create")
async def ship_go(update: Update, context: CrmContext) -> None:
    draft = _at_ship(context, SHIP_CONFIRM)
    shipped = await context.services.orders.orders.ship(
        actor_of(context), int(draft["order_id"]), _ship_quantities(draft),
        carrier=draft.get("carrier"), tracking=draft.get("tracking"))
    flow.abandon(context)
    note = context.t("orders.shipped_note") + ("\n" + context.t("orders.texted_note") if shipped.texted else "")
    await ORDER.show(update, context, shipped.order.id, note=note, edit=False)


@require_actor("shipments.create")
async def ship_cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind in (CARRIER, SHIP_CONFIRM, SHIP_PICK):
        flow.abandon(context)
    await respond(update, context, context.t("orders.ship_cancelled"))


@flow.on_stray(SHIP_CONFIRM)
@flow.on_stray(SHIP_PICK)
@require_actor("shipments.create")
async def ship_stray(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("orders.press_a_button"))
