"""Opportunities in chat: ``/opportunity`` in one message or step by step (also from the customer card's
"💼 Opportunity"), the opportunity card with its "move" and edit buttons, and ``/pipeline``.

Buttons (ids only; every press reads again through the service, which checks permission and scope):
  op:new:<customer>  op:open:<id>  op:card:<id>  op:mv:<id>:<stage>  op:edit:<id>  op:ef:<id>:<field>
  opn:save  opn:cancel  pl:team:<0|1>  pl:st:<stage>:<0|1>:<page>

What the bot understood is always shown with Save / Cancel before anything is stored; text typed while that
summary waits is never taken as the answer (handlers/core/flow.py). Moving to Lost asks for the reason first.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.money import Money
from crm.core.natural_dates import parse_when
from crm.customers.model import EntityKind
from crm.organisation.permissions import Scope
from crm.sales.opportunity_line import parse_amount, parse_line
from crm.sales.opportunity_model import OpportunityCard, OpportunityFields, Outcome, weighted
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import Editable, EditMenu, EntityScreen, Rows, ScreenTexts, arg, grid, page_row, respond
from handlers.fields import asking
from handlers.fields import values as field_values
from handlers.sales import card_extras
from handlers.sales.views import error_text
from views.core.formatting import zone
from views.core.text import short
from views.sales.opportunities import money_text, opportunity_button, pipeline_text, stage_label

DRAFT_KEY = "opportunity_draft"
NEW = "opn"  # steps: opn.title, opn.amount, opn.close (typed), opn.confirm (buttons)
REASON = "opl.reason"
EDIT = "ope.value"
CLEAR = "-"
KIND = "opportunity"  # its custom fields (handlers/fields)
MAX_NAME_WORDS = 3  # how many leading words of a one-message form may name the customer

TEXTS = ScreenTexts(edit_title="sales.opp_edit_title", pick_value="sales.pick_value", ask_value="sales.ask_value",
                    ask_list_value="sales.ask_value")
FIELD_KEYS = {"title": "sales.opp_field_title", "amount": "sales.opp_field_amount",
              "close_date": "sales.opp_field_close", "source": "sales.opp_field_source",
              "lost_reason": "sales.opp_field_lost_reason"}


def _field_label(context: CrmContext, field: str) -> str:
    return context.t(FIELD_KEYS[field]) if field in FIELD_KEYS else field


def _error(context: CrmContext, exc: DomainError) -> str:
    if exc.params.get("field") in FIELD_KEYS:
        return context.t(exc.key, **{**exc.params, "field": _field_label(context, str(exc.params["field"]))})
    return error_text(context, exc)


def _now(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


def _may_change(context: CrmContext, owner_id: int) -> bool:
    actor = actor_of(context)
    return actor.can("sales.edit") or (owner_id == actor.staff_id and actor.can("sales.create"))


# ---- the card ---------------------------------------------------------------------------------------------

async def _load(context: CrmContext, opportunity_id: int) -> OpportunityCard:
    return await context.services.sales.opportunities.card(actor_of(context), opportunity_id)


def _render(context: CrmContext, card: OpportunityCard) -> tuple[str, Rows]:
    t, o, locale = context.t, card.opportunity, context.locale
    none = t("sales.none")
    lines = [t("sales.opp_card_title", title=o.title), t("sales.opp_card_customer", name=card.customer_name),
             t("sales.opp_card_stage", stage=stage_label(card.stage, locale)),
             t("sales.opp_card_amount", amount=money_text(o.money),
               weighted=money_text(weighted(o.money, card.stage.probability))),
             t("sales.opp_card_close", date=o.close_date.isoformat() if o.close_date else none),
             t("sales.opp_card_owner", name=card.owner_name)]
    if o.source:
        lines.append(t("sales.opp_card_source", source=o.source))
    if o.competitors_typed:  # read-only: competitors are named through the links (⚔️), not typed
        lines.append(t("sales.opp_card_competitors_typed", names=o.competitors_typed))
    if card.stage.outcome is Outcome.LOST and o.lost_reason:
        lines.append(t("sales.opp_card_lost_reason", reason=o.lost_reason))
    if card.custom:
        lines.append(field_values.render_section(context, card.custom))
    rows: Rows = []
    if _may_change(context, o.owner_id):
        moves = [(("▶️ " if s.sequence > card.stage.sequence else "") + s.display_name(locale), f"op:mv:{o.id}:{s.id}")
                 for s in card.stages if s.id != card.stage.id]
        rows += grid(moves, 3)
        rows.append([(t("sales.btn_edit"), f"op:edit:{o.id}")])
    rows += [[button] for button in card_extras.buttons(context, card)]
    if fields_button := field_values.section_button(context, KIND, o.id):
        rows.append([fields_button])
    rows.append([(short(f"🏢 {card.customer_name}", 40), f"cu:open:{o.customer_id}")])
    return "\n".join(lines), rows


OPPORTUNITY = EntityScreen("op", _load, _render)
open_opportunity = require_actor("sales.view")(OPPORTUNITY.open)
opportunity_card = require_actor("sales.view")(OPPORTUNITY.card)


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    """The customer card's "💼 Opportunity" (handlers/customers/card_extras.py)."""
    if kind != "customer" or not actor_of(context).can("sales.create"):
        return None
    return (context.t("sales.btn_opportunity"), f"op:new:{record_id}")


