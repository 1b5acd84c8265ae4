"""Finding customers, contacts and leads: /find, plain text, a typed phone number, shared contacts
(/customers: handlers.customers.team).

The query stays in ``user_data`` (``cu_find``), never in callback data: page buttons carry the page number only.

Buttons:
  cu:find:<page>                           pages of the last search (cu:list: handlers.customers.team)
  cs:lead  cs:contact  cs:to:<customer id> a shared phone contact: new lead, or contact of a customer
  (cs:new, cu:nl, cu:nc start the guided creation flow in handlers.customers.create)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.core.names import person_name
from crm.customers import phones
from crm.customers.customers import SearchPage
from crm.customers.model import EntityKind
from handlers.core import flow
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
    hit_button,
    page_nav,
    render_lead,
    respond,
    shared_phone,
    show_contact,
    show_customer,
    show_lead,
)

FIND_KEY = "cu_find"
SHARED_KEY = "cu_shared"


def _remember(context: CrmContext, query: str) -> None:
    if context.user_data is not None:
        context.user_data[FIND_KEY] = {"q": query}


def _remembered(context: CrmContext) -> str | None:
    found = context.user_data.get(FIND_KEY) if context.user_data is not None else None
    return str(found["q"]) if isinstance(found, dict) and found.get("q") else None


async def _open_hit(update: Update, context: CrmContext, result: SearchPage) -> None:
    hit = result.hits[0]
    if hit.entity is EntityKind.CUSTOMER:
        await show_customer(update, context, hit.id, edit=False)
    elif hit.entity is EntityKind.CONTACT:
        await show_contact(update, context, hit.id, edit=False)
    else:
        await show_lead(update, context, hit.id, edit=False)


async def run_search(update: Update, context: CrmContext, query: str, page: int = 0, *,
                     plain: bool = False) -> None:
    """Results as buttons, a page at a time; a typed phone number that matches one record opens its card."""
    query = " ".join(query.split())
    result = await context.services.customers.customers.search(actor_of(context), query, page)
    if page == 0 and len(result.hits) == 1 and not result.has_more and result.by_phone:
        await _open_hit(update, context, result)  # no list to page through and nothing to create from it
        return
    _remember(context, query)  # for the page buttons, and "new lead/customer" from what was searched
    if not result.hits:
        # One reply that says what to do next: add the record, or look again another way.
        rows: list[list[Button]] = []
        if page == 0 and actor_of(context).can("customers.create"):
            rows.append([(context.t("customers.btn_new_lead_from_search"), "cu:nl")])
            if not phones.looks_like_phone(query):
                rows.append([(context.t("customers.btn_new_customer_from_search"), "cu:nc")])
        tip = "customers.search_tip_create" if rows else "customers.search_tip"
        text = context.t("customers.no_results", query=query) + ("\n" + context.t(tip) if plain else "")
        await respond(update, context, text, rows)
        return
    rows = [[hit_button(hit)] for hit in result.hits]
    rows.append(page_nav("cu:find", page, result.has_more))
    await respond(update, context, context.t("customers.results", query=query, page=page + 1), rows)


_FILTERS_KEY = "customer_find_filters"
FindFilter = Callable[[Update, CrmContext, str], Awaitable[bool]]


def add_filter(app: Application[Any, Any, Any, Any, Any, Any], handler: FindFilter) -> None:
    """A module built on this one answers /find text that is a condition (custom fields: ``staff>50``): the
    handler returns True when it answered, False to let the search run."""
    app.bot_data.setdefault(_FILTERS_KEY, []).append(handler)


async def _filtered(update: Update, context: CrmContext, text: str) -> bool:
    if not any(op in text for op in "=<>＝＜＞"):
        return False
    for handler in context.bot_data.get(_FILTERS_KEY, ()):
        if await handler(update, context, text):
            return True
    return False


@require_actor("customers.view")
async def find(update: Update, context: CrmContext) -> None:
    """/find <text>: customers, contacts and leads by name, phone (or its last digits), e-mail or #tag."""
    parts = message_text(update).split(maxsplit=1)
    if len(parts) < 2 or not parts[1].strip():
        expect_text(context, "cu.find")
        await respond(update, context, context.t("customers.ask_find"))
        return
    clear_pending(context)
    if not await _filtered(update, context, parts[1]):
        await run_search(update, context, parts[1])


@on_pending("cu.find")
@require_actor("customers.view")
async def _typed_find(update: Update, context: CrmContext) -> None:
    clear_pending(context)
    if not await _filtered(update, context, message_text(update)):
        await run_search(update, context, message_text(update))


