"""A new quote in chat: ``/quote`` step by step (also from the customer card's "📝 Quote"), or in one message
(``/quote 台積電 A-100 x3, B-20 x12``) echoed with prices and totals for one confirming tap.

Steps (one flow, kinds ``qn.*``, handlers/core/flow.py: /cancel, the timeout and restarts are handled there):
  qn.customer (typed name → buttons)  →  qn.product (typed SKU or name, or 📂 browse → buttons)  →
  qn.qty (typed quantity or − / + buttons, optional line discount qn.ldisc)  →  back to qn.product …  →
  qn.review (prices and totals; optional order discount qn.odisc, valid-until qn.until; ✅ Create)
The one-message form goes straight to qn.review (or qn.pick, when the name fits several customers).

Buttons: qn:cu:<customer>  qn:for:<customer>  qn:pr:<product>  qn:cat:<category>:<page>  qn:inc:<n>  qn:dec:<n>
  qn:ld  qn:add  qn:rev  qn:more  qn:od  qn:vu  qn:save  qn:x
Nothing is stored before ✅ Create; the draft lives in ``user_data`` (persisted), so a restart does not lose it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.core.natural_dates import parse_when
from crm.customers.model import EntityKind
from crm.sales.discounts import Clearance
from crm.sales.pricing import parse_percent
from crm.sales.quote_line import parse_quote_line
from crm.sales.quote_model import MAX_LINES, LineDraft, Quote, clean_quantity
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, page_row, respond
from handlers.sales.quotes import QUOTE, request_approval
from handlers.sales.views import error_text
from views.core.formatting import zone
from views.core.text import short
from views.sales.quotes import limit_text, percent_text, quote_body

DRAFT_KEY = "quote_draft"
PREFIX = "qn"
OWN = (DRAFT_KEY,)
BUTTONS = ("qn:",)
LABEL = 48


# ---- the draft ---------------------------------------------------------------------------------------------

def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _ask(context: CrmContext, step: str, *, button: bool = False) -> None:
    flow.ask(context, f"{PREFIX}.{step}", expects="button" if button else "text", buttons=BUTTONS, owns=OWN)


def _at(context: CrmContext, *steps: str) -> dict[str, Any]:
    """The draft, when the flow is at one of ``steps``: a button from a finished, cancelled or timed-out quote
    answers "no longer open" instead of acting on a draft that is gone."""
    waiting = flow.current(context)
    draft = _draft(context)
    if waiting is None or waiting.kind not in {f"{PREFIX}.{s}" for s in steps} or not draft.get("customer_id"):
        raise DomainError("error.stale_button")
    return draft


def _lines(draft: dict[str, Any]) -> list[LineDraft]:
    return [LineDraft(product_id=int(line["product_id"]), quantity=Decimal(str(line["quantity"])),
                      discount=Decimal(str(line.get("discount") or 0))) for line in draft.get("lines", [])]


def _valid_until(draft: dict[str, Any]) -> date | None:
    value = draft.get("valid_until")
    return date.fromisoformat(value) if value else None


def _now(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


async def _retry(update: Update, context: CrmContext, exc: DomainError) -> None:
    await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"), edit=False)


# ---- customer ----------------------------------------------------------------------------------------------

@require_actor("quotes.create")
async def new_quote(update: Update, context: CrmContext) -> None:
    """``/quote`` asks step by step; ``/quote 台積電 A-100 x3, B-20 x12`` is the one-message form."""
    line = " ".join(context.args or []).strip()
    if line:
        await _one_message(update, context, line)
        return
    _keep(context, {"lines": []})
    flow.ask(context, f"{PREFIX}.customer", buttons=BUTTONS, owns=OWN)
    await respond(update, context, context.t("sales.quote_ask_customer"), edit=False)


async def _customers(context: CrmContext, text: str) -> list[tuple[int, str]]:
    """Customers the reader may see named exactly ``text``; failing that, found by searching for it."""
    actor = actor_of(context)
    named = await context.services.customers.customers.named(actor, [text])
    exact = [(h.id, h.title) for h in named.get(text, ()) if h.entity is EntityKind.CUSTOMER]
    if exact:
        return exact
    found = await context.services.customers.customers.search(actor, text)
    return [(h.id, h.title) for h in found.hits if h.entity is EntityKind.CUSTOMER]


def _customer_rows(found: list[tuple[int, str]]) -> Rows:
    return [[(short(f"🏢 {name}", LABEL), f"qn:cu:{customer_id}")] for customer_id, name in found[:8]]


@flow.on_text(f"{PREFIX}.customer")
@require_actor("quotes.create")
async def typed_customer(update: Update, context: CrmContext) -> None:
    text = " ".join(message_text(update).split())
    found = await _customers(context, text) if text else []
    if not found:
        await respond(update, context, context.t("sales.quote_no_customer", name=text[:60]) + "\n"
                      + context.t("sales.try_again"), edit=False)
        return
    flow.ask(context, f"{PREFIX}.customer", buttons=BUTTONS, owns=OWN)
    await respond(update, context, context.t("sales.quote_pick_customer"), _customer_rows(found), edit=False)


@require_actor("quotes.create")
async def pick_customer(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.kind not in (f"{PREFIX}.customer", f"{PREFIX}.pick"):
        raise DomainError("error.stale_button")
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    draft = {**_draft(context), "customer_id": customer.id, "customer_name": customer.name}
    _keep(context, draft)
    if draft.get("lines"):
        await _review(update, context, draft)
    else:
        await _products(update, context, draft)


@require_actor("quotes.create")
async def for_customer(update: Update, context: CrmContext) -> None:
    """The customer card's "📝 Quote": the guided flow with the customer chosen."""
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    draft = {"customer_id": customer.id, "customer_name": customer.name, "lines": []}
    _keep(context, draft)
    await _products(update, context, draft, edit=False)