# ---- moving through the stages ----------------------------------------------------------------------------

@require_actor("sales.view")
async def move(update: Update, context: CrmContext) -> None:
    opportunity_id, stage_id = arg(update, 0), arg(update, 1)
    card = await _load(context, opportunity_id)  # out of scope: not found, before anything is asked
    target = next((s for s in card.stages if s.id == stage_id), None)
    if target is None:
        raise DomainError("error.stale_button")
    if target.outcome is Outcome.LOST:
        if not _may_change(context, card.opportunity.owner_id):
            raise NotFound()
        flow.ask(context, REASON, opportunity_id=opportunity_id, stage_id=stage_id)
        await respond(update, context, context.t("sales.opp_ask_reason", title=card.opportunity.title), edit=False)
        return
    await context.services.sales.opportunities.move(actor_of(context), opportunity_id, stage_id)
    await OPPORTUNITY.show(update, context, opportunity_id,
                           note=context.t("sales.opp_moved", stage=target.display_name(context.locale)))


@flow.on_text(REASON)
@require_actor("sales.view")
async def typed_reason(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    opportunity_id, stage_id = int(pending.get("opportunity_id", 0)), int(pending.get("stage_id", 0))
    try:
        await context.services.sales.opportunities.move(actor_of(context), opportunity_id, stage_id,
                                                        message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("sales.try_again"))
        return
    flow.end(context)
    await OPPORTUNITY.show(update, context, opportunity_id, edit=False, note=context.t("sales.opp_lost"))


# ---- editing ----------------------------------------------------------------------------------------------

def _current(context: CrmContext, card: OpportunityCard, field: str) -> str:
    o = card.opportunity
    values: dict[str, Any] = {"title": o.title, "amount": money_text(o.money),
                              "close_date": o.close_date.isoformat() if o.close_date else None,
                              "source": o.source}
    value = values.get(field)
    return str(value) if value not in (None, "") else context.t("sales.none")


def _ask_edit(context: CrmContext, opportunity_id: int, field: str) -> None:
    flow.ask(context, EDIT, opportunity_id=opportunity_id, field=field)


OPPORTUNITY_EDIT = EditMenu(
    OPPORTUNITY, _load, lambda card: card.opportunity.title, label=_field_label, current=_current, texts=TEXTS,
    ask=_ask_edit,
    fields=(Editable("title"), Editable("amount"), Editable("close_date"), Editable("source")),
)
edit_menu = require_actor("sales.view")(OPPORTUNITY_EDIT.menu)
edit_field = require_actor("sales.view")(OPPORTUNITY_EDIT.ask_field)


def _close_date(context: CrmContext, text: str) -> date:
    when = parse_when(text, _now(context))
    if when is None:
        raise ValidationFailed("sales.opp_error_date")
    return when.at.date()


def _amount(context: CrmContext, text: str) -> tuple[Any, str]:
    read = parse_amount(text)
    if read is None:
        raise ValidationFailed("sales.error_amount", field="amount", value=text[:20])
    return read[0], read[1] or context.services.sales.opportunities.currency


def _changes(context: CrmContext, field: str, text: str) -> dict[str, Any]:
    value = text.strip()
    if field == "amount":
        amount, currency = _amount(context, value)
        return {"amount": amount, "currency": currency}
    if field == "close_date":
        return {"close_date": None if value == CLEAR else _close_date(context, value)}
    if field == "source" and value == CLEAR:
        return {field: None}
    return {field: value}


@flow.on_text(EDIT)
@require_actor("sales.view")
async def typed_edit(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    opportunity_id, field = int(pending.get("opportunity_id", 0)), str(pending.get("field", ""))
    if field not in OPPORTUNITY_EDIT.typed:
        flow.end(context)
        return
    try:
        await context.services.sales.opportunities.update(actor_of(context), opportunity_id,
                                                          _changes(context, field, message_text(update)))
    except NotFound:
        flow.end(context)
        raise
    except DomainError as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("sales.try_again"))
        return
    flow.end(context)
    await OPPORTUNITY.show(update, context, opportunity_id, edit=False, note=context.t("sales.saved"))


# ---- a new opportunity ------------------------------------------------------------------------------------

def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft


def _fields(draft: dict[str, Any]) -> OpportunityFields:
    close = draft.get("close_date")
    return OpportunityFields(customer_id=int(draft["customer_id"]), title=str(draft["title"]),
                             amount=Decimal(str(draft.get("amount") or 0)), currency=str(draft["currency"]),
                             close_date=date.fromisoformat(close) if close else None)


async def _confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _keep(context, draft)
    flow.ask(context, f"{NEW}.confirm", expects="button", buttons=("opn:",), owns=(DRAFT_KEY,))
    fields = _fields(draft)
    text = context.t("sales.opp_check", customer=draft["customer_name"], title=fields.title,
                     amount=money_text(Money(fields.amount, fields.currency)),
                     date=fields.close_date.isoformat() if fields.close_date else context.t("sales.none"))
    if extra := await asking.summary_lines(context, KIND, draft):
        text += "\n" + "\n".join(extra)
    rows = [[(context.t("sales.btn_save"), "opn:save"), (context.t("common.cancel"), "opn:cancel")]]
    await respond(update, context, text, rows, edit=False)


async def _customer_of(context: CrmContext, head: str) -> tuple[int, str, str] | None:
    """The customer named by the leading words of ``head`` (the longest that names exactly one customer the
    reader may see), with its name and the rest of the text."""
    words = head.split()
    candidates = [" ".join(words[:n]) for n in range(min(MAX_NAME_WORDS, len(words) - 1), 0, -1)]
    if not candidates:
        return None
    found = await context.services.customers.customers.named(actor_of(context), candidates)
    for n, candidate in zip(range(len(candidates), 0, -1), candidates, strict=True):
        customers = [h for h in found.get(candidate, ()) if h.entity is EntityKind.CUSTOMER]
        if len(customers) == 1:
            return customers[0].id, customers[0].title, " ".join(words[n:])
    return None


@require_actor("sales.create")
async def new_opportunity(update: Update, context: CrmContext) -> None:
    """``/opportunity 台積電 Line upgrade 1.2M TWD close next month``; alone, how to use it."""
    line = " ".join(context.args or []).strip()
    if not line:
        await respond(update, context, context.t("sales.opp_usage"))
        return
    try:
        line, typed = await asking.take_line(context, KIND, line)  # `label=value` parts: custom fields
        parsed = parse_line(line, _now(context))
    except DomainError as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("sales.opp_usage"))
        return
    customer = await _customer_of(context, parsed.head)
    if customer is None:
        await respond(update, context, context.t("sales.opp_no_customer") + "\n" + context.t("sales.opp_usage"))
        return
    customer_id, name, title = customer
    await _fields_then_confirm(update, context, {
        "customer_id": customer_id, "customer_name": name, "title": title,
        "amount": str(parsed.amount or 0), "currency": parsed.currency or context.services.sales.opportunities.currency,
        "close_date": parsed.close_date.isoformat() if parsed.close_date else None, **typed})


