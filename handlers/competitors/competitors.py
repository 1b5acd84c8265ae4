"""The competitor archive in chat: ``/competitors``, ``/competitor <name>`` and the card (facts, products,
win/loss per quarter, their prices beside ours, intel paged); editing facts, adding a product seen (one line
echoed for one tap), delete and restore; the opportunity card's "⚔️ Competitors"; and the lost opportunity's
"who won?" answered from its push.

Buttons (ids only; every press re-reads through the service, which checks permission and scope):
  cp:open:<id>  cp:pg:<id>:<page>  cp:list:<page>  cp:trash:<page>  cp:edit:<id>  cp:ef:<id>:<field>
  cp:prod:<id>  cp:del:<id>  cp:delok:<id>  cp:rst:<id>  cp:ph:<intel id>  cpp:save  cpp:cancel
  cpo:ls:<opportunity>  cpo:tg:<opportunity>:<competitor>  cpo:nm:<opportunity>  cpo:new:<opportunity>
  cpo:pk:<opportunity>:<competitor>  cpo:x:<opportunity>  cpo:ty:<opportunity>:<index of a name kept from before>
  cpl:w:<opportunity>:<competitor>  cpl:o:<opportunity>  cpl:n:<opportunity>  cpl:skip:<opportunity>
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.competitors.intel_line import price_of
from crm.competitors.model import LossAnswer, OpportunityLinks
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.money import Money
from crm.sales.opportunity_model import OpportunityCard
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, page_row, respond, word
from views.competitors.competitors import card_text, money_text
from views.core.text import short

EDIT = "cpe.value"
PRODUCT = "cpp.line"
PRODUCT_KEY = "competitor_product_draft"
WHY = "cpl.why"
NAME = "cpo.name"  # a competitor's name typed on the opportunity's links
NAMED = "cpo.ask"  # the name is not in the archive: create, a similar one, or cancel
NAME_KEY = "opportunity_competitor_name"
FIELD_CODES = {"b": "brands", "r": "regions", "s": "strengths", "w": "weaknesses", "o": "sources", "n": "name"}


def _error(context: CrmContext, exc: DomainError) -> str:
    return context.t(exc.key, **exc.params)


def _read(context: CrmContext) -> None:
    if not context.services.competitors.competitors.may_read(actor_of(context)):
        raise NotFound()


async def show_card(update: Update, context: CrmContext, competitor_id: int, *, page: int = 0,
                    note: str | None = None, edit: bool | None = None) -> None:
    _read(context)
    card = await context.services.competitors.competitors.card(actor_of(context), competitor_id, page=page)
    c = card.competitor.id
    rows: Rows = [[(f"📷 {item.intel.seen_on.isoformat()}", f"cp:ph:{item.intel.id}")]
                  for item in card.intel if item.intel.file_id]
    service, actor = context.services.competitors.competitors, actor_of(context)
    rows += [[(f"✏️ {item.intel.seen_on.isoformat()} {short(item.intel.text, 24)}", f"cie:open:{item.intel.id}")]
             for item in card.intel if service.may_change(actor, item.intel)]
    rows.append(page_row(lambda p: f"cp:pg:{c}:{p}", page, card.more_intel))
    if actor_of(context).can("competitors.manage"):
        rows.append([(context.t("competitors.btn_edit"), f"cp:edit:{c}"),
                     (context.t("competitors.btn_product"), f"cp:prod:{c}"),
                     (context.t("competitors.btn_delete"), f"cp:del:{c}")])
    text = card_text(context.t, card, page)
    await respond(update, context, f"{note}\n\n{text}" if note else text, [r for r in rows if r], edit=edit)


@require_actor()
async def open_card(update: Update, context: CrmContext) -> None:
    await show_card(update, context, arg(update, 0))


@require_actor()
async def card_page(update: Update, context: CrmContext) -> None:
    await show_card(update, context, arg(update, 0), page=arg(update, 1))


async def _list(update: Update, context: CrmContext, page: int, deleted: bool) -> None:
    _read(context)
    items, more = await context.services.competitors.competitors.listed(actor_of(context), page=page,
                                                                        deleted=deleted)
    verb = "rst" if deleted else "open"
    rows: Rows = [[(short(c.name, 40), f"cp:{verb}:{c.id}")] for c in items]
    rows.append(page_row(lambda p: f"cp:{'trash' if deleted else 'list'}:{p}", page, more))
    if not deleted and actor_of(context).can("competitors.manage"):
        rows.append([(context.t("competitors.btn_trash"), "cp:trash:0")])
    title = "competitors.trash_title" if deleted else "competitors.list_title"
    text = context.t(title) if items else context.t("competitors.list_none")
    await respond(update, context, text, [r for r in rows if r])


@require_actor()
async def competitors(update: Update, context: CrmContext) -> None:
    await _list(update, context, 0, deleted=False)


@require_actor()
async def list_page(update: Update, context: CrmContext) -> None:
    await _list(update, context, arg(update, 0), deleted=False)


@require_actor("competitors.manage")
async def trash(update: Update, context: CrmContext) -> None:
    await _list(update, context, arg(update, 0), deleted=True)


@require_actor()
async def competitor(update: Update, context: CrmContext) -> None:
    """``/competitor <name>``: the card; a name not found offers the similar ones."""
    _read(context)
    name = " ".join(context.args or []).strip()
    if not name:
        await respond(update, context, context.t("competitors.competitor_usage"))
        return
    found, similar = await context.services.competitors.competitors.named(actor_of(context), name)
    if found is not None:
        await show_card(update, context, found.id)
        return
    rows: Rows = [[(short(other, 40), f"cp:open:{competitor_id}")] for competitor_id, other in similar]
    await respond(update, context, context.t("competitors.not_found", name=name), rows)


@require_actor()
async def photo(update: Update, context: CrmContext) -> None:
    intel = await context.services.competitors.competitors.intel(actor_of(context), arg(update, 0))
    chat = update.effective_chat
    await respond(update, context, context.t("competitors.photo_of", date=intel.seen_on.isoformat()), edit=False)
    if chat is not None and intel.file_id:
        await context.bot.send_photo(chat.id, intel.file_id)


# ---- editing ------------------------------------------------------------------------------------------------

@require_actor("competitors.manage")
async def edit_menu(update: Update, context: CrmContext) -> None:
    competitor_ = await context.services.competitors.competitors.get(actor_of(context), arg(update, 0))
    c = competitor_.id
    buttons: list[Button] = [(context.t(f"competitors.field_{field}"), f"cp:ef:{c}:{code}")
                             for code, field in FIELD_CODES.items()]
    rows = [*grid(buttons, 3), [(context.t("competitors.btn_back"), f"cp:open:{c}")]]
    await respond(update, context, context.t("competitors.edit_title", name=competitor_.name), rows)


@require_actor("competitors.manage")
async def edit_field(update: Update, context: CrmContext) -> None:
    competitor_id, code = arg(update, 0), word(update, 1)
    if code not in FIELD_CODES:
        raise DomainError("error.stale_button")
    await context.services.competitors.competitors.get(actor_of(context), competitor_id)
    field = FIELD_CODES[code]
    flow.ask(context, EDIT, competitor_id=competitor_id, field=field)
    await respond(update, context, context.t("competitors.ask_value",
                                             field=context.t(f"competitors.field_{field}")), edit=False)


@flow.on_text(EDIT)
@require_actor("competitors.manage")
async def typed_value(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    competitor_id, field = int(pending.get("competitor_id", 0)), str(pending.get("field", ""))
    text = message_text(update).strip()
    try:
        await context.services.competitors.competitors.update(actor_of(context), competitor_id, field,
                                                              None if text == "-" else text)
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("competitors.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await show_card(update, context, competitor_id, note=context.t("competitors.edited"), edit=False)


# ---- a product seen -----------------------------------------------------------------------------------------

@require_actor("competitors.manage")
async def product_ask(update: Update, context: CrmContext) -> None:
    competitor_ = await context.services.competitors.competitors.get(actor_of(context), arg(update, 0))
    flow.ask(context, PRODUCT, competitor_id=competitor_.id)
    await respond(update, context, context.t("competitors.ask_product", name=competitor_.name), edit=False)


@flow.on_text(PRODUCT)
@require_actor("competitors.manage")
async def typed_product(update: Update, context: CrmContext) -> None:
    """``<name> <price> [currency] [#category]``: echoed with Save / Cancel."""
    competitor_id = int(flow.pending(context).get("competitor_id", 0))
    service = context.services.competitors.competitors
    words = message_text(update).split()
    category_words = [w for w in words if w.startswith("#") and len(w) > 1]
    rest = " ".join(w for w in words if w not in category_words)
    found = price_of(rest)
    currency = found[1] if found is not None else None
    name = " ".join(w for w in rest.split() if price_of(w) is None and w.upper() != (currency or "") and
                    w.upper() not in ("NT$", "US$"))
    if found is None or not name:
        await respond(update, context, context.t("competitors.error_product") + "\n" +
                      context.t("competitors.try_again"))
        return
    category = await service.category_named(actor_of(context), category_words[0][1:]) if category_words else None
    if category_words and category is None:
        await respond(update, context, context.t("competitors.no_category", name=category_words[0][1:]) + "\n" +
                      context.t("competitors.try_again"))
        return
    code = currency or service.currency
    draft: dict[str, Any] = {"competitor_id": competitor_id, "name": name, "price": str(found[0]), "currency": code,
             "category_id": category[0] if category else None, "category_name": category[1] if category else None}
    if context.user_data is not None:
        context.user_data[PRODUCT_KEY] = draft
    flow.ask(context, PRODUCT, step="confirm", expects="button", buttons=("cpp:",), owns=(PRODUCT_KEY,),
             competitor_id=competitor_id)
    t = context.t
    text = "\n".join([t("competitors.check"), t("competitors.check_product", name=name),
                      t("competitors.check_price", price=money_text(Money(found[0], code))),
                      t("competitors.check_category", name=draft["category_name"] or t("competitors.none"))])
    await respond(update, context, text, [[(t("competitors.btn_save"), "cpp:save"),
                                           (t("common.cancel"), "cpp:cancel")]], edit=False)


def _product_draft(context: CrmContext) -> dict[str, Any]:
    waiting = flow.current(context)
    data = context.user_data.get(PRODUCT_KEY) if context.user_data is not None else None
    if waiting is None or waiting.kind != PRODUCT or waiting.step != "confirm" or not isinstance(data, dict):
        raise DomainError("error.stale_button")
    return data


@require_actor("competitors.manage")
async def product_save(update: Update, context: CrmContext) -> None:
    draft = _product_draft(context)
    await context.services.competitors.competitors.add_product(
        actor_of(context), int(draft["competitor_id"]), str(draft["name"]), Decimal(draft["price"]),
        str(draft["currency"]), int(draft["category_id"]) if draft.get("category_id") else None)
    flow.abandon(context)
    await show_card(update, context, int(draft["competitor_id"]), note=context.t("competitors.product_saved"))


@require_actor("competitors.manage")
async def product_cancel(update: Update, context: CrmContext) -> None:
    _product_draft(context)
    flow.abandon(context)
    await respond(update, context, context.t("competitors.cancelled"))


@flow.on_stray(PRODUCT)
@require_actor("competitors.manage")
async def product_stray(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("competitors.choose_button"))


# ---- delete and restore -------------------------------------------------------------------------------------

@require_actor("competitors.manage")
async def delete_ask(update: Update, context: CrmContext) -> None:
    competitor_ = await context.services.competitors.competitors.get(actor_of(context), arg(update, 0))
    c = competitor_.id
    await respond(update, context, context.t("competitors.delete_ask", name=competitor_.name),
                  [[(context.t("competitors.btn_delete"), f"cp:delok:{c}"),
                    (context.t("competitors.btn_back"), f"cp:open:{c}")]])


@require_actor("competitors.manage")
async def delete_ok(update: Update, context: CrmContext) -> None:
    await context.services.competitors.competitors.delete(actor_of(context), arg(update, 0))
    await respond(update, context, context.t("competitors.deleted"))


@require_actor("competitors.manage")
async def restore(update: Update, context: CrmContext) -> None:
    restored = await context.services.competitors.competitors.restore(actor_of(context), arg(update, 0))
    await show_card(update, context, restored.id, note=context.t("competitors.restored"))


# ---- opportunities ------------------------------------------------------------------------------------------

def opportunity_button(context: CrmContext, card: OpportunityCard) -> Button | None:
    """The opportunity card's "⚔️ Competitors" (handlers/sales/card_extras.py)."""
    if not context.services.competitors.competitors.may_read(actor_of(context)):
        return None
    return (context.t("competitors.btn_opportunity"), f"cpo:ls:{card.opportunity.id}")


async def _links(update: Update, context: CrmContext, opportunity_id: int, toggle: int | None = None, *,
                 shown: OpportunityLinks | None = None, note: str | None = None, edit: bool | None = None) -> None:
    service = context.services.competitors.competitors
    links = shown or (await service.toggle(actor_of(context), opportunity_id, toggle) if toggle is not None
                      else await service.links(actor_of(context), opportunity_id))
    o = links.opportunity_id
    rows: Rows = [[("✅ " + short(c.name, 36), f"cpo:tg:{o}:{c.id}")] for c in links.linked]
    rows += [[("➕ " + short(c.name, 36), f"cpo:tg:{o}:{c.id}")] for c in links.others[:30]]
    rows += [[("✏️ " + short(name, 36), f"cpo:ty:{o}:{i}")] for i, name in enumerate(links.typed[:10])]
    rows.append([(context.t("competitors.btn_name"), f"cpo:nm:{o}")])
    rows.append([(context.t("competitors.btn_back"), f"op:open:{o}")])
    names = ", ".join(c.name for c in links.linked) or context.t("competitors.none")
    text = context.t("competitors.links_title", title=links.title, names=names)
    await respond(update, context, text if note is None else f"{note}\n{text}", rows, edit=edit)


@require_actor("sales.view")
async def links(update: Update, context: CrmContext) -> None:
    await _links(update, context, arg(update, 0))


@require_actor("sales.view")
async def toggle(update: Update, context: CrmContext) -> None:
    await _links(update, context, arg(update, 0), arg(update, 1))


def _named_draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(NAME_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


@require_actor("sales.view")
async def ask_name(update: Update, context: CrmContext) -> None:
    """✏️ Another competitor: its name typed; the only way to name one that is not in the list."""
    links = await context.services.competitors.competitors.links(actor_of(context), arg(update, 0))
    flow.ask(context, NAME, opportunity_id=links.opportunity_id)
    await respond(update, context, context.t("competitors.ask_link_name", title=links.title), edit=False)


@flow.on_text(NAME)
@require_actor("sales.view")
async def typed_name(update: Update, context: CrmContext) -> None:
    opportunity_id = int(flow.pending(context).get("opportunity_id", 0))
    name = " ".join(message_text(update).split())[:200]
    if not name:
        await respond(update, context, context.t("competitors.ask_link_name_again"))
        return
    await _name_given(update, context, opportunity_id, name)


@require_actor("sales.view")
async def typed_before(update: Update, context: CrmContext) -> None:
    """A name kept from the free text before links (✏️ on the list): linked, or asked before it is created."""
    opportunity_id, index = arg(update, 0), arg(update, 1)
    links = await context.services.competitors.competitors.links(actor_of(context), opportunity_id)
    if not 0 <= index < len(links.typed):
        raise DomainError("error.stale_button")
    await _name_given(update, context, opportunity_id, links.typed[index])


async def _name_given(update: Update, context: CrmContext, opportunity_id: int, name: str) -> None:
    service, actor = context.services.competitors.competitors, actor_of(context)
    competitor, similar = await service.named(actor, name)
    if competitor is not None:
        flow.end(context)
        links = await service.link(actor, opportunity_id, competitor.id)
        await _links(update, context, opportunity_id, shown=links, edit=False,
                     note=context.t("competitors.linked", name=competitor.name))
        return
    if context.user_data is not None:
        context.user_data[NAME_KEY] = {"opportunity_id": opportunity_id, "name": name,
                                       "offered": [competitor_id for competitor_id, _ in similar]}
    flow.ask(context, NAMED, expects="button", buttons=("cpo:",), owns=(NAME_KEY,))
    rows: Rows = [[(context.t("competitors.btn_create", name=short(name, 30)), f"cpo:new:{opportunity_id}")]]
    rows += [[(short(other, 40), f"cpo:pk:{opportunity_id}:{competitor_id}")] for competitor_id, other in similar]
    rows.append([(context.t("common.cancel"), f"cpo:x:{opportunity_id}")])
    text = context.t("competitors.ask_new", name=name) + (
        "\n" + context.t("competitors.ask_similar") if similar else "")
    await respond(update, context, text, rows, edit=False)


def _asked(context: CrmContext, opportunity_id: int) -> dict[str, Any]:
    """The pending "create?" question of this opportunity, else the press is out of date."""
    waiting, draft = flow.current(context), _named_draft(context)
    if waiting is None or waiting.kind != NAMED or draft.get("opportunity_id") != opportunity_id:
        raise DomainError("error.stale_button")
    return draft


@require_actor("sales.view")
async def create_named(update: Update, context: CrmContext) -> None:
    opportunity_id = arg(update, 0)
    draft = _asked(context, opportunity_id)
    links = await context.services.competitors.competitors.link_named(actor_of(context), opportunity_id,
                                                                      str(draft["name"]))
    flow.abandon(context)
    await _links(update, context, opportunity_id, shown=links,
                 note=context.t("competitors.linked", name=str(draft["name"])))


@require_actor("sales.view")
async def pick_named(update: Update, context: CrmContext) -> None:
    opportunity_id, competitor_id = arg(update, 0), arg(update, 1)
    draft = _asked(context, opportunity_id)
    if competitor_id not in draft.get("offered", []):
        raise DomainError("error.stale_button")
    links = await context.services.competitors.competitors.link(actor_of(context), opportunity_id, competitor_id,
                                                                for_name=str(draft["name"]))
    flow.abandon(context)
    name = next((c.name for c in links.linked if c.id == competitor_id), "")
    await _links(update, context, opportunity_id, shown=links, note=context.t("competitors.linked", name=name))


@require_actor("sales.view")
async def cancel_named(update: Update, context: CrmContext) -> None:
    opportunity_id = arg(update, 0)
    if flow.current(context) is not None and _named_draft(context).get("opportunity_id") == opportunity_id:
        flow.abandon(context)
    await _links(update, context, opportunity_id)


# ---- who won a lost opportunity -----------------------------------------------------------------------------

async def _answered(update: Update, context: CrmContext, opportunity_id: int, answer: LossAnswer,
                    winner_id: int | None) -> None:
    question = await context.services.competitors.competitors.answer(actor_of(context), opportunity_id, answer,
                                                                     winner_id)
    winner = next((c.name for c in question.linked if c.id == winner_id), None)
    said = (context.t("competitors.loss_won_by", name=winner) if winner is not None
            else context.t(f"competitors.loss_{answer.value}"))
    flow.ask(context, WHY, opportunity_id=opportunity_id)
    await respond(update, context, said + "\n" + context.t("competitors.ask_why"),
                  [[(context.t("competitors.btn_skip"), f"cpl:skip:{opportunity_id}")]])


@require_actor()
async def won_by(update: Update, context: CrmContext) -> None:
    await _answered(update, context, arg(update, 0), LossAnswer.COMPETITOR, arg(update, 1))


@require_actor()
async def won_by_other(update: Update, context: CrmContext) -> None:
    await _answered(update, context, arg(update, 0), LossAnswer.OTHER, None)


@require_actor()
async def won_by_nobody(update: Update, context: CrmContext) -> None:
    await _answered(update, context, arg(update, 0), LossAnswer.NONE, None)


@require_actor()
async def skip_why(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == WHY:
        flow.end(context)
    await respond(update, context, context.t("competitors.loss_recorded"))


@flow.on_text(WHY)
@require_actor()
async def typed_why(update: Update, context: CrmContext) -> None:
    opportunity_id = int(flow.pending(context).get("opportunity_id", 0))
    try:
        await context.services.competitors.competitors.why(actor_of(context), opportunity_id, message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("competitors.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await respond(update, context, context.t("competitors.loss_recorded"), edit=False)
