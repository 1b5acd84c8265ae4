"""/invite: pick a role, pick a department, get a one-time link to send to the new colleague."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from handlers.core.common import Button, actor_of, answer, callback_args, int_arg, reply, require_actor
from handlers.organisation.display_names import role_name
from views.core.formatting import local_time


@require_actor("users.invite")
async def invite(update: Update, context: CrmContext) -> None:
    """Step 1: which role will the new colleague have?"""
    await answer(update.callback_query)
    actor = actor_of(context)
    roles = await context.services.organisation.roles.assignable(actor)
    rows: list[list[Button]] = [[(role_name(context, r), f"inv:role:{r.id}")] for r in roles]
    rows.append([(context.t("invite.open_list"), "inv:open")])
    await reply(update, context, context.t("invite.pick_role"), rows)


@require_actor("users.invite")
async def pick_role(update: Update, context: CrmContext) -> None:
    """Step 2: which department?"""
    await answer(update.callback_query)
    actor = actor_of(context)
    role_id = int_arg(callback_args(update), 0)
    tree = await context.services.organisation.departments.tree(actor)
    scope = actor.scope_filter("staff")
    rows: list[list[Button]] = [
        [("  " * depth + dep.name, f"inv:dep:{role_id}:{dep.id}")]
        for depth, dep in tree if scope.allows(None, dep.id)
    ]
    rows.append([(context.t("common.back"), "inv:start")])
    await reply(update, context, context.t("invite.pick_department"), rows)


@require_actor("users.invite")
async def pick_department(update: Update, context: CrmContext) -> None:
    """Step 3: create the invite and show the link."""
    await answer(update.callback_query)
    actor = actor_of(context)
    args = callback_args(update)
    role_id, department_id = int_arg(args, 0), int_arg(args, 1)
    created = await context.services.organisation.invites.create(actor, role_id, department_id)
    link = f"https://t.me/{context.bot.username}?start={created.code}"
    expires = local_time(created.expires_at, actor.timezone)
    await reply(update, context, context.t("invite.created", link=link, expires=expires),
                [[(context.t("invite.revoke"), f"inv:rev:{created.id}")]])


@require_actor("users.invite")
async def open_invites(update: Update, context: CrmContext) -> None:
    """Invites not yet used, with a button to revoke each."""
    await answer(update.callback_query)
    actor = actor_of(context)
    invites = await context.services.organisation.invites.list_open(actor)
    if not invites:
        await reply(update, context, context.t("invite.none_open"), [[(context.t("common.back"), "inv:start")]])
        return
    lines = [context.t("invite.open_title")]
    rows: list[list[Button]] = []
    for inv in invites:
        lines.append(context.t("invite.open_line", id=inv.id,
                               expires=local_time(inv.expires_at, actor.timezone)))
        rows.append([(context.t("invite.revoke_n", id=inv.id), f"inv:rev:{inv.id}")])
    rows.append([(context.t("common.back"), "inv:start")])
    await reply(update, context, "\n".join(lines), rows)


@require_actor("users.invite")
async def revoke(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    invite_id = int_arg(callback_args(update), 0)
    await context.services.organisation.invites.revoke(actor_of(context), invite_id)
    await reply(update, context, context.t("invite.revoked"), [[(context.t("common.back"), "inv:open")]])