async def _fields_then_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    """The custom fields not answered yet (a required one always), then the summary."""
    _keep(context, draft)
    if not await asking.next_question(update, context, KIND, DRAFT_KEY, NEW):
        await _confirm(update, context, draft)


@asking.resumes(NEW)
async def _fields_asked(update: Update, context: CrmContext) -> None:
    await _confirm(update, context, _draft(context))


@require_actor("sales.create")
async def new_from_card(update: Update, context: CrmContext) -> None:
    """The customer card's button: the guided flow, starting with the title."""
    customer = await context.services.customers.customers.get(actor_of(context), arg(update, 0))
    _keep(context, {"customer_id": customer.id, "customer_name": customer.name,
                    "currency": context.services.sales.opportunities.currency})
    flow.ask(context, f"{NEW}.title", owns=(DRAFT_KEY,))
    await respond(update, context, context.t("sales.opp_ask_title", customer=customer.name), edit=False)


async def _retry(update: Update, context: CrmContext, exc: DomainError) -> None:
    await respond(update, context, _error(context, exc) + "\n" + context.t("sales.try_again"))


@flow.on_text(f"{NEW}.title")
@require_actor("sales.create")
async def typed_title(update: Update, context: CrmContext) -> None:
    title = " ".join(message_text(update).split())
    if not title:
        await _retry(update, context, ValidationFailed("error.field_required", field="title"))
        return
    _keep(context, {**_draft(context), "title": title[:200]})
    flow.ask(context, f"{NEW}.amount", owns=(DRAFT_KEY,))
    await respond(update, context, context.t("sales.opp_ask_amount"))


