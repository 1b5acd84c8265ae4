"""Buttons on customer, contact and lead cards, and /trash.

Every press carries ids only and goes through one service call that re-checks permission and scope, so an old
or forged button for a record out of reach answers "not found" like any other missing record. The cards, edit
menus, delete confirmations, trash and history are entity screens (handlers/core/screens.py); what is left here
is what only one kind does.

  cu:open:<id> (new message)  cu:card:<id> (in place)  cu:edit:<id>  cu:ef:<id>:<field>  cu:ev:<id>:<field>:<v>
  cu:efok:<id>  cu:more:<id>  cu:del:<id>  cu:delok:<id>  cu:hist:<id>  cu:own:<id>:<page>  cu:setown:<id>:<sid>
  cu:addct:<id>  cu:trash:<page>  cu:rst:<id>
  ct:open:<id>  ct:card:<id>  ct:edit:<id>  ct:ef:<id>:<field>  ct:del:<id>  ct:delok:<id>
  ld:open:<id>  ld:card:<id>  ld:q:<id>  ld:cv:<id>  ld:drop:<id>
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, NotFound
from crm.customers.customers import DuplicateSuspected
from crm.customers.model import Classification, Contact, Customer, CustomerKind, EntityKind, Tier
from crm.customers.quick_entry import parse_line
from crm.followups.followups import Target
from crm.organisation.staff import PAGE_SIZE as STAFF_PAGE
from handlers.core import common
from handlers.core.screens import Editable, EditMenu, Rows, ScreenTexts, arg, grid, page_arg, page_row, respond
from handlers.customers import card_extras, draft_extras
from handlers.customers.views import (
    CONTACT,
    CUSTOMER,
    LEAD,
    classification_label,
    duplicate_rows,
    duplicates_text,
    error_text,
    field_label,
    interaction_line,
    kind_label,
    phones_text,
    render_lead,
    short,
    show_contact,
    show_customer,
    tier_label,
)

CLEAR = "-"
EDIT_FORCE_KEY = "cu_edit_force"
_LIST_SPLIT = re.compile(r"[,，、/;；\n]+")
HISTORY = 10

TEXTS = ScreenTexts(
    edit_title="customers.edit_title", pick_value="customers.pick_value", ask_value="customers.ask_value",
    ask_list_value="customers.ask_list_value", confirm_delete="customers.confirm_delete",
    trash_title="customers.trash_title", trash_empty="customers.trash_empty",
    history_title="customers.history_title", history_empty="customers.history_empty",
)
CONTACT_TEXTS = ScreenTexts(
    edit_title="customers.edit_title", pick_value="customers.pick_value", ask_value="customers.ask_value",
    ask_list_value="customers.ask_list_value", confirm_delete="customers.confirm_delete_contact",
)


def _current(context: CrmContext, record: Any, field: str) -> str:
    value = getattr(record, field)
    if field == "phones":
        return phones_text(context, value) or context.t("customers.none")
    if field == "tags":
        return " ".join(f"#{t}" for t in value) or context.t("customers.none")
    return str(value) if value else context.t("customers.none")


def _tier(value: str) -> Tier | None:
    return None if value == "none" else Tier(value)


async def _customer(context: CrmContext, customer_id: int) -> Customer:
    return await context.services.customers.customers.get(common.actor_of(context), customer_id)


async def _contact(context: CrmContext, contact_id: int) -> Contact:
    contact, _customer = await context.services.customers.contacts.get(common.actor_of(context), contact_id)
    return contact


CUSTOMER_EDIT = EditMenu(
    CUSTOMER, _customer, lambda c: c.name, label=field_label, current=_current, texts=TEXTS,
    ask=lambda context, customer_id, field: common.expect_text(context, "cu.edit", customer_id=customer_id,
                                                               field=field),
    fields=(
        Editable("name"), Editable("short_name"),
        Editable("kind", lambda context: [(kind_label(context, k), k.value) for k in CustomerKind], CustomerKind),
        Editable("phones", listed=True), Editable("email"), Editable("address"), Editable("region"),
        Editable("industry"),
        Editable("classification", lambda context: [(classification_label(context, c), c.value)
                                                    for c in Classification], Classification),
        Editable("tier", lambda context: [*((tier_label(context, t), t.value) for t in Tier),
                                          (context.t("customers.btn_no_tier"), "none")], _tier),
        Editable("tags", listed=True), Editable("notes"),
    ),
)
CONTACT_EDIT = EditMenu(
    CONTACT, _contact, lambda c: c.name, label=field_label, current=_current, texts=CONTACT_TEXTS, width=2,
    ask=lambda context, contact_id, field: common.expect_text(context, "ct.edit", contact_id=contact_id, field=field),
    fields=(Editable("name"), Editable("title"), Editable("phones", listed=True), Editable("email")),
)
TEXT_FIELDS = CUSTOMER_EDIT.typed
CONTACT_FIELDS = CONTACT_EDIT.typed
LIST_FIELDS = ("phones", "tags")


# ---- customer card ---------------------------------------------------------------------------------------

open_customer = common.require_actor("customers.view")(CUSTOMER.open)
customer_card = common.require_actor("customers.view")(CUSTOMER.card)
edit_menu = common.require_actor("customers.edit")(CUSTOMER_EDIT.menu)
edit_field = common.require_actor("customers.edit")(CUSTOMER_EDIT.ask_field)


def _typed_value(field: str, text: str) -> Any:
    value = text.strip()
    if value == CLEAR:
        return () if field in LIST_FIELDS else None
    if field == "phones":
        return tuple(p.strip() for p in _LIST_SPLIT.split(value) if p.strip())
    return value


async def _update_customer(update: Update, context: CrmContext, customer_id: int, changes: dict[str, Any],
                           *, force: bool = False, edit: bool | None = None) -> bool:
    """Save; on possible duplicates, show them and keep the change for "Save anyway"."""
    try:
        await context.services.customers.customers.update(common.actor_of(context), customer_id, changes, force=force)
    except DuplicateSuspected as exc:
        if context.user_data is not None:
            context.user_data[EDIT_FORCE_KEY] = {"id": customer_id, "changes": {
                k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}}
        rows = duplicate_rows(context, exc.duplicates, f"cu:efok:{customer_id}", "customers.btn_save_anyway",
                              [CUSTOMER.back(context, customer_id)])
        await respond(update, context, duplicates_text(context, exc.duplicates), rows, edit=False)
        return False
    await show_customer(update, context, customer_id, edit=edit, note=context.t("customers.saved"))
    return True


@common.on_pending("cu.edit")
@common.require_actor("customers.edit")
async def _typed_edit(update: Update, context: CrmContext) -> None:
    pending = common.current_pending(context)
    customer_id, field = int(pending.get("customer_id", 0)), str(pending.get("field", ""))
    if field not in TEXT_FIELDS:
        common.clear_pending(context)
        return
    try:
        await _update_customer(update, context, customer_id, {field: _typed_value(field, common.message_text(update))},
                               edit=False)
    except NotFound:
        common.clear_pending(context)
        raise
    except DomainError as exc:
        # The question stays open: the rep just types the value again.
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    common.clear_pending(context)


@common.require_actor("customers.edit")
async def set_choice(update: Update, context: CrmContext) -> None:
    customer_id, field, value = CUSTOMER_EDIT.picked(update)
    await _update_customer(update, context, customer_id, {field: value})


@common.require_actor("customers.edit")
async def save_anyway(update: Update, context: CrmContext) -> None:
    customer_id = arg(update, 0)
    kept = context.user_data.get(EDIT_FORCE_KEY) if context.user_data is not None else None
    if not isinstance(kept, dict) or kept.get("id") != customer_id:
        raise DomainError("error.stale_button")
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(kept["changes"]).items()}
    await _update_customer(update, context, customer_id, changes, force=True, edit=False)
    if context.user_data is not None:
        context.user_data.pop(EDIT_FORCE_KEY, None)


# ---- More: add contact, history, owner, delete -----------------------------------------------------------

@common.require_actor("customers.view")
async def more(update: Update, context: CrmContext) -> None:
    actor = common.actor_of(context)
    customer = await context.services.customers.customers.get(actor, arg(update, 0))
    cid = customer.id
    rows: Rows = [[(context.t("customers.btn_history"), f"cu:hist:{cid}")]]
    if actor.can("customers.edit"):
        rows.append([(context.t("customers.btn_add_contact"), f"cu:addct:{cid}")])
    if actor.can("customers.handover"):
        rows.append([(context.t("customers.btn_owner"), f"cu:own:{cid}:0")])
    if actor.can("customers.delete"):
        rows.append([(context.t("customers.btn_delete"), f"cu:del:{cid}")])
    rows.append([CUSTOMER.back(context, cid)])
    await respond(update, context, context.t("customers.more_title", name=customer.name), rows)


@common.require_actor("customers.view")
async def history(update: Update, context: CrmContext) -> None:
    """The last interactions and what other modules recorded with the customer (quotes, orders, invoices…),
    newest first."""
    customer_id = arg(update, 0)
    items = await context.services.followups.followups.recent_interactions(
        common.actor_of(context), Target(EntityKind.CUSTOMER, customer_id), HISTORY)
    entries = [(i.occurred_at, interaction_line(context, i)) for i in items]
    entries.extend(await card_extras.history(context, customer_id))
    entries.sort(key=lambda entry: entry[0], reverse=True)
    await CUSTOMER.history(update, context, TEXTS, customer_id, [line for _, line in entries[:HISTORY]])


@common.require_actor("customers.handover")
async def owner_menu(update: Update, context: CrmContext) -> None:
    """Colleagues the customer can be handed to; the service re-checks that they are within the actor's scope."""
    actor = common.actor_of(context)
    customer = await context.services.customers.customers.get(actor, arg(update, 0))
    page = max(arg(update, 1), 0)
    staff, total = await context.services.organisation.staff.page(actor, page, include_inactive=False)
    buttons = [(("• " if s.id == customer.owner_id else "") + short(s.name, 30), f"cu:setown:{customer.id}:{s.id}")
               for s in staff]
    rows = [*grid(buttons, 2), page_row(lambda p: f"cu:own:{customer.id}:{p}", page, (page + 1) * STAFF_PAGE < total),
            [CUSTOMER.back(context, customer.id)]]
    await respond(update, context, context.t("customers.owner_title", name=customer.name), rows)


