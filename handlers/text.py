"""Plain text: the answer to a question the bot asked, or else a gentle pointer to /help."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from handlers.common import pending_handler, reply, require_actor

MAX_INPUT = 4000


@require_actor()
async def on_text(update: Update, context: CrmContext) -> None:
    found = pending_handler(context)
    message = update.effective_message
    if message is not None and message.text is not None and len(message.text) > MAX_INPUT:
        await reply(update, context, context.t("error.too_long", limit=MAX_INPUT))
        return
    if found is None:
        await reply(update, context, context.t("text.no_flow"))
        return
    handler, _pending = found
    await handler(update, context)


@require_actor()
async def on_other(update: Update, context: CrmContext) -> None:
    """Photos, stickers, voice... where text was expected: say what we need instead of ignoring it."""
    if pending_handler(context) is not None:
        await reply(update, context, context.t("error.expected_text"))
        return
    await reply(update, context, context.t("text.unsupported"))


@require_actor()
async def unknown_command(update: Update, context: CrmContext) -> None:
    await reply(update, context, context.t("text.unknown_command"))