# ---- products ----------------------------------------------------------------------------------------------

def _so_far(context: CrmContext, draft: dict[str, Any]) -> list[str]:
    lines = [context.t("sales.quote_draft_title", customer=draft.get("customer_name", ""))]
    for line in draft.get("lines", []):
        discount = context.t("sales.quote_line_discount", discount=f"{Decimal(str(line['discount'])).normalize():f}%") \
            if Decimal(str(line.get("discount") or 0)) else ""
        lines.append(f"• {line['sku']} {line['name']} × {line['quantity']}{discount}")
    return lines


def _product_rows(context: CrmContext, draft: dict[str, Any]) -> Rows:
    rows: Rows = [[(context.t("sales.btn_quote_browse"), "qn:cat:0:0")]]
    if draft.get("lines"):
        rows.append([(context.t("sales.btn_quote_review"), "qn:rev")])
    rows.append([(context.t("common.cancel"), "qn:x")])
    return rows


async def _products(update: Update, context: CrmContext, draft: dict[str, Any], *, note: str = "",
                    edit: bool | None = None) -> None:
    _ask(context, "product")
    text = "\n".join([*([note] if note else []), *_so_far(context, draft), "",
                      context.t("sales.quote_ask_product")])
    await respond(update, context, text, _product_rows(context, draft), edit=edit)