@common.require_actor("customers.handover")
async def set_owner(update: Update, context: CrmContext) -> None:
    actor = common.actor_of(context)
    customer_id, staff_id = arg(update, 0), arg(update, 1)
    staff = await context.services.organisation.staff.get(actor, staff_id)
    customer = await context.services.customers.customers.update(actor, customer_id, {"owner_id": staff.id})
    note = context.t("customers.owner_changed", name=customer.name, owner=staff.name)
    try:
        await show_customer(update, context, customer_id, note=note)
    except NotFound:
        # Handed to someone whose customers this actor does not see: the change is done, the card is theirs.
        await respond(update, context, note)


@common.require_actor("customers.delete")
async def delete(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.get(common.actor_of(context), arg(update, 0))
    await CUSTOMER.confirm_delete(update, context, TEXTS, customer.id, customer.name)


@common.require_actor("customers.delete")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    actor = common.actor_of(context)
    customer_id = arg(update, 0)
    customer = await context.services.customers.customers.get(actor, customer_id)
    await context.services.customers.customers.delete(actor, customer_id)
    rows = [[(context.t("customers.btn_restore"), f"cu:rst:{customer_id}")]] if actor.can("trash.restore") else []
    await respond(update, context, context.t("customers.deleted", name=customer.name), rows)


@common.require_actor("customers.edit")
async def add_contact(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.get(common.actor_of(context), arg(update, 0))
    common.expect_text(context, "cu.addct", customer_id=customer.id)
    await respond(update, context, context.t("customers.ask_contact", name=customer.name), edit=False)


@common.on_pending("cu.addct")
@common.require_actor("customers.edit")
async def _typed_contact(update: Update, context: CrmContext) -> None:
    """`name; phones; e-mail; job title` in any order, like the one-line customer form; with `label=value` parts
    for the contacts' custom fields (a required one must be there: the contact is not added without it)."""
    customer_id = int(common.current_pending(context).get("customer_id", 0))
    extras = draft_extras.provider(context)
    line, answers = common.message_text(update), dict[str, str]()
    try:
        if extras is not None:
            line, answers = await _contact_extras(context, extras, line)
        entry = parse_line(line)
        contact = await context.services.customers.contacts.add(common.actor_of(context), customer_id, entry.name or "",
                                                      title=entry.second, phone_list=entry.phones,
                                                      email=entry.email)
    except NotFound:
        common.clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    common.clear_pending(context)
    if extras is not None and answers:
        await extras.save(context, "contact", contact.id, answers)
    await show_customer(update, context, customer_id, note=context.t("customers.contact_added", name=contact.name))


async def _contact_extras(context: CrmContext, extras: draft_extras.DraftQuestions, line: str
                          ) -> tuple[str, dict[str, str]]:
    """The line without its `label=value` parts, and those parts read (raises when one is wrong or a required
    one is missing)."""
    rest, typed = await extras.split_line(context, "contact", line)
    answers = {code: await extras.accept(context, "contact", code, value) for code, value in typed.items()}
    for question in await extras.questions(context, "contact"):
        if question.required and not answers.get(question.code):
            raise DomainError("fields.required", label=question.label)
    return rest, answers


# ---- trash -----------------------------------------------------------------------------------------------

@common.require_actor("trash.restore")
async def trash(update: Update, context: CrmContext) -> None:
    """/trash: deleted customers in my scope, newest first, each with a Restore button."""
    page = page_arg(update)
    deleted, has_more = await context.services.customers.customers.trash(common.actor_of(context), page)
    await CUSTOMER.trash(update, context, TEXTS, [(c.id, c.name) for c in deleted], page, has_more)


@common.require_actor("trash.restore")
async def restore(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.restore(common.actor_of(context), arg(update, 0))
    await show_customer(update, context, customer.id, note=context.t("customers.restored", name=customer.name))


# ---- contact card ----------------------------------------------------------------------------------------

open_contact = common.require_actor("customers.view")(CONTACT.open)
contact_card = common.require_actor("customers.view")(CONTACT.card)
contact_edit_menu = common.require_actor("customers.edit")(CONTACT_EDIT.menu)
contact_edit_field = common.require_actor("customers.edit")(CONTACT_EDIT.ask_field)


@common.on_pending("ct.edit")
@common.require_actor("customers.edit")
async def _typed_contact_edit(update: Update, context: CrmContext) -> None:
    pending = common.current_pending(context)
    contact_id, field = int(pending.get("contact_id", 0)), str(pending.get("field", ""))
    if field not in CONTACT_FIELDS:
        common.clear_pending(context)
        return
    value = _typed_value(field, common.message_text(update))
    if field == "name" and value is None:
        value = ""
    try:
        await context.services.customers.contacts.update(common.actor_of(context), contact_id, {field: value})
    except NotFound:
        common.clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    common.clear_pending(context)
    await show_contact(update, context, contact_id, note=context.t("customers.saved"))


@common.require_actor("customers.edit")
async def contact_delete(update: Update, context: CrmContext) -> None:
    contact = await _contact(context, arg(update, 0))
    await CONTACT.confirm_delete(update, context, CONTACT_TEXTS, contact.id, contact.name)


@common.require_actor("customers.edit")
async def contact_delete_confirmed(update: Update, context: CrmContext) -> None:
    actor = common.actor_of(context)
    contact, customer = await context.services.customers.contacts.get(actor, arg(update, 0))
    await context.services.customers.contacts.delete(actor, contact.id)
    await show_customer(update, context, customer.id,
                        note=context.t("customers.contact_deleted", name=contact.name))


# ---- lead card -------------------------------------------------------------------------------------------

open_lead = common.require_actor("customers.view")(LEAD.open)
lead_card = common.require_actor("customers.view")(LEAD.card)


@common.require_actor("customers.edit")
async def qualify(update: Update, context: CrmContext) -> None:
    lead = await context.services.customers.leads.qualify(common.actor_of(context), arg(update, 0))
    await render_lead(update, context, lead, note=context.t("customers.saved"))


@common.require_actor("customers.create")
async def convert(update: Update, context: CrmContext) -> None:
    """Lead → customer + contact; the new customer's card replaces the lead's."""
    customer, _contact = await context.services.customers.leads.convert(common.actor_of(context), arg(update, 0))
    await show_customer(update, context, customer.id, note=context.t("customers.converted", name=customer.name))


@common.require_actor("customers.edit")
async def drop(update: Update, context: CrmContext) -> None:
    lead = await context.services.customers.leads.get(common.actor_of(context), arg(update, 0))
    common.expect_text(context, "ld.drop", lead_id=lead.id)
    await respond(update, context, context.t("customers.ask_drop_reason", name=lead.name), edit=False)


@common.on_pending("ld.drop")
@common.require_actor("customers.edit")
async def _typed_drop(update: Update, context: CrmContext) -> None:
    lead_id = int(common.current_pending(context).get("lead_id", 0))
    try:
        lead = await context.services.customers.leads.drop(common.actor_of(context), lead_id,
                                                           common.message_text(update))
    except NotFound:
        common.clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    common.clear_pending(context)
    await render_lead(update, context, lead, note=context.t("customers.dropped"))


