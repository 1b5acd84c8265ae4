"""/customers with a Mine / Team toggle: a manager sees the customers of everyone in their customers scope.

  cu:list:<page>   my customers        cu:team:<page>   the team's customers (each button names the owner)

The toggle is only offered to someone whose customers scope is wider than their own; a forged cu:team press from
anyone else lists what their scope allows, i.e. their own customers — the service filters, not the button.
"""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.organisation.permissions import Actor, Scope
from handlers.core.common import Button, actor_of, callback_args, int_arg, require_actor
from handlers.customers.views import customer_button, customer_icon, page_nav, respond, short


def sees_team(actor: Actor) -> bool:
    return actor.scope("customers") is not Scope.OWN


def _page(update: Update) -> int:
    args = callback_args(update)
    return max(int_arg(args, 0), 0) if args else 0


@require_actor("customers.view")
async def my_customers(update: Update, context: CrmContext) -> None:
    """/customers: the customers I own, a page at a time; a manager also gets the Team toggle."""
    actor = actor_of(context)
    page = _page(update)
    found, has_more = await context.services.customers.customers.list_mine(actor, page)
    toggle = [(context.t("customers.btn_team_customers"), "cu:team:0")] if sees_team(actor) else []
    if not found and page == 0:
        await respond(update, context, context.t("customers.none_yet"), [toggle])
        return
    rows = [[customer_button(c)] for c in found]
    rows.append(page_nav("cu:list", page, has_more))
    rows.append(toggle)
    await respond(update, context, context.t("customers.my_title", page=page + 1), rows)


@require_actor("customers.view")
async def team_customers(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    page = _page(update)
    found, has_more, owners = await context.services.customers.customers.list_team(actor, page)
    toggle: list[Button] = [(context.t("customers.btn_my_customers"), "cu:list:0")]
    if not found and page == 0:
        await respond(update, context, context.t("customers.team_none"), [toggle])
        return
    rows = [[(short(f"{customer_icon(c)} {c.name} · {owners.get(c.owner_id, '?')}"), f"cu:open:{c.id}")] for c in found]
    rows.append(page_nav("cu:team", page, has_more))
    rows.append(toggle)
    await respond(update, context, context.t("customers.team_title", page=page + 1), rows)
