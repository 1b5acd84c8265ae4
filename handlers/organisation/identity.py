"""Runs first for every update: who is this, which language do they read, and may they talk to us at all."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import CrmContext
from handlers.core.common import answer, reply, telegram_identity

# Strangers may only open an invite link (or learn how to get one).
OPEN_COMMANDS = ("/start",)


async def resolve_actor(update: Update, context: CrmContext) -> None:
    """Attach the actor and locale to the context; stop strangers here, before any handler sees the update."""
    who = telegram_identity(update)
    if who is None:
        raise ApplicationHandlerStop
    services = context.services
    actor = await services.organisation.identity.actor_for(who)
    context.actor = actor
    context.locale = actor.locale if actor else services.organisation.identity.locale_for(None, who.language_code)
    if actor is not None:
        return
    message = update.effective_message
    text = (message.text or "") if message else ""
    if update.callback_query is None and text.split(maxsplit=1)[:1] and text.split()[0].split("@")[0] in OPEN_COMMANDS:
        return
    await answer(update.callback_query)
    if update.effective_chat is not None and update.effective_chat.type == "private":
        # Polite and uninformative: a stranger learns nothing about the company or its data.
        await reply(update, context, context.t("auth.unknown_user"), edit=False)
    raise ApplicationHandlerStop
