"""Buttons on customer, contact and lead cards, and /trash.

Every press carries ids only and goes through one service call that re-checks permission and scope, so an old
or forged button for a record out of reach answers "not found" like any other missing record.

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
from crm.customers.model import Classification, CustomerKind, EntityKind, Tier
from crm.customers.quick_entry import parse_line
from crm.followups.followups import Target
from crm.organisation.staff import PAGE_SIZE as STAFF_PAGE
from handlers.core.common import (
    Button,
    actor_of,
    callback_args,
    clear_pending,
    current_pending,
    expect_text,
    int_arg,
    message_text,
    on_pending,
    require_actor,
)
from handlers.customers.views import (
    classification_label,
    duplicate_rows,
    duplicates_text,
    error_text,
    field_label,
    interaction_line,
    kind_label,
    phones_text,
    render_lead,
    respond,
    short,
    show_contact,
    show_customer,
    show_lead,
    tier_label,
)

CLEAR = "-"
EDIT_FORCE_KEY = "cu_edit_force"
TEXT_FIELDS = ("name", "short_name", "phones", "email", "address", "region", "industry", "tags", "notes")
CHOICE_FIELDS = ("kind", "classification", "tier")
CUSTOMER_FIELDS = ("name", "short_name", "kind", "phones", "email", "address", "region", "industry",
                   "classification", "tier", "tags", "notes")
CONTACT_FIELDS = ("name", "title", "phones", "email")
LIST_FIELDS = ("phones", "tags")
_LIST_SPLIT = re.compile(r"[,，、/;；\n]+")
HISTORY = 10


def _arg(update: Update, index: int) -> int:
    return int_arg(callback_args(update), index)


def _word(update: Update, index: int) -> str:
    args = callback_args(update)
    return args[index] if len(args) > index else ""


def _grid(buttons: list[Button], width: int = 3) -> list[list[Button]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


# ---- customer card ---------------------------------------------------------------------------------------

@require_actor("customers.view")
async def open_customer(update: Update, context: CrmContext) -> None:
    """The card as a new message (from a list, a reminder, a search result)."""
    await show_customer(update, context, _arg(update, 0), edit=False)


@require_actor("customers.view")
async def customer_card(update: Update, context: CrmContext) -> None:
    """Back to the card, in place."""
    await show_customer(update, context, _arg(update, 0))


@require_actor("customers.edit")
async def edit_menu(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.get(actor_of(context), _arg(update, 0))
    buttons = [(field_label(context, f), f"cu:ef:{customer.id}:{f}") for f in CUSTOMER_FIELDS]
    rows = [*_grid(buttons), [(context.t("common.back"), f"cu:card:{customer.id}")]]
    await respond(update, context, context.t("customers.edit_title", name=customer.name), rows)


def _current(context: CrmContext, value: Any, field: str) -> str:
    if field == "phones":
        return phones_text(context, value) or context.t("customers.none")
    if field == "tags":
        return " ".join(f"#{t}" for t in value) or context.t("customers.none")
    return str(value) if value else context.t("customers.none")


@require_actor("customers.edit")
async def edit_field(update: Update, context: CrmContext) -> None:
    """Buttons for fields with fixed values; a typed answer for the rest."""
    field = _word(update, 1)
    customer = await context.services.customers.customers.get(actor_of(context), _arg(update, 0))
    back = [(context.t("common.back"), f"cu:edit:{customer.id}")]
    if field in CHOICE_FIELDS:
        if field == "kind":
            choices = [(kind_label(context, k), k.value) for k in CustomerKind]
        elif field == "classification":
            choices = [(classification_label(context, c), c.value) for c in Classification]
        else:
            choices = [*((tier_label(context, t), t.value) for t in Tier), (context.t("customers.btn_no_tier"), "none")]
        buttons = [(label, f"cu:ev:{customer.id}:{field}:{value}") for label, value in choices]
        await respond(update, context, context.t("customers.pick_value", field=field_label(context, field)),
                    [*_grid(buttons), back])
        return
    if field not in TEXT_FIELDS:
        raise DomainError("error.stale_button")
    expect_text(context, "cu.edit", customer_id=customer.id, field=field)
    hint = "customers.ask_list_value" if field in LIST_FIELDS else "customers.ask_value"
    await respond(update, context, context.t(hint, field=field_label(context, field),
                                           current=_current(context, getattr(customer, field), field)), edit=False)


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
        await context.services.customers.customers.update(actor_of(context), customer_id, changes, force=force)
    except DuplicateSuspected as exc:
        if context.user_data is not None:
            context.user_data[EDIT_FORCE_KEY] = {"id": customer_id, "changes": {
                k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}}
        rows = duplicate_rows(context, exc.duplicates, f"cu:efok:{customer_id}", "customers.btn_save_anyway",
                              [(context.t("common.back"), f"cu:card:{customer_id}")])
        await respond(update, context, duplicates_text(context, exc.duplicates), rows, edit=False)
        return False
    await show_customer(update, context, customer_id, edit=edit, note=context.t("customers.saved"))
    return True


@on_pending("cu.edit")
@require_actor("customers.edit")
async def _typed_edit(update: Update, context: CrmContext) -> None:
    pending = current_pending(context)
    customer_id, field = int(pending.get("customer_id", 0)), str(pending.get("field", ""))
    if field not in TEXT_FIELDS:
        clear_pending(context)
        return
    try:
        await _update_customer(update, context, customer_id, {field: _typed_value(field, message_text(update))},
                               edit=False)
    except NotFound:
        clear_pending(context)
        raise
    except DomainError as exc:
        # The question stays open: the rep just types the value again.
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    clear_pending(context)


@require_actor("customers.edit")
async def set_choice(update: Update, context: CrmContext) -> None:
    field, value = _word(update, 1), _word(update, 2)
    parsed: Any
    try:
        if field == "kind":
            parsed = CustomerKind(value)
        elif field == "classification":
            parsed = Classification(value)
        elif field == "tier":
            parsed = None if value == "none" else Tier(value)
        else:
            raise ValueError(field)
    except ValueError:
        raise DomainError("error.stale_button") from None
    await _update_customer(update, context, _arg(update, 0), {field: parsed})


@require_actor("customers.edit")
async def save_anyway(update: Update, context: CrmContext) -> None:
    customer_id = _arg(update, 0)
    kept = context.user_data.get(EDIT_FORCE_KEY) if context.user_data is not None else None
    if not isinstance(kept, dict) or kept.get("id") != customer_id:
        raise DomainError("error.stale_button")
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(kept["changes"]).items()}
    await _update_customer(update, context, customer_id, changes, force=True, edit=False)
    if context.user_data is not None:
        context.user_data.pop(EDIT_FORCE_KEY, None)


# ---- More: add contact, history, owner, delete -----------------------------------------------------------

@require_actor("customers.view")
async def more(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    customer = await context.services.customers.customers.get(actor, _arg(update, 0))
    cid = customer.id
    rows: list[list[Button]] = [[(context.t("customers.btn_history"), f"cu:hist:{cid}")]]
    if actor.can("customers.edit"):
        rows.append([(context.t("customers.btn_add_contact"), f"cu:addct:{cid}")])
    if actor.can("customers.handover"):
        rows.append([(context.t("customers.btn_owner"), f"cu:own:{cid}:0")])
    if actor.can("customers.delete"):
        rows.append([(context.t("customers.btn_delete"), f"cu:del:{cid}")])
    rows.append([(context.t("common.back"), f"cu:card:{cid}")])
    await respond(update, context, context.t("customers.more_title", name=customer.name), rows)


@require_actor("customers.view")
async def history(update: Update, context: CrmContext) -> None:
    """The last interactions, newest first."""
    customer_id = _arg(update, 0)
    actor = actor_of(context)
    items = await context.services.followups.followups.recent_interactions(
        actor, Target(EntityKind.CUSTOMER, customer_id), HISTORY)
    lines = [context.t("customers.history_title")]
    lines.extend(interaction_line(context, i) for i in items)
    if not items:
        lines.append(context.t("customers.history_empty"))
    await respond(update, context, "\n".join(lines), [[(context.t("common.back"), f"cu:card:{customer_id}")]])


@require_actor("customers.handover")
async def owner_menu(update: Update, context: CrmContext) -> None:
    """Colleagues the customer can be handed to; the service re-checks that they are within the actor's scope."""
    actor = actor_of(context)
    customer = await context.services.customers.customers.get(actor, _arg(update, 0))
    page = max(_arg(update, 1), 0)
    staff, total = await context.services.organisation.staff.page(actor, page, include_inactive=False)
    buttons = [(("• " if s.id == customer.owner_id else "") + short(s.name, 30), f"cu:setown:{customer.id}:{s.id}")
               for s in staff]
    rows = _grid(buttons, 2)
    nav: list[Button] = []
    if page > 0:
        nav.append(("◀️", f"cu:own:{customer.id}:{page - 1}"))
    if (page + 1) * STAFF_PAGE < total:
        nav.append(("▶️", f"cu:own:{customer.id}:{page + 1}"))
    rows.append(nav)
    rows.append([(context.t("common.back"), f"cu:card:{customer.id}")])
    await respond(update, context, context.t("customers.owner_title", name=customer.name), rows)


