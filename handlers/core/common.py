"""What every handler shares: who is asking, how to answer, buttons, and waiting for typed input."""

from __future__ import annotations

import functools
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import CrmContext
from crm.core.errors import DomainError, PermissionDenied
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from handlers.core import flow
from outbound.telegram_send import Button as Button  # handlers take it from here with the rest
from outbound.telegram_send import Sent, edit_html, send_html
from views.core.text import MAX_TEXT as MAX_TEXT  # handlers take these from here, with the rest of what they share
from views.core.text import truncate as truncate

log = logging.getLogger(__name__)

Handler = Callable[[Update, CrmContext], Coroutine[Any, Any, Any]]

def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    built = [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows if row]
    return InlineKeyboardMarkup(built) if built else None


async def reply(update: Update, context: CrmContext, text: str,
                rows: Sequence[Sequence[Button]] = (), *, edit: bool | None = None) -> Sent | None:
    """Answer in place when the user pressed a button (editing that message), otherwise send a new message."""
    query = update.callback_query
    if edit is None:
        edit = query is not None
    if edit and query is not None and query.message is not None:
        try:
            return await edit_html(context.bot, query.message.chat.id, query.message.message_id, truncate(text), rows)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return None
            if "message to edit not found" not in str(exc).lower():
                raise
    chat = update.effective_chat
    if chat is None:
        return None
    return await send_html(context.bot, chat.id, truncate(text), rows)


# Recently answered callback queries: a query can be answered once, so an error found after the answer must be
# told as a message instead of an alert (handlers/errors.py).
_ANSWERED: OrderedDict[str, None] = OrderedDict()


async def answer(query: CallbackQuery | None, text: str | None = None, *, alert: bool = False) -> None:
    """Callback queries must always be answered, or the user's button keeps spinning."""
    if query is None or query.id in _ANSWERED:
        return
    try:
        await query.answer(text[:200] if text else None, show_alert=alert)
    except BadRequest as exc:
        log.debug("callback answer failed: %s", exc)
    _ANSWERED[query.id] = None
    while len(_ANSWERED) > 1000:
        _ANSWERED.popitem(last=False)


def was_answered(query: CallbackQuery | None) -> bool:
    return query is not None and query.id in _ANSWERED


def require_actor(operation: str | None = None) -> Callable[[Handler], Handler]:
    """Refuse strangers and users without ``operation``. Services check again; this only makes replies polite."""

    def decorate(func: Handler) -> Handler:
        @functools.wraps(func)
        async def wrapper(update: Update, context: CrmContext) -> Any:
            actor = context.actor
            if actor is None:
                await answer(update.callback_query)
                await reply(update, context, context.t("auth.unknown_user"), edit=False)
                return None
            if operation is not None and not actor.can(operation):
                await answer(update.callback_query, context.t("error.permission_denied"), alert=True)
                if update.callback_query is None:
                    await reply(update, context, context.t("error.permission_denied"))
                return None
            return await func(update, context)

        return wrapper

    return decorate


def actor_of(context: CrmContext) -> Actor:
    if context.actor is None:
        raise PermissionDenied()
    return context.actor


def callback_args(update: Update) -> list[str]:
    data = update.callback_query.data if update.callback_query else None
    return (data or "").split(":")[2:]


# Every id column is SQL INTEGER (32-bit on PostgreSQL), and the other numbers buttons carry (list indexes, pages,
# days) are small and never negative. A forged press with anything else is a stale button, not a database error:
# 10**20 overflows the driver, and -1 would index a Python list from its end.
_MAX_ARG = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def int_arg(args: Sequence[str], index: int) -> int:
    """Part ``index`` of a button's arguments as a number in 0..2**31-1; anything else is a stale button."""
    try:
        part = args[index]
    except IndexError:
        raise DomainError("error.stale_button") from None
    # int() would also take " 7", "+7", "7_0" and other scripts' digits: a button we made never carries those.
    if not _DIGITS.fullmatch(part) or int(part) > _MAX_ARG:
        raise DomainError("error.stale_button")
    return int(part)


# Typed input the bot is waiting for (a role name, a department name, ...): the names the handlers have always
# used, now on the one mechanism of handlers/core/flow.py (timeout, /cancel, commands leave, persisted).
PendingHandler = Handler
on_pending = flow.on_text


def expect_text(context: CrmContext, kind: str, **data: Any) -> None:
    """Wait for typed text for ``kind`` (``document=True``: a file is an answer too)."""
    flow.ask(context, kind, **data)


def clear_pending(context: CrmContext) -> dict[str, Any] | None:
    return flow.end(context)


def current_pending(context: CrmContext) -> dict[str, Any]:
    return flow.pending(context)


def message_text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message else ""


def is_waiting(context: CrmContext) -> bool:
    """Whether some flow waits for this user's next message."""
    return flow.current(context) is not None


async def restore_menu(update: Update, context: CrmContext, items: Sequence[tuple[int, str]], restore_data: str,
                       title_key: str, back_data: str) -> None:
    """Deleted records of one kind, each with a Restore button (``restore_data`` + ":" + id)."""
    await answer(update.callback_query)
    rows: list[list[Button]] = [[(context.t("common.restore_named", name=name), f"{restore_data}:{item_id}")]
                                for item_id, name in items]
    rows.append([(context.t("common.back"), back_data)])
    await reply(update, context, context.t(title_key), rows)


def telegram_identity(update: Update) -> TelegramIdentity | None:
    """Who sent the update, as the organisation module knows people; None for bots and channel posts."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return TelegramIdentity(user.id, user.first_name, user.last_name, user.username, user.language_code)
