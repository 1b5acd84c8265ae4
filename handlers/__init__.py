"""What comes before and after every module's handlers (the composition root registers the modules' own in
between, in registry order: bot/modules).

Group -1 resolves the user for every update and stops strangers; group 0 holds commands, buttons and, last,
the fallbacks. Note: order matters — the first matching handler in a group wins.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.core import text
from handlers.core.errors import on_error
from handlers.organisation import identity


def register_first(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Who is asking, before anything else handles the update."""
    # Group -2: any command but /cancel leaves the current flow before anything else sees it (handlers/core/flow.py).
    app.add_handler(MessageHandler(filters.COMMAND, text.leave_on_command), group=-2)
    app.add_handler(TypeHandler(Update, identity.resolve_actor), group=-1)


def register_last(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The fallbacks, after every module's handlers, and the error handler."""
    app.add_handlers([
        MessageHandler(filters.COMMAND, text.unknown_command),
        MessageHandler(filters.TEXT, text.on_text),
        CallbackQueryHandler(_stale_button),
        MessageHandler(filters.ALL, text.on_other),
    ])
    app.add_error_handler(on_error)


async def _stale_button(update: Update, context: Any) -> None:
    """A button from an old message whose flow no longer exists: answer it so it stops spinning."""
    from handlers.core.common import answer

    await answer(update.callback_query, context.t("error.stale_button"), alert=True)