@require_actor("customers.handover")
async def set_owner(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    customer_id, staff_id = _arg(update, 0), _arg(update, 1)
    staff = await context.services.organisation.staff.get(actor, staff_id)
    customer = await context.services.customers.customers.update(actor, customer_id, {"owner_id": staff.id})
    note = context.t("customers.owner_changed", name=customer.name, owner=staff.name)
    try:
        await show_customer(update, context, customer_id, note=note)
    except NotFound:
        # Handed to someone whose customers this actor does not see: the change is done, the card is theirs.
        await respond(update, context, note)


@require_actor("customers.delete")
async def delete(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.get(actor_of(context), _arg(update, 0))
    rows = [[(context.t("common.yes_delete"), f"cu:delok:{customer.id}"),
             (context.t("common.cancel"), f"cu:card:{customer.id}")]]
    await respond(update, context, context.t("customers.confirm_delete", name=customer.name), rows)


@require_actor("customers.delete")
async def delete_confirmed(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    customer_id = _arg(update, 0)
    customer = await context.services.customers.customers.get(actor, customer_id)
    await context.services.customers.customers.delete(actor, customer_id)
    rows = [[(context.t("customers.btn_restore"), f"cu:rst:{customer_id}")]] if actor.can("trash.restore") else []
    await respond(update, context, context.t("customers.deleted", name=customer.name), rows)


@require_actor("customers.edit")
async def add_contact(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.get(actor_of(context), _arg(update, 0))
    expect_text(context, "cu.addct", customer_id=customer.id)
    await respond(update, context, context.t("customers.ask_contact", name=customer.name), edit=False)


@on_pending("cu.addct")
@require_actor("customers.edit")
async def _typed_contact(update: Update, context: CrmContext) -> None:
    """`name; phones; e-mail; job title` in any order, like the one-line customer form."""
    customer_id = int(current_pending(context).get("customer_id", 0))
    entry = parse_line(message_text(update))
    try:
        contact = await context.services.customers.contacts.add(actor_of(context), customer_id, entry.name or "",
                                                      title=entry.second, phone_list=entry.phones,
                                                      email=entry.email)
    except NotFound:
        clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    clear_pending(context)
    await show_customer(update, context, customer_id, note=context.t("customers.contact_added", name=contact.name))


# ---- trash -----------------------------------------------------------------------------------------------

@require_actor("trash.restore")
async def trash(update: Update, context: CrmContext) -> None:
    """/trash: deleted customers in my scope, newest first, each with a Restore button."""
    args = callback_args(update)
    page = max(int_arg(args, 0), 0) if args else 0
    deleted, has_more = await context.services.customers.customers.trash(actor_of(context), page)
    if not deleted and page == 0:
        await respond(update, context, context.t("customers.trash_empty"))
        return
    rows = [[(short(context.t("common.restore_named", name=c.name), 60), f"cu:rst:{c.id}")] for c in deleted]
    nav: list[Button] = []
    if page > 0:
        nav.append(("◀️", f"cu:trash:{page - 1}"))
    if has_more:
        nav.append(("▶️", f"cu:trash:{page + 1}"))
    rows.append(nav)
    await respond(update, context, context.t("customers.trash_title", page=page + 1), rows)


@require_actor("trash.restore")
async def restore(update: Update, context: CrmContext) -> None:
    customer = await context.services.customers.customers.restore(actor_of(context), _arg(update, 0))
    await show_customer(update, context, customer.id, note=context.t("customers.restored", name=customer.name))


# ---- contact card ----------------------------------------------------------------------------------------

@require_actor("customers.view")
async def open_contact(update: Update, context: CrmContext) -> None:
    await show_contact(update, context, _arg(update, 0), edit=False)


@require_actor("customers.view")
async def contact_card(update: Update, context: CrmContext) -> None:
    await show_contact(update, context, _arg(update, 0))


@require_actor("customers.edit")
async def contact_edit_menu(update: Update, context: CrmContext) -> None:
    contact, _customer = await context.services.customers.contacts.get(actor_of(context), _arg(update, 0))
    buttons = [(field_label(context, f), f"ct:ef:{contact.id}:{f}") for f in CONTACT_FIELDS]
    rows = [*_grid(buttons, 2), [(context.t("common.back"), f"ct:card:{contact.id}")]]
    await respond(update, context, context.t("customers.edit_title", name=contact.name), rows)


@require_actor("customers.edit")
async def contact_edit_field(update: Update, context: CrmContext) -> None:
    field = _word(update, 1)
    contact, _customer = await context.services.customers.contacts.get(actor_of(context), _arg(update, 0))
    if field not in CONTACT_FIELDS:
        raise DomainError("error.stale_button")
    expect_text(context, "ct.edit", contact_id=contact.id, field=field)
    hint = "customers.ask_list_value" if field in LIST_FIELDS else "customers.ask_value"
    await respond(update, context, context.t(hint, field=field_label(context, field),
                                           current=_current(context, getattr(contact, field), field)), edit=False)


@on_pending("ct.edit")
@require_actor("customers.edit")
async def _typed_contact_edit(update: Update, context: CrmContext) -> None:
    pending = current_pending(context)
    contact_id, field = int(pending.get("contact_id", 0)), str(pending.get("field", ""))
    if field not in CONTACT_FIELDS:
        clear_pending(context)
        return
    value = _typed_value(field, message_text(update))
    if field == "name" and value is None:
        value = ""
    try:
        await context.services.customers.contacts.update(actor_of(context), contact_id, {field: value})
    except NotFound:
        clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    clear_pending(context)
    await show_contact(update, context, contact_id, note=context.t("customers.saved"))


@require_actor("customers.edit")
async def contact_delete(update: Update, context: CrmContext) -> None:
    contact, _customer = await context.services.customers.contacts.get(actor_of(context), _arg(update, 0))
    rows = [[(context.t("common.yes_delete"), f"ct:delok:{contact.id}"),
             (context.t("common.cancel"), f"ct:card:{contact.id}")]]
    await respond(update, context, context.t("customers.confirm_delete_contact", name=contact.name), rows)


@require_actor("customers.edit")
async def contact_delete_confirmed(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    contact, customer = await context.services.customers.contacts.get(actor, _arg(update, 0))
    await context.services.customers.contacts.delete(actor, contact.id)
    await show_customer(update, context, customer.id,
                        note=context.t("customers.contact_deleted", name=contact.name))


# ---- lead card -------------------------------------------------------------------------------------------

@require_actor("customers.view")
async def open_lead(update: Update, context: CrmContext) -> None:
    await show_lead(update, context, _arg(update, 0), edit=False)


@require_actor("customers.view")
async def lead_card(update: Update, context: CrmContext) -> None:
    await show_lead(update, context, _arg(update, 0))


@require_actor("customers.edit")
async def qualify(update: Update, context: CrmContext) -> None:
    lead = await context.services.customers.leads.qualify(actor_of(context), _arg(update, 0))
    await render_lead(update, context, lead, note=context.t("customers.saved"))


@require_actor("customers.create")
async def convert(update: Update, context: CrmContext) -> None:
    """Lead → customer + contact; the new customer's card replaces the lead's."""
    customer, _contact = await context.services.customers.leads.convert(actor_of(context), _arg(update, 0))
    await show_customer(update, context, customer.id, note=context.t("customers.converted", name=customer.name))


@require_actor("customers.edit")
async def drop(update: Update, context: CrmContext) -> None:
    lead = await context.services.customers.leads.get(actor_of(context), _arg(update, 0))
    expect_text(context, "ld.drop", lead_id=lead.id)
    await respond(update, context, context.t("customers.ask_drop_reason", name=lead.name), edit=False)


@on_pending("ld.drop")
@require_actor("customers.edit")
async def _typed_drop(update: Update, context: CrmContext) -> None:
    lead_id = int(current_pending(context).get("lead_id", 0))
    try:
        lead = await context.services.customers.leads.drop(actor_of(context), lead_id, message_text(update))
    except NotFound:
        clear_pending(context)
        raise
    except DomainError as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("customers.try_again"))
        return
    clear_pending(context)
    await render_lead(update, context, lead, note=context.t("customers.dropped"))

