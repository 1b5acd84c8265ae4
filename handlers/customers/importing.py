"""Spreadsheets in and out: a manager sends a CSV/XLSX file to import customers; /export sends them back.

The uploaded file waits under DATA_DIR/imports until the user presses Import or Cancel; user_data (persisted)
holds only its path and a short token, and the buttons carry only that token. Pressing Import reads the file
again and plans it afresh, so what is written is checked against the database as it is at that moment.

Checking a big file and writing it take seconds (an 80,000-row file: ~5 s each), and PTB hands updates to
handlers one at a time, so neither runs in the handler: the handler starts a background task
(``Application.create_task``) and returns, and the task reports in one status message that it edits — the
preview, "Imported 40,000 of 80,000…", the result. One import (checking or writing) runs at a time in the bot;
a second one is told who is importing what. The write is one transaction: if the bot stops half-way, nothing
of the file is saved.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Document, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CrmContext
from bot.i18n import Html
from crm.core.errors import DomainError
from crm.customers.exporting import EXPORT_COLUMNS, FORMATS
from crm.customers.importing import ImportPlan, RowError
from handlers.core.common import Button, actor_of, answer, callback_args, keyboard, reply, require_actor, truncate

log = logging.getLogger(__name__)

MAX_FILE_MB = 10
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
SHOWN_ERRORS = 10
SHOWN_COLUMNS = 20
KEPT_SECONDS = 24 * 3600  # an upload nobody confirmed is removed after a day
USER_KEY = "import"
SPREADSHEET_SUFFIXES = ("csv", "tsv", "xlsx", "xlsm", "xls", "ods", "numbers")
SPREADSHEET_TYPES = ("text/csv", "text/tab-separated-values", "application/vnd.ms-excel",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PROGRESS_SECONDS = 3.0  # between edits of the progress message: it visibly moves, far from Telegram's edit limits
JOB_KEY = "import_job"  # in bot_data, which is never persisted: a task is no data to keep
KINDS_KEY = "spreadsheet_kinds"
PICK_KEY = "import_pick"


def _spreadsheet_filter() -> filters.BaseFilter:
    """Only spreadsheet-like documents (old .xls included, to explain how to convert it): other areas may ask
    for other files, a PDF to fax say, and must still receive them."""
    found: filters.BaseFilter = filters.Document.FileExtension(SPREADSHEET_SUFFIXES[0])
    for suffix in SPREADSHEET_SUFFIXES[1:]:
        found = found | filters.Document.FileExtension(suffix)
    for mime in SPREADSHEET_TYPES:
        found = found | filters.Document.MimeType(mime)
    return found


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks).

    Private chats only: a preview or an export posted in a group would show customers to everyone there."""
    private = filters.ChatType.PRIVATE
    app.add_handlers([
        CommandHandler("import", import_help, filters=private),
        CommandHandler("export", export_menu, filters=private),
        MessageHandler(private & _spreadsheet_filter(), on_spreadsheet),
        CallbackQueryHandler(run_import, pattern=r"^imp:run:"),
        CallbackQueryHandler(pick_kind, pattern=r"^imp:kind:"),
        CallbackQueryHandler(cancel_import, pattern=r"^imp:cancel:"),
        CallbackQueryHandler(export_file, pattern=r"^exp:file:"),
    ])


def _plain(context: CrmContext) -> Callable[..., str]:
    """Translations for files (CSV report, spreadsheet headers): text, not HTML, so no escaping."""

    def translate(key: str, /, **params: Any) -> str:
        return html.unescape(context.t(key, **params))

    return translate


@require_actor("customers.import")
async def import_help(update: Update, context: CrmContext) -> None:
    """How to import: what to send and which column names are understood."""
    await reply(update, context, context.t("importing.how_to", limit=MAX_FILE_MB))


# ---- the one import at a time ----------------------------------------------------------------------------------

@dataclass
class ImportJob:
    """The import this bot is checking or writing."""

    staff_id: int
    person: str
    file: str
    task: asyncio.Task[None] = field(repr=False)