@flow.on_text(f"{PREFIX}.product")
@require_actor("quotes.create")
async def typed_product(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    text = message_text(update).strip()
    page = await context.services.sales.catalog.find(actor_of(context), text) if text else None
    if page is None or not page.products:
        await respond(update, context, context.t("sales.quote_no_product", text=text[:40]),
                      _product_rows(context, draft), edit=False)
        return
    rows: Rows = [[(short(f"📦 {p.sku} · {p.display_name(context.locale)}", LABEL), f"qn:pr:{p.id}")]
                  for p in page.products]
    rows += _product_rows(context, draft)
    await respond(update, context, context.t("sales.quote_pick_product"), rows, edit=False)


@require_actor("quotes.create")
async def browse(update: Update, context: CrmContext) -> None:
    draft = _at(context, "product")
    category_id, page = arg(update, 0), arg(update, 1)
    shown = await context.services.sales.catalog.browse(actor_of(context), category_id or None, page)
    rows: Rows = [[(short(f"📂 {c.name}", LABEL), f"qn:cat:{c.id}:0")] for c in shown.children]
    rows += [[(short(f"📦 {p.sku} · {p.display_name(context.locale)}", LABEL), f"qn:pr:{p.id}")]
             for p in shown.products]
    rows.append(page_row(lambda n: f"qn:cat:{category_id}:{n}", page, shown.has_more))
    if shown.category is not None:
        rows.append([(context.t("sales.btn_up"), f"qn:cat:{shown.category.parent_id or 0}:0")])
    rows += _product_rows(context, draft)
    path = " › ".join(c.name for c in shown.path) if shown.path else context.t("sales.catalog_top")
    await respond(update, context, context.t("sales.quote_browse", path=path), [r for r in rows if r])


@require_actor("quotes.create")
async def pick_product(update: Update, context: CrmContext) -> None:
    draft = _at(context, "product")
    product = await context.services.sales.catalog.get(actor_of(context), arg(update, 0))
    if not product.active:
        raise ValidationFailed("sales.error_inactive", sku=product.sku)
    if len(draft.get("lines", [])) >= MAX_LINES:
        raise ValidationFailed("sales.quote_error_too_many", limit=MAX_LINES)
    draft["cur"] = {"product_id": product.id, "sku": product.sku, "name": product.display_name(context.locale),
                    "quantity": "1", "discount": "0"}
    _keep(context, draft)
    await _quantity(update, context, draft)


# ---- quantity and line discount ----------------------------------------------------------------------------

async def _quantity(update: Update, context: CrmContext, draft: dict[str, Any], *, note: str = "",
                    edit: bool | None = None) -> None:
    _ask(context, "qty")
    cur = draft["cur"]
    discount = Decimal(str(cur["discount"]))
    text = context.t("sales.quote_quantity", sku=cur["sku"], name=cur["name"], quantity=cur["quantity"],
                     discount=f"{discount.normalize():f}%")
    rows: Rows = [[("−10", "qn:dec:10"), ("−1", "qn:dec:1"), ("+1", "qn:inc:1"), ("+10", "qn:inc:10")],
                  [(context.t("sales.btn_quote_line_discount"), "qn:ld"), (context.t("sales.btn_quote_add"), "qn:add")],
                  [(context.t("common.cancel"), "qn:x")]]
    await respond(update, context, f"{note}\n{text}" if note else text, rows, edit=edit)


@require_actor("quotes.create")
async def step_quantity(update: Update, context: CrmContext) -> None:
    draft = _at(context, "qty")
    data = update.callback_query.data if update.callback_query else ""
    step = arg(update, 0)
    if step not in (1, 10):
        raise DomainError("error.stale_button")
    sign = -1 if (data or "").startswith("qn:dec:") else 1
    quantity = max(Decimal(str(draft["cur"]["quantity"])) + sign * step, Decimal(1))
    draft["cur"]["quantity"] = f"{clean_quantity(quantity).normalize():f}"
    _keep(context, draft)
    await _quantity(update, context, draft)


@flow.on_text(f"{PREFIX}.qty")
@require_actor("quotes.create")
async def typed_quantity(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    try:
        quantity = clean_quantity(message_text(update).strip().lstrip("x×*").strip())
    except ValidationFailed as exc:
        await _retry(update, context, exc)
        return
    draft["cur"]["quantity"] = f"{quantity.normalize():f}"
    _keep(context, draft)
    await _quantity(update, context, draft, edit=False)


@require_actor("quotes.create")
async def ask_line_discount(update: Update, context: CrmContext) -> None:
    draft = _at(context, "qty")
    _ask(context, "ldisc")
    await respond(update, context, context.t("sales.quote_ask_line_discount", sku=draft["cur"]["sku"]), edit=False)


@flow.on_text(f"{PREFIX}.ldisc")
@require_actor("quotes.create")
async def typed_line_discount(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    try:
        percent = parse_percent(message_text(update))
    except ValidationFailed as exc:
        await _retry(update, context, exc)
        return
    draft["cur"]["discount"] = f"{percent.normalize():f}"
    _keep(context, draft)
    await _quantity(update, context, draft, edit=False)


@require_actor("quotes.create")
async def add_line(update: Update, context: CrmContext) -> None:
    draft = _at(context, "qty")
    cur = draft.pop("cur")
    draft["lines"] = [*draft.get("lines", []), cur]
    _keep(context, draft)
    note = context.t("sales.quote_line_added", sku=cur["sku"], quantity=cur["quantity"])
    await _products(update, context, draft, note=note)


# ---- review, order discount, valid until, create -----------------------------------------------------------

async def _preview(context: CrmContext, draft: dict[str, Any]) -> Quote:
    return await context.services.sales.quotes.preview(
        actor_of(context), int(draft["customer_id"]), _lines(draft),
        order_discount=Decimal(str(draft.get("order_discount") or 0)), valid_until=_valid_until(draft))


async def _review(update: Update, context: CrmContext, draft: dict[str, Any], *, edit: bool | None = None) -> None:
    quote = await _preview(context, draft)
    _keep(context, draft)
    _ask(context, "review", button=True)
    t = context.t
    limit = await context.services.sales.discounts.my_limit(actor_of(context))
    lines = [t("sales.quote_check"), t("sales.quote_card_customer", name=draft["customer_name"]), "",
             *quote_body(t, quote, locale=context.locale), "",
             t("sales.quote_card_valid_until", date=quote.valid_until.isoformat())]
    if quote.discount_percent:
        over = limit is not None and quote.discount_percent > limit
        lines.append(t("sales.quote_check_over" if over else "sales.quote_check_discount",
                       percent=percent_text(quote.discount_percent), limit=limit_text(t, limit)))
    rows: Rows = [[(t("sales.btn_quote_create"), "qn:save"), (t("common.cancel"), "qn:x")],
                  [(t("sales.btn_quote_order_discount"), "qn:od"), (t("sales.btn_quote_valid_until"), "qn:vu")],
                  [(t("sales.btn_quote_more"), "qn:more")]]
    await respond(update, context, "\n".join(lines), rows, edit=edit)


@require_actor("quotes.create")
async def review(update: Update, context: CrmContext) -> None:
    draft = _at(context, "product")
    if not draft.get("lines"):
        raise DomainError("error.stale_button")
    await _review(update, context, draft)


@require_actor("quotes.create")
async def more(update: Update, context: CrmContext) -> None:
    await _products(update, context, _at(context, "review"))


@require_actor("quotes.create")
async def ask_order_discount(update: Update, context: CrmContext) -> None:
    _at(context, "review")
    _ask(context, "odisc")
    await respond(update, context, context.t("sales.quote_ask_order_discount"), edit=False)


@flow.on_text(f"{PREFIX}.odisc")
@require_actor("quotes.create")
async def typed_order_discount(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    try:
        percent = parse_percent(message_text(update))
    except ValidationFailed as exc:
        await _retry(update, context, exc)
        return
    await _review(update, context, {**draft, "order_discount": f"{percent.normalize():f}"}, edit=False)


@require_actor("quotes.create")
async def ask_valid_until(update: Update, context: CrmContext) -> None:
    _at(context, "review")
    _ask(context, "until")
    await respond(update, context, context.t("sales.quote_ask_valid_until"), edit=False)


@flow.on_text(f"{PREFIX}.until")
@require_actor("quotes.create")
async def typed_valid_until(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    when = parse_when(message_text(update), _now(context))
    if when is None:
        await _retry(update, context, ValidationFailed("sales.quote_error_date"))
        return
    changed = {**draft, "valid_until": when.at.date().isoformat()}
    try:
        await _preview(context, changed)
    except ValidationFailed as exc:
        await _retry(update, context, exc)
        return
    await _review(update, context, changed, edit=False)


@require_actor("quotes.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = _at(context, "review")
    quote = await context.services.sales.quotes.create(
        actor_of(context), int(draft["customer_id"]), _lines(draft),
        order_discount=Decimal(str(draft.get("order_discount") or 0)), valid_until=_valid_until(draft))
    flow.abandon(context)
    standing = await context.services.sales.discounts.standing(actor_of(context), "quote", quote.id)
    if standing.clearance is Clearance.NEEDED:
        await request_approval(update, context, quote.id)
        return
    await QUOTE.show(update, context, quote.id, note=context.t("sales.quote_created", number=quote.number))


@require_actor("quotes.create")
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind.startswith(f"{PREFIX}."):
        flow.abandon(context)
    await respond(update, context, context.t("sales.quote_cancelled"))


@flow.on_stray(f"{PREFIX}.review")
@require_actor("quotes.create")
async def stray_review(update: Update, context: CrmContext) -> None:
    """Text while the review waits: show it again; the text is not the quote."""
    draft = _draft(context)
    if draft.get("customer_id") and draft.get("lines"):
        await _review(update, context, draft, edit=False)


@flow.on_stray(f"{PREFIX}.pick")
@require_actor("quotes.create")
async def stray_pick(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("sales.quote_pick_customer"), edit=False)


# ---- the one-message form ----------------------------------------------------------------------------------

async def _one_message(update: Update, context: CrmContext, line: str) -> None:
    actor = actor_of(context)
    try:
        request = parse_quote_line(line)
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.quote_usage"), edit=False)
        return
    lines: list[dict[str, str]] = []
    for sku, quantity in request.items:
        page = await context.services.sales.catalog.find(actor, sku)
        product = next((p for p in page.products if p.sku == sku), None)
        if product is None:
            await respond(update, context, context.t("sales.quote_unknown_sku", sku=sku), edit=False)
            return
        lines.append({"product_id": str(product.id), "sku": product.sku,
                      "name": product.display_name(context.locale), "quantity": f"{quantity.normalize():f}",
                      "discount": "0"})
    found = await _customers(context, request.customer)
    if not found:
        await respond(update, context, context.t("sales.quote_no_customer", name=request.customer[:60]), edit=False)
        return
    draft: dict[str, Any] = {"lines": lines}
    if len(found) > 1:
        _keep(context, draft)
        _ask(context, "pick", button=True)
        await respond(update, context, context.t("sales.quote_pick_customer"), _customer_rows(found), edit=False)
        return
    draft["customer_id"], draft["customer_name"] = found[0]
    try:
        await _review(update, context, draft, edit=False)
    except ValidationFailed as exc:  # a product in another currency: nothing was kept
        await respond(update, context, error_text(context, exc), edit=False)
