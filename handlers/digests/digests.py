"""/digest: a manager's digest settings (daily, weekly, monthly, off — buttons) and a digest on demand.

  /digest, /digest settings   the settings screen
  /digest now                 the digest of the last complete period, now

Button data (codes only; every press re-checks ``digests.receive`` in the service):
  dg:set:<d|w|m|o>   choose how often
  dg:now             the digest now
"""

from __future__ import annotations

import unicodedata
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError
from handlers.core.common import actor_of, answer, callback_args, message_text, reply, require_actor
from views.digests.texts import FREQUENCY_BY_CODE, chart_caption, digest_message, settings_message

OPERATION = "digests.receive"
_SETTINGS_WORDS = frozenset({"", "settings", "setting", "設定", "设置", "設置", "设定"})
_NOW_WORDS = frozenset({"now", "現在", "现在", "立即", "馬上", "马上"})


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("digest", digest),
        CallbackQueryHandler(choose, pattern=r"^dg:set(:|$)"),
        CallbackQueryHandler(now_pressed, pattern=r"^dg:now$"),
    ])


async def _show_settings(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    frequency = await context.services.digests.digests.frequency(actor)
    text, rows = settings_message(context.t, frequency, actor.timezone)
    await reply(update, context, text, rows)


async def _send_now(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    chat = update.effective_chat
    if chat is None:
        return
    made = await context.services.digests.digests.now(actor, label=context.t)
    await reply(update, context, digest_message(context.t, made), edit=False)
    if made.chart is not None:
        await context.bot.send_photo(chat.id, made.chart, caption=chart_caption(context.t, made),
                                     filename="digest.png")


@require_actor(OPERATION)
async def digest(update: Update, context: CrmContext) -> None:
    """`/digest` (settings) or `/digest now`."""
    parts = message_text(update).split(maxsplit=1)
    word = unicodedata.normalize("NFKC", parts[1]).strip().lower() if len(parts) > 1 else ""
    if word in _SETTINGS_WORDS:
        await _show_settings(update, context)
    elif word in _NOW_WORDS:
        await _send_now(update, context)
    else:
        await reply(update, context, context.t("digests.usage", text=word[:40]))


@require_actor(OPERATION)
async def choose(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    frequency = FREQUENCY_BY_CODE.get(args[0]) if len(args) == 1 else None
    if frequency is None:
        raise DomainError("error.stale_button")
    await context.services.digests.digests.set_frequency(actor_of(context), frequency)
    await answer(update.callback_query, context.t("digests.saved"))
    await _show_settings(update, context)


@require_actor(OPERATION)
async def now_pressed(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    await _send_now(update, context)