@flow.on_text(f"{NEW}.amount")
@require_actor("sales.create")
async def typed_amount(update: Update, context: CrmContext) -> None:
    try:
        amount, currency = _amount(context, message_text(update))
    except DomainError as exc:
        await _retry(update, context, exc)
        return
    _keep(context, {**_draft(context), "amount": str(amount), "currency": currency})
    flow.ask(context, f"{NEW}.close", owns=(DRAFT_KEY,))
    await respond(update, context, context.t("sales.opp_ask_close"))


@flow.on_text(f"{NEW}.close")
@require_actor("sales.create")
async def typed_close(update: Update, context: CrmContext) -> None:
    text = message_text(update).strip()
    try:
        close = None if text == CLEAR else _close_date(context, text)
    except DomainError as exc:
        await _retry(update, context, exc)
        return
    await _fields_then_confirm(update, context,
                               {**_draft(context), "close_date": close.isoformat() if close else None})


def _at_confirm(context: CrmContext) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind == f"{NEW}.confirm"


@require_actor("sales.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not _at_confirm(context) or not draft.get("title"):
        raise DomainError("error.stale_button")
    custom = await asking.answers(context, KIND, draft)
    try:
        opportunity = await context.services.sales.opportunities.create(actor_of(context), _fields(draft), custom)
    except ValidationFailed as exc:  # a field became required meanwhile: ask it
        if exc.key != "fields.required":
            raise
        await respond(update, context, context.t(exc.key, **exc.params), edit=False)
        await _fields_then_confirm(update, context, {**draft, "cf_asked": list(draft.get("cf") or {})})
        return
    flow.abandon(context)
    await OPPORTUNITY.show(update, context, opportunity.id, note=context.t("sales.opp_created"))


@require_actor("sales.create")
async def cancel(update: Update, context: CrmContext) -> None:
    if _at_confirm(context):
        flow.abandon(context)
    await respond(update, context, context.t("sales.new_cancelled"))


@flow.on_stray(f"{NEW}.confirm")
@require_actor("sales.create")
async def stray(update: Update, context: CrmContext) -> None:
    """Text while the summary waits: show the summary again; the text is not the opportunity."""
    draft = _draft(context)
    if draft.get("title"):
        await _confirm(update, context, draft)


# ---- /pipeline --------------------------------------------------------------------------------------------

def _has_team(context: CrmContext) -> bool:
    return actor_of(context).scope("sales") is not Scope.OWN


async def _pipeline(update: Update, context: CrmContext, team: bool) -> None:
    team = team and _has_team(context)
    shown = await context.services.sales.opportunities.pipeline(actor_of(context), team=team)
    flag = int(team)
    rows: Rows = [[(short(f"{s.stage.display_name(context.locale)} ({s.count})", 40),
                    f"pl:st:{s.stage.id}:{flag}:0")] for s in shown.stages if s.count]
    if _has_team(context):
        rows.append([(context.t("sales.btn_pipeline_mine" if team else "sales.btn_pipeline_team"),
                      f"pl:team:{int(not team)}")])
    await respond(update, context, pipeline_text(context.t, context.locale, shown), rows)


@require_actor("sales.view")
async def pipeline(update: Update, context: CrmContext) -> None:
    await _pipeline(update, context, team=False)


@require_actor("sales.view")
async def pipeline_team(update: Update, context: CrmContext) -> None:
    await _pipeline(update, context, team=arg(update, 0) == 1)


@require_actor("sales.view")
async def stage_list(update: Update, context: CrmContext) -> None:
    stage_id, team = arg(update, 0), arg(update, 1) == 1 and _has_team(context)
    page = max(arg(update, 2), 0)
    stage, items, more = await context.services.sales.opportunities.in_stage(actor_of(context), stage_id,
                                                                              team=team, page=page)
    rows: Rows = [[opportunity_button(o, name)] for o, name in items]
    rows.append(page_row(lambda p: f"pl:st:{stage_id}:{int(team)}:{p}", page, more))
    rows.append([(context.t("common.back"), f"pl:team:{int(team)}")])
    text = context.t("sales.pipeline_stage", stage=stage_label(stage, context.locale), page=page + 1)
    await respond(update, context, text, [row for row in rows if row])
