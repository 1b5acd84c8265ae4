"""A record's custom fields in chat: the customer card's lines, the "🧩 Fields" button on customer, contact and
lead cards (and on the cards of the kinds later modules add with ``add_kind``: opportunities, tickets, ...), and
setting one field by typing its value (checked for its type; a wrong one is answered with what was expected and
asked again).

Buttons: cf:ed:<kind>:<id>  cf:set:<kind>:<id>:<field>  cf:clr:<kind>:<id>:<field>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.fields.model import FieldEntity
from handlers.core import flow
from handlers.core.common import Button, actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond, word
from handlers.customers.card_extras import CardExtra
from views.core.text import short
from views.fields.values import card_lines, value_text

VALUE = "cf.value"
KINDS = {"customer": FieldEntity.CUSTOMER, "contact": FieldEntity.CONTACT, "lead": FieldEntity.LEAD}
CARDS = {"customer": "cu:open", "contact": "ct:open", "lead": "ld:open"}


def add_kind(kind: str, entity: FieldEntity, card: str) -> None:
    """A later module's kind of record (``opportunity`` → ``op:open``): its 🧩 Fields screen and the way back to
    its card. Who may see and set the values is the kind's ``RecordKind``, checked by the service."""
    KINDS[kind] = entity
    CARDS[kind] = card


def _ops(context: CrmContext, kind: str) -> tuple[str, str]:
    """The kind's view and edit operations (its ``RecordKind``); the customers' when the kind is not wired."""
    record = context.services.fields.fields.kinds.get(KINDS[kind])
    return (record.view, record.edit) if record is not None else ("customers.view", "customers.edit")


def section_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    """The "🧩 Fields" button of a record's card, for whoever may see the kind's values."""
    actor = context.actor
    if kind not in KINDS or actor is None or not actor.can(_ops(context, kind)[0]):
        return None
    return (context.t("fields.btn_fields"), f"cf:ed:{kind}:{record_id}")


def _kind(update: Update) -> str:
    kind = word(update, 0)
    if kind not in KINDS:
        raise DomainError("error.stale_button")
    return kind


def render_section(context: CrmContext, rows: Sequence[Any]) -> str:
    actor = context.actor
    region = context.services.fields.fields.phone_region
    return card_lines(context.t, actor.locale if actor else "en", rows, phone_region=region)


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    if kind not in ("customer", "contact", "lead"):  # the customers module's cards; others add their own
        return None
    return section_button(context, kind, record_id)


CARD_EXTRA = CardExtra(section="fields", items=50, render=render_section, button=card_button)


async def show_values(update: Update, context: CrmContext, kind: str, record_id: int, *, note: str | None = None,
                      edit: bool | None = None) -> None:
    actor = actor_of(context)
    rows_ = await context.services.fields.fields.values(actor, KINDS[kind], record_id)
    region = context.services.fields.fields.phone_region
    rows: Rows = []
    lines = []
    for field, value in rows_:
        shown = value_text(context.t, field, value, phone_region=region) or "—"
        lines.append(context.t("fields.card_line", label=field.label(actor.locale), value=shown))
        if actor.can(_ops(context, kind)[1]):
            rows.append([(short(f"✏️ {field.label(actor.locale)}{' *' if field.required else ''}", 40),
                          f"cf:set:{kind}:{record_id}:{field.id}")])
    rows.append([(context.t("fields.btn_back"), f"{CARDS[kind]}:{record_id}")])
    text = "\n".join([context.t("fields.values_title"), *lines]) if rows_ else context.t("fields.values_none")
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor()
async def open_values(update: Update, context: CrmContext) -> None:
    await show_values(update, context, _kind(update), arg(update, 1))


async def _field_of(context: CrmContext, kind: str, record_id: int, field_id: int) -> Any:
    rows = await context.services.fields.fields.values(actor_of(context), KINDS[kind], record_id)
    for field, value in rows:
        if field.id == field_id:
            return field, value
    raise DomainError("error.stale_button")


@require_actor()
async def set_ask(update: Update, context: CrmContext) -> None:
    kind, record_id, field_id = _kind(update), arg(update, 1), arg(update, 2)
    actor_of(context).require(_ops(context, kind)[1])
    field, value = await _field_of(context, kind, record_id, field_id)
    flow.ask(context, VALUE, record_kind=kind, record_id=record_id, field_id=field_id)
    text = ask_text(context, field)
    current = context.services.fields.fields.as_text(field, value)
    if current:
        text += "\n" + context.t("fields.current_value", value=current)
    rows: Rows = []
    if not field.required and current:
        rows.append([(context.t("fields.btn_clear"), f"cf:clr:{kind}:{record_id}:{field_id}")])
    await respond(update, context, text, rows, edit=False)


def ask_text(context: CrmContext, field: Any) -> str:
    """The question for one field: its label, what kind of answer it takes, its choices."""
    actor = actor_of(context)
    text = context.t(f"fields.ask_{field.type.value}", label=field.label(actor.locale))
    if field.type.has_choices:
        text += "\n" + "\n".join(f"{i}. {choice}" for i, choice in enumerate(field.choices, start=1))
    return text


async def _save(update: Update, context: CrmContext, kind: str, record_id: int, field_id: int, text: str) -> None:
    try:
        await context.services.fields.fields.set(actor_of(context), KINDS[kind], record_id, {field_id: text})
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("fields.try_again"),
                      edit=False)
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await show_values(update, context, kind, record_id, note=context.t("fields.saved"), edit=False)


@flow.on_text(VALUE)
@require_actor()
async def typed_value(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    kind = str(pending.get("record_kind", ""))
    if kind not in KINDS:
        flow.end(context)
        raise DomainError("error.stale_button")
    await _save(update, context, kind, int(pending.get("record_id", 0)), int(pending.get("field_id", 0)),
                message_text(update))


@require_actor()
async def clear(update: Update, context: CrmContext) -> None:
    await _save(update, context, _kind(update), arg(update, 1), arg(update, 2), "")