def running_job(app: Application[Any, Any, Any, Any, Any, Any]) -> ImportJob | None:
    job = app.bot_data.get(JOB_KEY)
    return job if isinstance(job, ImportJob) and not job.task.done() else None


async def wait_for_imports(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Until the running import (if any) has finished; its errors are the error handlers' business."""
    job = app.bot_data.get(JOB_KEY)
    if isinstance(job, ImportJob):
        await asyncio.gather(job.task, return_exceptions=True)


async def refuse_if_busy(update: Update, context: CrmContext) -> bool:
    job = running_job(context.application)
    if job is None:
        return False
    text = context.t("importing.busy", person=job.person, name=cut(job.file, 60))
    if update.callback_query is not None:
        await answer(update.callback_query, html.unescape(text), alert=True)
    else:
        await reply(update, context, text)
    return True


def start_job(update: Update, context: CrmContext, file: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` as the bot's import. Called right after ``refuse_if_busy`` with no await in between, so two
    handlers cannot both find the bot idle. Passing the update lets PTB save the user_data the task changes and
    hand an unexpected error to the error handlers (which tell the user)."""
    actor = actor_of(context)
    task = context.application.create_task(work(), update=update, name=f"import by {actor.staff_id}")
    context.bot_data[JOB_KEY] = ImportJob(actor.staff_id, actor.name, file, task)


class Status:
    """The one message an import reports in: sent (or taken over from the pressed button), then edited."""

    def __init__(self, context: CrmContext, chat_id: int, message: Message | None = None) -> None:
        self._context = context
        self._chat_id = chat_id
        self._message_id = message.message_id if message is not None else None
        self._shown = 0.0

    async def show(self, text: str, rows: Sequence[Sequence[Button]] = ()) -> None:
        bot, markup = self._context.bot, keyboard(rows)
        self._shown = time.monotonic()
        if self._message_id is not None:
            try:
                await bot.edit_message_text(truncate(text), self._chat_id, self._message_id, parse_mode=ParseMode.HTML,
                                            reply_markup=markup, disable_web_page_preview=True)
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                if "message to edit not found" not in str(exc).lower():
                    raise
        sent = await bot.send_message(self._chat_id, truncate(text), parse_mode=ParseMode.HTML, reply_markup=markup,
                                      disable_web_page_preview=True)
        self._message_id = sent.message_id

    def due(self) -> bool:
        return time.monotonic() - self._shown >= PROGRESS_SECONDS


# ---- the upload ------------------------------------------------------------------------------------------------

def imports_dir(context: CrmContext) -> Path:
    return Path(context.settings.data_dir) / "imports"


def store_upload(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEPT_SECONDS
    for old in folder.iterdir():
        if old.is_file() and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _forget(context: CrmContext, *, keep_file: bool = False) -> dict[str, Any] | None:
    """Drop the waiting upload (user_data entry and, unless ``keep_file``, the file); returns what was waiting."""
    waiting = context.user_data.pop(USER_KEY, None) if context.user_data is not None else None
    if isinstance(waiting, dict):
        if not keep_file:
            Path(str(waiting.get("path", ""))).unlink(missing_ok=True)
        return waiting
    return None


# ---- what a spreadsheet holds -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpreadsheetKind:
    """Something a spreadsheet sent to the bot can be imported as. Customers are this module's; modules built on
    it add theirs per application (``add_kind``; sales adds products), so one upload handler serves them all."""

    name: str  # in callback data
    label_key: str  # the button's text
    permission: str
    check: Callable[[CrmContext, int, str, str], Coroutine[Any, Any, None]]
    """``check(context, chat_id, file_id, file_name)``: run as the bot's import job; reports in the chat."""


def add_kind(app: Application[Any, Any, Any, Any, Any, Any], kind: SpreadsheetKind) -> None:
    app.bot_data.setdefault(KINDS_KEY, []).append(kind)


def _kinds(context: CrmContext) -> list[SpreadsheetKind]:
    added: list[SpreadsheetKind] = context.bot_data.get(KINDS_KEY, [])
    return [SpreadsheetKind("customers", "importing.kind_customers", "customers.import", _check), *added]


async def on_spreadsheet(update: Update, context: CrmContext) -> None:
    """Check the file in the background; the preview with the mapping and the problems follows. Nothing is saved.
    A user who may import more than one kind of file is asked which this one is."""
    message = update.effective_message
    document: Document | None = message.document if message else None
    if document is None or update.effective_chat is None:
        return
    actor = context.actor
    if actor is None:
        await reply(update, context, context.t("auth.unknown_user"))
        return
    choices = [kind for kind in _kinds(context) if actor.can(kind.permission)]
    if not choices:
        await reply(update, context, context.t("error.permission_denied"))
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        size = f"{(document.file_size or 0) / 1024 / 1024:.1f}"
        await reply(update, context, context.t("importing.too_big", size=size, limit=MAX_FILE_MB))
        return
    name = (document.file_name or "upload.csv")[:120]
    if running_job(context.application) is not None:  # said now, not after the user has chosen what it holds
        await refuse_if_busy(update, context)
        return
    if len(choices) == 1:
        await _begin(update, context, choices[0], document.file_id, name)
        return
    token = secrets.token_hex(4)
    if context.user_data is not None:
        context.user_data[PICK_KEY] = {"token": token, "file_id": document.file_id, "name": name}
    rows: list[list[Button]] = [[(context.t(kind.label_key), f"imp:kind:{token}:{kind.name}")] for kind in choices]
    rows.append([(context.t("common.cancel"), f"imp:kind:{token}:")])
    await reply(update, context, context.t("importing.which_kind", name=cut(name, 60)), rows)


async def pick_kind(update: Update, context: CrmContext) -> None:
    """The answer to "what is in this file?": re-checked like any press (the token, then the permission)."""
    query = update.callback_query
    args = callback_args(update)
    waiting = context.user_data.get(PICK_KEY) if context.user_data is not None else None
    if len(args) != 2 or not isinstance(waiting, dict) or waiting.get("token") != args[0]:
        await answer(query, context.t("importing.expired"), alert=True)
        return
    actor = context.actor
    kind = next((k for k in _kinds(context) if k.name == args[1]), None)
    if args[1] == "" or actor is None:
        if context.user_data is not None:
            context.user_data.pop(PICK_KEY, None)
        await answer(query)
        await reply(update, context, context.t("importing.cancelled"), edit=True)
        return
    if kind is None or not actor.can(kind.permission):
        await answer(query, context.t("error.permission_denied"), alert=True)
        return
    if context.user_data is not None:
        context.user_data.pop(PICK_KEY, None)
    await answer(query)
    name = str(waiting["name"])
    await reply(update, context, context.t("importing.kind_chosen", name=cut(name, 60), kind=context.t(kind.label_key)))
    await _begin(update, context, kind, str(waiting["file_id"]), name)


async def _begin(update: Update, context: CrmContext, kind: SpreadsheetKind, file_id: str, name: str) -> None:
    if not await refuse_if_busy(update, context) and update.effective_chat is not None:
        chat_id = update.effective_chat.id
        start_job(update, context, name, lambda: kind.check(context, chat_id, file_id, name))


async def download(context: CrmContext, chat_id: int, file_id: str) -> bytes:
    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    telegram_file = await context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


async def _check(context: CrmContext, chat_id: int, file_id: str, name: str) -> None:
    status = Status(context, chat_id)
    await status.show(context.t("importing.checking", name=cut(name, 60)))
    try:
        data = await download(context, chat_id, file_id)
        plan = await context.services.customers.importing.plan_file(actor_of(context), data, name)
    except DomainError as exc:
        await status.show(context.t(exc.key, **exc.params))
        return
    _forget(context)  # a new file replaces one still waiting
    token = secrets.token_hex(4)
    rows: list[list[Button]] = []
    if plan.valid and context.user_data is not None:
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        suffix = suffix if suffix in SPREADSHEET_SUFFIXES else "upload"  # no path from the user's file name
        staff_id = actor_of(context).staff_id
        path = await asyncio.to_thread(store_upload, imports_dir(context), f"{staff_id}-{token}.{suffix}", data)
        context.user_data[USER_KEY] = {"token": token, "path": str(path), "name": name, "valid": plan.valid}
        rows.append([(context.t("importing.import_button", count=plan.valid), f"imp:run:{token}"),
                     (context.t("common.cancel"), f"imp:cancel:{token}")])
    await status.show(_preview(context, name, plan), rows)
    if len(plan.errors) > SHOWN_ERRORS:
        report = await asyncio.to_thread(context.services.customers.importing.error_report, plan, _plain(context))
        await context.bot.send_document(chat_id, report, filename=f"{name.rsplit('.', 1)[0][:60]}-problems.csv",
                                        caption=context.t("importing.report_caption", count=len(plan.errors)))


def cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problem(context: CrmContext, error: RowError) -> str:
    problem = Html(context.t(error.key, **error.params))
    if error.column:
        return context.t("importing.row_error", row=error.row, column=cut(error.column, 30), problem=problem)
    return context.t("importing.row_error_no_column", row=error.row, problem=problem)


def _preview(context: CrmContext, name: str, plan: ImportPlan) -> str:
    lines = [context.t("importing.preview_title", name=cut(name, 60), rows=plan.total)]
    columns = []
    for column in plan.mapping.columns[:SHOWN_COLUMNS]:
        header = cut(column.header or "?", 30)
        if column.field:
            columns.append(context.t("importing.column_mapped", header=header,
                                     field=context.t(EXPORT_COLUMNS[column.field])))
        else:
            columns.append(context.t("importing.column_ignored", header=header))
    if len(plan.mapping.columns) > SHOWN_COLUMNS:
        columns.append("…")
    lines.append(context.t("importing.columns", columns=Html(" · ".join(columns))))
    if plan.preview:
        lines.append("")
        lines.append(context.t("importing.preview"))
        for row, values in plan.preview:
            lines.append(context.t("importing.preview_row", row=row, name=cut(values.get("name") or "—"),
                                   phone=cut(values.get("phone") or "—"), owner=cut(values.get("owner") or "—")))
    lines.append("")
    lines.append(context.t("importing.counts", valid=plan.valid, invalid=plan.invalid, duplicates=plan.duplicates))
    if plan.errors:
        shown = plan.errors[:SHOWN_ERRORS]
        lines.append(context.t("importing.problems", shown=len(shown), total=len(plan.errors)))
        lines.extend(_problem(context, e) for e in shown)
    if not plan.valid:
        lines.append("")
        lines.append(context.t("importing.nothing_valid"))
    return "\n".join(lines)


# ---- confirm or cancel -----------------------------------------------------------------------------------------

def _waiting(update: Update, context: CrmContext) -> dict[str, Any] | None:
    """The upload this button belongs to, if it is still the one waiting (buttons carry only its token)."""
    args = callback_args(update)
    waiting = context.user_data.get(USER_KEY) if context.user_data is not None else None
    if not args or not isinstance(waiting, dict) or waiting.get("token") != args[0]:
        return None
    return waiting


@require_actor("customers.import")
async def run_import(update: Update, context: CrmContext) -> None:
    """Import the valid rows, all in one transaction, in the background."""
    query = update.callback_query
    waiting = _waiting(update, context)
    if waiting is None:
        await answer(query, context.t("importing.expired"), alert=True)
        return
    if await refuse_if_busy(update, context):
        return
    # Forgotten before anything else, so a second press of the same button cannot import the file twice.
    _forget(context, keep_file=True)
    chat_id = update.effective_chat.id if update.effective_chat else None
    message = query.message if query is not None and isinstance(query.message, Message) else None
    if chat_id is not None:
        start_job(update, context, str(waiting["name"]), lambda: _import(context, chat_id, message, waiting))
    await answer(query)


async def _import(context: CrmContext, chat_id: int, message: Message | None, waiting: dict[str, Any]) -> None:
    status = Status(context, chat_id, message)
    valid = waiting.get("valid")
    await status.show(context.t("importing.importing", count=f"{valid:,}" if isinstance(valid, int) else "…"))
    path = Path(str(waiting["path"]))
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        await status.show(context.t("importing.expired"))
        return
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def progress(done: int, total: int) -> None:
        if status.due():
            await status.show(context.t("importing.progress", done=f"{done:,}", total=f"{total:,}"))

    importing = context.services.customers.importing
    try:
        result = await importing.import_file(actor_of(context), data, str(waiting["name"]), skip_invalid=True,
                                             progress=progress)
    except DomainError as exc:
        await status.show(context.t("importing.failed", problem=Html(context.t(exc.key, **exc.params))))
        return
    except BaseException:  # the bot is stopping, or a fault (logged by the error handlers): rolled back
        await _say_interrupted(status, context)
        raise
    await status.show(context.t("importing.done", created=f"{result.created:,}", skipped=f"{result.skipped:,}"))


async def _say_interrupted(status: Status, context: CrmContext) -> None:
    try:
        await asyncio.wait_for(status.show(context.t("importing.interrupted")), timeout=5)
    except Exception:  # failing anyway; the user will find nothing imported and can send the file again
        log.debug("could not tell the user the import was interrupted", exc_info=True)


@require_actor("customers.import")
async def cancel_import(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    if _waiting(update, context) is not None:
        _forget(context)
    await reply(update, context, context.t("importing.cancelled"))


# ---- export ----------------------------------------------------------------------------------------------------

@require_actor("customers.export")
async def export_menu(update: Update, context: CrmContext) -> None:
    """Choose a format; the file holds exactly the customers this user may see."""
    await answer(update.callback_query)
    await reply(update, context, context.t("importing.export_title"),
                [[(context.t("importing.export_csv"), "exp:file:csv"),
                  (context.t("importing.export_xlsx"), "exp:file:xlsx")]])


EXPORTS_KEY = "export_jobs"  # in bot_data: staff id → the export task being prepared for them


@require_actor("customers.export")
async def export_file(update: Update, context: CrmContext) -> None:
    """Prepare the file in the background, reporting in one status message: 100,000 customers take seconds, and
    PTB hands updates to handlers one at a time, so waiting here would hold up every user."""
    args = callback_args(update)
    fmt = args[0] if args else ""
    if fmt not in FORMATS:
        await answer(update.callback_query, context.t("error.stale_button"), alert=True)
        return
    actor = actor_of(context)
    jobs: dict[int, asyncio.Task[None]] = context.bot_data.setdefault(EXPORTS_KEY, {})
    running = jobs.get(actor.staff_id)
    if running is not None and not running.done():
        await answer(update.callback_query, html.unescape(context.t("importing.export_busy")), alert=True)
        return
    await answer(update.callback_query, context.t("importing.exporting"))
    if update.effective_chat is not None:
        chat_id = update.effective_chat.id
        jobs[actor.staff_id] = context.application.create_task(_export(context, chat_id, fmt), update=update,
                                                               name=f"export by {actor.staff_id}")


async def wait_for_exports(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Until the exports being prepared have been sent (tests, shutdown)."""
    jobs = app.bot_data.get(EXPORTS_KEY) or {}
    await asyncio.gather(*jobs.values(), return_exceptions=True)


async def _export(context: CrmContext, chat_id: int, fmt: str) -> None:
    status = Status(context, chat_id)
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)

    async def progress(step: str, count: int) -> None:
        if step == "reading":
            await status.show(context.t("importing.export_reading"))
        else:
            await status.show(context.t("importing.export_writing", count=f"{count:,}"))

    try:
        exported = await context.services.customers.exporting.export(actor_of(context), fmt, _plain(context),
                                                                     progress=progress)
    except DomainError as exc:
        await status.show(context.t(exc.key, **exc.params))
        return
    await context.bot.send_document(chat_id, exported.data, filename=exported.filename,
                                    caption=context.t("importing.export_caption", count=exported.count))
    await status.show(context.t("importing.export_sent", count=f"{exported.count:,}"))
