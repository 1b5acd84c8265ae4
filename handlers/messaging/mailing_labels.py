"""/labels (列印信封標籤): address labels or envelopes for a segment or hand-picked customers, as a PDF in chat.

Flow: /labels → a saved segment, or "pick customers" (type searches, tick the results; the selection — ids only —
is kept in user_data, so it survives a restart and any wrong answer) → the sheet or envelope size → the PDF,
made in the background (one at a time per person) and reported in one status message.
The name ``handlers/labels.py`` is taken by the display names of roles and permissions.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.customers.model import EntityKind
from crm.messaging.mailing_labels import LAYOUTS
from crm.organisation.permissions import Actor
from handlers.core.common import (
    Button,
    actor_of,
    answer,
    callback_args,
    clear_pending,
    expect_text,
    int_arg,
    message_text,
    on_pending,
    reply,
    require_actor,
)

SELECTION = "lbl"  # user_data key: {"ids": [...selected...], "shown": [...last search results...]}
MAX_SELECTED = 500


def _state(context: CrmContext) -> dict[str, list[int]]:
    data = context.user_data if context.user_data is not None else {}
    state = data.get(SELECTION)
    if not isinstance(state, dict):
        state = {"ids": [], "shown": []}
        if context.user_data is not None:
            context.user_data[SELECTION] = state
    state.setdefault("ids", [])
    state.setdefault("shown", [])
    return state


def _layout_rows(context: CrmContext, prefix: str) -> list[list[Button]]:
    buttons = [(context.t(f"subscriptions.layout_{layout.lower()}"), f"{prefix}:{index}")
               for index, layout in enumerate(LAYOUTS)]
    return [buttons[:2], buttons[2:]]


@require_actor("customers.view")
async def labels(update: Update, context: CrmContext) -> None:
    """Where the addresses come from: a segment, or customers picked by searching."""
    await answer(update.callback_query)
    state = _state(context)
    rows: list[list[Button]] = [[(context.t("subscriptions.labels_pick"), "lbl:pick")]]
    from handlers.messaging.campaigns import saved_segments  # the same optional segment list as campaigns

    for segment in await saved_segments(context):
        rows.append([(f"🎯 {segment.name}", f"lbl:seg:{segment.id}")])
    if state["ids"]:
        rows.append([(context.t("subscriptions.labels_print_selected", count=len(state["ids"])), "lbl:fmt"),
                     (context.t("subscriptions.labels_clear"), "lbl:clr")])
    await reply(update, context, context.t("subscriptions.labels_intro"), rows)


@require_actor("customers.view")
async def pick(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    expect_text(context, "lbl.search")
    await reply(update, context, context.t("subscriptions.labels_ask_search"), edit=False)


@on_pending("lbl.search")
@require_actor("customers.view")
async def _typed_search(update: Update, context: CrmContext) -> None:
    """Customers matching the search, with tick boxes; the rep can keep typing searches to add more."""
    query = message_text(update)
    found = await context.services.customers.customers.search(actor_of(context), query)
    state = _state(context)
    state["shown"] = [hit.id for hit in found.hits if hit.entity is EntityKind.CUSTOMER]
    titles = {hit.id: hit.title for hit in found.hits if hit.entity is EntityKind.CUSTOMER}
    if context.user_data is not None:
        context.user_data["lbl_titles"] = {str(k): v[:60] for k, v in titles.items()}
    if not state["shown"]:
        await reply(update, context, context.t("subscriptions.consent_nothing", query=query[:100]))
        return
    await _selection(update, context, edit=False)


async def _selection(update: Update, context: CrmContext, *, edit: bool | None = None) -> None:
    state = _state(context)
    titles: dict[str, str] = (context.user_data or {}).get("lbl_titles", {})
    selected = set(state["ids"])
    rows: list[list[Button]] = [
        [(("☑️ " if customer_id in selected else "⬜ ") + titles.get(str(customer_id), f"#{customer_id}"),
          f"lbl:tg:{customer_id}")] for customer_id in state["shown"]]
    rows.append([(context.t("subscriptions.labels_select_all"), "lbl:all")])
    if selected:
        rows.append([(context.t("subscriptions.labels_print_selected", count=len(selected)), "lbl:fmt")])
    await reply(update, context, context.t("subscriptions.labels_selection", shown=len(state["shown"]),
                                           count=len(selected)), rows, edit=edit)


@require_actor("customers.view")
async def tick(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    customer_id = int_arg(callback_args(update), 0)
    state = _state(context)
    if customer_id in state["ids"]:
        state["ids"].remove(customer_id)
    elif customer_id in state["shown"] and len(state["ids"]) < MAX_SELECTED:
        state["ids"].append(customer_id)
    await _selection(update, context)


@require_actor("customers.view")
async def select_all(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    state = _state(context)
    state["ids"] = list(dict.fromkeys([*state["ids"], *state["shown"]]))[:MAX_SELECTED]
    await _selection(update, context)


@require_actor("customers.view")
async def clear(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    if context.user_data is not None:
        context.user_data.pop(SELECTION, None)
    await labels(update, context)


@require_actor("customers.view")
async def formats(update: Update, context: CrmContext) -> None:
    """Which sheet or envelope, for the picked customers."""
    await answer(update.callback_query)
    clear_pending(context)
    count = len(_state(context)["ids"])
    await reply(update, context, context.t("subscriptions.labels_pick_layout", count=count),
                _layout_rows(context, "lbl:go"))


@require_actor("customers.view")
async def segment_formats(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    segment_id = int_arg(callback_args(update), 0)
    await reply(update, context, context.t("subscriptions.labels_pick_layout_segment"),
                _layout_rows(context, f"lbl:sgo:{segment_id}"))


def _layout(index: int) -> str:
    if not 0 <= index < len(LAYOUTS):
        raise DomainError("error.stale_button")
    return LAYOUTS[index]


LABEL_JOBS_KEY = "label_jobs"  # in bot_data, never persisted: staff id → the PDF being made for them


async def _start(update: Update, context: CrmContext, ids: Sequence[int], layout: str, *, selection: bool) -> None:
    """Make the PDF in the background and report in one status message: 3,000 addresses take seconds to draw,
    and PTB hands updates to handlers one at a time, so waiting here would hold up every other user."""
    actor = actor_of(context)
    # Awaited before the task: nothing to print reaches the user as the alert on the pressed button.
    count = await context.services.messaging.mailing_labels.printable(actor, ids, layout)
    chat = update.effective_chat
    jobs: dict[int, asyncio.Task[None]] = context.bot_data.setdefault(LABEL_JOBS_KEY, {})
    running = jobs.get(actor.staff_id)
    if running is not None and not running.done():
        await answer(update.callback_query, html.unescape(context.t("subscriptions.labels_busy")), alert=True)
        return
    if chat is not None:
        # No await between the look at the running job and this: a second press cannot start a second PDF.
        jobs[actor.staff_id] = context.application.create_task(
            _make(context, chat.id, actor, ids, layout, count, selection=selection), update=update,
            name=f"labels by {actor.staff_id}")
    await answer(update.callback_query, context.t("subscriptions.labels_making"))


async def wait_for_labels(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Until the PDFs being made have been sent (tests, shutdown)."""
    jobs = app.bot_data.get(LABEL_JOBS_KEY) or {}
    await asyncio.gather(*jobs.values(), return_exceptions=True)


