"""The last line of defence: nothing a user sends may crash the bot or go unanswered."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.context import CrmContext
from crm.core.errors import DomainError
from handlers.core.common import answer, reply, telegram_identity, was_answered

log = logging.getLogger(__name__)


async def _find_locale(update: Update, context: CrmContext) -> None:
    """PTB gives error handlers a fresh context, without what the identity handler found: look again."""
    who = telegram_identity(update)
    if who is None:
        return
    try:
        actor = await context.services.organisation.identity.actor_for(who)
    except Exception:  # the database may be what failed; the default language will do
        log.debug("could not resolve the user's language", exc_info=True)
        return
    context.locale = actor.locale if actor else context.services.organisation.identity.locale_for(None,
                                                                                                  who.language_code)


async def on_error(update: object, context: CrmContext) -> None:
    """Turn domain errors into a translated reply; log everything else and tell the user nothing was lost."""
    error = context.error
    if not isinstance(update, Update):
        log.error("error outside an update", exc_info=error)
        return
    if isinstance(error, Forbidden):
        log.info("user blocked the bot: %s", error)
        return
    if isinstance(error, RetryAfter | NetworkError) and not isinstance(error, DomainError):
        log.warning("telegram unavailable while answering: %s", error)
        return
    await _find_locale(update, context)
    if isinstance(error, DomainError):
        text = context.t(error.key, **error.params)
        if update.callback_query is not None and not was_answered(update.callback_query):
            await answer(update.callback_query, text, alert=True)
            return
        await reply(update, context, text, edit=False)
        return
    log.error("unhandled error for update %s", update.update_id, exc_info=error)
    await answer(update.callback_query)
    try:
        await reply(update, context, context.t("error.unexpected"), edit=False)
    except Exception:  # the reply itself may be what failed; the log already has the cause
        log.debug("could not report the error to the user", exc_info=True)
