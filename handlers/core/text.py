"""Plain text and other messages: the answer to a question the bot asked, or else a search (or a pointer to /help).

The rules of handlers/core/flow.py are applied here, once, for every flow (docs/input-flows.md).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import CrmContext
from handlers.core import flow
from handlers.core.common import Handler, reply, require_actor

MAX_INPUT = 4000
_COMMANDS_KEY = "input.commands"  # the bot's commands, collected once from the registered handlers
# What plain text means when no question is waiting for it, set by the module that gives it a meaning (the
# customers module: a search), so the fallback here depends on no module.
PLAIN_TEXT_KEY = "plain_text"


def on_plain_text(app: Application[Any, Any, Any, Any, Any, Any], handler: Handler) -> None:
    app.bot_data[PLAIN_TEXT_KEY] = handler


@require_actor()
async def on_text(update: Update, context: CrmContext) -> None:
    message = update.effective_message
    if message is not None and message.text is not None and len(message.text) > MAX_INPUT:
        await reply(update, context, context.t("error.too_long", limit=MAX_INPUT))
        return
    waiting = flow.current(context)
    if waiting is None:
        # No question is waiting for this text: the rep is most likely looking someone up.
        plain: Handler | None = context.bot_data.get(PLAIN_TEXT_KEY)
        if plain is not None:
            await plain(update, context)
        else:
            await reply(update, context, context.t("text.no_flow"))
        return
    flow.touch(context)
    if waiting.expects == "button":
        # Typed text where a press was expected is never taken as data: "7" is not a customer's name.
        stray = flow.stray_handler(waiting.kind)
        if stray is not None:
            await stray(update, context)
        else:
            await reply(update, context, context.t("input.use_buttons"))
        return
    handler = flow.text_handler(waiting.kind)
    if handler is None:
        # A question from an older release whose flow no longer exists: forget it and start fresh.
        flow.abandon(context)
        await on_text(update, context)
        return
    await handler(update, context)


@require_actor()
async def on_other(update: Update, context: CrmContext) -> None:
    """Photos, stickers, voice... where text was expected: say what we need instead of ignoring it."""
    waiting = flow.current(context)
    if waiting is not None:
        flow.touch(context)
        own = flow.message_handler(waiting.kind)
        message = update.effective_message
        if own is not None:
            await own(update, context)
            return
        handler = flow.text_handler(waiting.kind)
        # A question that takes a file (expect_text(..., document=True)) gets the document itself.
        if waiting.document and handler is not None and message is not None and message.document is not None:
            await handler(update, context)
            return
        key = "input.use_buttons" if waiting.expects == "button" else "error.expected_text"
        await reply(update, context, context.t(key))
        return
    await reply(update, context, context.t("text.unsupported"))


async def leave_on_command(update: Update, context: CrmContext) -> None:
    """Any known command but /cancel leaves the flow quietly, before the command runs: it then runs as usual.

    Runs ahead of every other group (handlers/__init__.py), so the command's own questions are not touched. A
    mistyped command is not a way out: it is told it is unknown and the question stays open.
    """
    message = update.effective_message
    words = (message.text or "").split() if message is not None else []
    command = words[0].split("@", 1)[0].lstrip("/").lower() if words else ""
    if command == "cancel" or context.user_data is None or flow.AWAITING_KEY not in context.user_data:
        return
    if command in _commands(context):
        flow.abandon(context)


def _commands(context: CrmContext) -> frozenset[str]:
    known = context.bot_data.get(_COMMANDS_KEY)
    if not isinstance(known, frozenset):
        known = frozenset(c.lower() for group in context.application.handlers.values() for handler in group
                          if isinstance(handler, CommandHandler) for c in handler.commands)
        context.bot_data[_COMMANDS_KEY] = known
    return known


@require_actor()
async def unknown_command(update: Update, context: CrmContext) -> None:
    await reply(update, context, context.t("text.unknown_command"))