async def _make(context: CrmContext, chat_id: int, actor: Actor, ids: Sequence[int], layout: str, count: int, *,
                selection: bool) -> None:
    status = await context.bot.send_message(chat_id, context.t("subscriptions.labels_progress", count=f"{count:,}"),
                                            parse_mode=ParseMode.HTML)
    try:
        document = await context.services.messaging.mailing_labels.render(actor, ids, layout)
    except DomainError as exc:  # the addresses changed since the press: told in the status message
        await status.edit_text(context.t(exc.key, **exc.params), parse_mode=ParseMode.HTML)
        return
    caption = context.t("subscriptions.labels_done", count=document.printed)
    if document.without_address:
        caption += "\n" + context.t("subscriptions.labels_skipped", count=document.without_address)
    await context.bot.send_document(chat_id, document.pdf, filename=document.filename, caption=caption,
                                    parse_mode=ParseMode.HTML)
    await status.edit_text(caption, parse_mode=ParseMode.HTML)
    # Cleared once printed, unless the rep has changed the selection while the PDF was being made.
    if selection and context.user_data is not None and _state(context)["ids"] == list(ids):
        context.user_data.pop(SELECTION, None)


@require_actor("customers.view")
async def render(update: Update, context: CrmContext) -> None:
    """The PDF for the picked customers; the selection is cleared once it is sent."""
    layout = _layout(int_arg(callback_args(update), 0))
    await _start(update, context, list(_state(context)["ids"]), layout, selection=True)


@require_actor("customers.view")
async def render_segment(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    layout = _layout(int_arg(args, 1))
    ids = await context.services.messaging.mailing_labels.segment_customers(actor_of(context), int_arg(args, 0))
    await _start(update, context, ids, layout, selection=False)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    app.add_handler(CommandHandler("labels", labels))
    routes: dict[str, Any] = {"start": labels, "pick": pick, "tg": tick, "all": select_all, "clr": clear,
                              "fmt": formats, "seg": segment_formats, "go": render, "sgo": render_segment}
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^lbl:{verb}(:|$)") for verb, func in routes.items()])
