"""Plain text: the answer to a question the bot asked, or else a gentle pointer to /help."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from handlers.core.common import pending_handler, reply, require_actor
from handlers.customers.search import search_text

MAX_INPUT = 4000


@require_actor()
async def on_text(update: Update, context: CrmContext) -> None:
    found = pending_handler(context)
    message = update.effective_message
    if message is not None and message.text is not None and len(message.text) > MAX_INPUT:
        await reply(update, context, context.t("error.too_long", limit=MAX_INPUT))
        return
    if found is None:
        # No question is waiting for this text: the rep is most likely looking someone up.
        await search_text(update, context)
        return
    handler, _pending = found
    await handler(update, context)


@require_actor()
async def on_other(update: Update, context: CrmContext) -> None:
    """Photos, stickers, voice... where text was expected: say what we need instead of ignoring it."""
    found = pending_handler(context)
    if found is not None:
        handler, pending = found
        message = update.effective_message
        # A question that takes a file (expect_text(..., document=True)) gets the document itself.
        if pending.get("document") and message is not None and message.document is not None:
            await handler(update, context)
            return
        await reply(update, context, context.t("error.expected_text"))
        return
    await reply(update, context, context.t("text.unsupported"))


@require_actor()
async def unknown_command(update: Update, context: CrmContext) -> None:
    await reply(update, context, context.t("text.unknown_command"))
