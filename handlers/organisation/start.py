"""/start (with or without an invite code), /help and /cancel."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.organisation.invites import INVITE_PREFIX
from handlers.core import flow
from handlers.core.common import reply, telegram_identity
from handlers.core.menu import visible_commands


async def start(update: Update, context: CrmContext) -> None:
    """Greet a colleague, or bind a new one through the invite code in the deep link."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(INVITE_PREFIX):
        await _join(update, context, payload)
        return
    if context.actor is None:
        await reply(update, context, context.t("auth.unknown_user"))
        return
    await reply(update, context, context.t("start.welcome", name=context.actor.name) + "\n\n" + help_text(context))


async def _join(update: Update, context: CrmContext, code: str) -> None:
    who = telegram_identity(update)
    if who is None:
        return
    try:
        staff = await context.services.organisation.invites.accept(code, who)
    except DomainError as exc:
        await reply(update, context, context.t(exc.key, **exc.params))
        return
    context.services.organisation.identity.forget_caches()
    actor = await context.services.organisation.identity.actor_for(who)
    context.actor = actor
    if actor is not None:
        context.locale = actor.locale
    await reply(update, context, context.t("invite.joined", name=staff.name) + "\n\n" + help_text(context))


def help_text(context: CrmContext) -> str:
    lines = [context.t("help.title")]
    for command in visible_commands(context.actor, context.commands):
        lines.append(f"/{command.name} — {context.t(command.description_key)}")
    return "\n".join(lines)


async def help_command(update: Update, context: CrmContext) -> None:
    """List the commands this user may use, and nothing else."""
    await reply(update, context, help_text(context))


async def cancel(update: Update, context: CrmContext) -> None:
    """Drop whatever the bot was waiting for, at any step, with the flow's draft."""
    waiting = flow.current(context)
    flow.abandon(context)
    await reply(update, context, context.t("cancel.done" if waiting is not None else "cancel.nothing"))