async def search_text(update: Update, context: CrmContext) -> None:
    """Plain text when no flow is waiting for it: the rep is looking for someone."""
    actor = context.actor
    chat = update.effective_chat
    # In a group, chatter between colleagues is not a search request (and results would show to everyone).
    if actor is None or not actor.can("customers.view") or chat is None or chat.type != "private":
        await respond(update, context, context.t("text.no_flow"))
        return
    typed = message_text(update).strip()
    if typed.isdigit() and len(typed) < phones.MIN_SUFFIX:
        # "7" or "19" is someone picking from a menu by number, not a search (too few digits to find anyone).
        await respond(update, context, context.t("input.short_number", digits=phones.MIN_SUFFIX))
        return
    await run_search(update, context, message_text(update), plain=True)


@require_actor("customers.view")
async def find_page(update: Update, context: CrmContext) -> None:
    query = _remembered(context)
    if query is None:
        raise DomainError("error.stale_button")
    await run_search(update, context, query, max(int_arg(callback_args(update), 0), 0))


# ---- a shared phone contact ------------------------------------------------------------------------------

@require_actor("customers.view")
async def on_contact(update: Update, context: CrmContext) -> None:
    """A rep shared a phone contact: open who it is, or offer to add it."""
    message = update.effective_message
    if message is None or message.contact is None:
        return
    waiting = flow.current(context)
    own = flow.message_handler(waiting.kind) if waiting is not None else None
    if own is not None:
        await own(update, context)  # the flow asked for something a contact may answer (a phone number)
        return
    shared = message.contact
    name = person_name(shared.first_name, shared.last_name)  # 小明 + 王 → 王小明, as staff names are built
    number = shared_phone(shared.phone_number, context.services.customers.customers.phone_region)
    result = await context.services.customers.customers.search(actor_of(context), number)
    if result.hits:
        rows = [[hit_button(hit)] for hit in result.hits]
        await respond(update, context, context.t("customers.shared_known", name=name), rows)
        return
    if context.user_data is not None:
        context.user_data[SHARED_KEY] = {"name": name[:200], "phone": number}
    if not actor_of(context).can("customers.create"):
        await respond(update, context, context.t("customers.shared_unknown_view_only", name=name))
        return
    rows = [[(context.t("customers.btn_shared_lead"), "cs:lead")],
            [(context.t("customers.btn_shared_contact"), "cs:contact")],
            [(context.t("customers.btn_shared_customer"), "cs:new")]]
    await respond(update, context, context.t("customers.shared_unknown", name=name), rows)


def _shared(context: CrmContext) -> dict[str, str] | None:
    found = context.user_data.get(SHARED_KEY) if context.user_data is not None else None
    return found if isinstance(found, dict) and found.get("phone") else None


@require_actor("customers.create")
async def shared_as_lead(update: Update, context: CrmContext) -> None:
    shared = _shared(context)
    if shared is None:
        raise DomainError("error.stale_button")
    name = shared.get("name") or shared["phone"]
    lead = await context.services.customers.leads.create(actor_of(context), name, phone_list=(shared["phone"],),
                                               source="telegram")
    if context.user_data is not None:
        context.user_data.pop(SHARED_KEY, None)
    await render_lead(update, context, lead, note=context.t("customers.lead_created", name=lead.name))


@require_actor("customers.edit")
async def shared_as_contact(update: Update, context: CrmContext) -> None:
    """"Add as contact to a customer…": first find the customer."""
    if _shared(context) is None:
        raise DomainError("error.stale_button")
    expect_text(context, "cs.pick")
    await respond(update, context, context.t("customers.ask_pick_customer"), edit=False)


@on_pending("cs.pick")
@require_actor("customers.edit")
async def _typed_pick(update: Update, context: CrmContext) -> None:
    query = message_text(update)
    result = await context.services.customers.customers.search(actor_of(context), query)
    customers = [hit for hit in result.hits if hit.entity is EntityKind.CUSTOMER]
    if not customers:
        # Keep waiting: the rep types another part of the name.
        await respond(update, context, context.t("customers.pick_none", query=" ".join(query.split())))
        return
    rows = [[(hit_button(hit)[0], f"cs:to:{hit.id}")] for hit in customers]
    await respond(update, context, context.t("customers.pick_customer"), rows)


@require_actor("customers.edit")
async def shared_to_customer(update: Update, context: CrmContext) -> None:
    shared = _shared(context)
    if shared is None:
        raise DomainError("error.stale_button")
    customer_id = int_arg(callback_args(update), 0)
    name = shared.get("name") or shared["phone"]
    contact = await context.services.customers.contacts.add(actor_of(context), customer_id, name,
                                                  phone_list=(shared["phone"],))
    if current_pending(context).get("kind") == "cs.pick":
        clear_pending(context)
    if context.user_data is not None:
        context.user_data.pop(SHARED_KEY, None)
    await show_customer(update, context, customer_id,
                        note=context.t("customers.contact_added", name=contact.name))
