"""``/board`` and the announcement's buttons: open one, "Got it", its attachment; the author's screens (who has
read it, edit, withdraw, restore).

Buttons (ids only; every press reads again through the service, which checks who may see what):
  ann:board:<page>  ann:open:<id>  ann:read:<id>  ann:file:<id>
  ann:mine:<page>  ann:adm:<id>  ann:rd:<id>:<page>  ann:wd:<id>  ann:wdok:<id>  ann:rs:<id>
"""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.announcements.model import AttachmentKind
from handlers.announcements.compose import OP, kick
from handlers.core.common import actor_of, answer, require_actor
from handlers.core.screens import Rows, arg, page_arg, page_row, respond
from views.announcements.texts import author_rows, author_view, board, board_line, message, read_list
from views.core.formatting import local_time
from views.core.text import short


@require_actor()
async def show_board(update: Update, context: CrmContext) -> None:
    """/board: the announcements addressed to me, pinned first, unread marked."""
    actor = actor_of(context)
    page = page_arg(update)
    items, more = await context.services.announcements.announcements.board(actor, page)
    rows: Rows = [[(short(board_line(item, actor.timezone), 60), f"ann:open:{item.announcement.id}")]
                  for item in items]
    rows.append(page_row(lambda p: f"ann:board:{p}", page, more))
    if actor.can(OP):
        rows.append([(context.t("announcements.btn_mine"), "ann:mine:0")])
    await respond(update, context, board(context.t, items, actor.timezone), rows)


@require_actor()
async def open_announcement(update: Update, context: CrmContext) -> None:
    item = await context.services.announcements.announcements.open(actor_of(context), arg(update, 0))
    text, rows = message(context.t, item.announcement, item.author_name, read=item.read)
    await respond(update, context, text, rows, edit=False)


@require_actor()
async def got_it(update: Update, context: CrmContext) -> None:
    """"Got it": my receipt; the message loses its button. A press on a message that is not mine to read is
    "not found" (the service), whatever the button said."""
    query = update.callback_query
    pressed = query.message.message_id if query is not None and query.message is not None else None
    item = await context.services.announcements.announcements.mark_read(actor_of(context), arg(update, 0), pressed)
    kick(context)  # the delivered message, if this was another one (the nudge), loses its button too
    await answer(query, context.t("announcements.thanks"))
    text, rows = message(context.t, item.announcement, item.author_name, read=True)
    await respond(update, context, text, rows)


@require_actor()
async def attachment(update: Update, context: CrmContext) -> None:
    found = await context.services.announcements.announcements.attachment(actor_of(context), arg(update, 0))
    await answer(update.callback_query)
    chat = update.effective_chat
    if chat is None:
        return
    if found.kind is AttachmentKind.PHOTO:
        await context.bot.send_photo(chat.id, found.file_id)
    else:
        await context.bot.send_document(chat.id, found.file_id)


# ---- the author's screens ---------------------------------------------------------------------------------------

@require_actor(OP)
async def mine(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    page = page_arg(update)
    views, more = await context.services.announcements.announcements.mine(actor, page)
    rows: Rows = []
    for view in views:
        a = view.announcement
        mark = "🚫" if a.withdrawn else ("🕒" if a.published_at is None else f"{view.read}/{view.recipients}")
        label = f"{mark} {local_time(a.created_at, actor.timezone, '%m-%d')} {a.body.splitlines()[0]}"
        rows.append([(short(label, 60), f"ann:adm:{a.id}")])
    rows.append(page_row(lambda p: f"ann:mine:{p}", page, more))
    text = context.t("announcements.mine_title") if views else context.t("announcements.mine_empty")
    await respond(update, context, text, rows)


@require_actor(OP)
async def manage(update: Update, context: CrmContext) -> None:
    view = await context.services.announcements.announcements.author_view(actor_of(context), arg(update, 0))
    await respond(update, context, author_view(context.t, view, actor_of(context).timezone),
                  author_rows(context.t, view))


@require_actor(OP)
async def readers(update: Update, context: CrmContext) -> None:
    announcement_id = arg(update, 0)
    found = await context.services.announcements.announcements.read_list(actor_of(context), announcement_id,
                                                                          page_arg(update, 1))
    rows: Rows = [page_row(lambda p: f"ann:rd:{announcement_id}:{p}", found.page, found.has_more),
                  [(context.t("announcements.btn_back"), f"ann:adm:{announcement_id}")]]
    await respond(update, context, read_list(context.t, found), rows)


@require_actor(OP)
async def ask_withdraw(update: Update, context: CrmContext) -> None:
    view = await context.services.announcements.announcements.author_view(actor_of(context), arg(update, 0))
    a = view.announcement
    rows = [[(context.t("announcements.btn_withdraw_sure"), f"ann:wdok:{a.id}"),
             (context.t("announcements.btn_back"), f"ann:adm:{a.id}")]]
    await respond(update, context, context.t("announcements.withdraw_sure", count=view.delivered), rows)


@require_actor(OP)
async def withdraw(update: Update, context: CrmContext) -> None:
    view = await context.services.announcements.announcements.withdraw(actor_of(context), arg(update, 0))
    kick(context)
    await respond(update, context, context.t("announcements.withdrawn") + "\n\n" + author_view(
        context.t, view, actor_of(context).timezone), author_rows(context.t, view))


@require_actor(OP)
async def restore(update: Update, context: CrmContext) -> None:
    view = await context.services.announcements.announcements.restore(actor_of(context), arg(update, 0))
    kick(context)
    await respond(update, context, context.t("announcements.restored") + "\n\n" + author_view(
        context.t, view, actor_of(context).timezone), author_rows(context.t, view))
