"""Spreadsheets in and out: a manager sends a CSV/XLSX file to import customers; /export sends them back.

The uploaded file waits under DATA_DIR/imports until the user presses Import or Cancel; user_data (persisted)
holds only its path and a short token, and the buttons carry only that token. Pressing Import reads the file
again and plans it afresh, so what is written is checked against the database as it is at that moment.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import Document, Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CrmContext
from bot.i18n import Html
from crm.errors import DomainError
from crm.exporting import EXPORT_COLUMNS, FORMATS
from crm.importing import ImportPlan, RowError
from handlers.common import Button, actor_of, answer, callback_args, reply, require_actor

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


# ---- the upload ------------------------------------------------------------------------------------------------

def _imports_dir(context: CrmContext) -> Path:
    return Path(context.settings.data_dir) / "imports"


def _store(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEPT_SECONDS
    for old in folder.iterdir():
        if old.is_file() and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _forget(context: CrmContext) -> dict[str, Any] | None:
    """Drop the waiting upload (user_data entry and file); returns what was waiting."""
    waiting = context.user_data.pop(USER_KEY, None) if context.user_data is not None else None
    if isinstance(waiting, dict):
        Path(str(waiting.get("path", ""))).unlink(missing_ok=True)
        return waiting
    return None


@require_actor("customers.import")
async def on_spreadsheet(update: Update, context: CrmContext) -> None:
    """Read the file, check every row, and show the mapping, a preview and the problems; nothing is saved yet."""
    message = update.effective_message
    document: Document | None = message.document if message else None
    if document is None:
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        size = f"{(document.file_size or 0) / 1024 / 1024:.1f}"
        await reply(update, context, context.t("importing.too_big", size=size, limit=MAX_FILE_MB))
        return
    actor = actor_of(context)
    name = (document.file_name or "customers.csv")[:120]
    if update.effective_chat is not None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    telegram_file = await document.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    plan = await context.services.importing.plan_file(actor, data, name)
    _forget(context)  # a new file replaces one still waiting
    token = secrets.token_hex(4)
    if plan.valid and context.user_data is not None:
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        suffix = suffix if suffix in SPREADSHEET_SUFFIXES else "upload"  # no path from the user's file name
        path = await asyncio.to_thread(_store, _imports_dir(context), f"{actor.staff_id}-{token}.{suffix}", data)
        context.user_data[USER_KEY] = {"token": token, "path": str(path), "name": name, "valid": plan.valid}
    rows: list[list[Button]] = []
    if plan.valid:
        rows.append([(context.t("importing.import_button", count=plan.valid), f"imp:run:{token}"),
                     (context.t("common.cancel"), f"imp:cancel:{token}")])
    await reply(update, context, _preview(context, name, plan), rows)
    if len(plan.errors) > SHOWN_ERRORS and update.effective_chat is not None:
        report = context.services.importing.error_report(plan, _plain(context))
        await context.bot.send_document(update.effective_chat.id, report,
                                        filename=f"{name.rsplit('.', 1)[0][:60]}-problems.csv",
                                        caption=context.t("importing.report_caption", count=len(plan.errors)))


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problem(context: CrmContext, error: RowError) -> str:
    problem = Html(context.t(error.key, **error.params))
    if error.column:
        return context.t("importing.row_error", row=error.row, column=_cut(error.column, 30), problem=problem)
    return context.t("importing.row_error_no_column", row=error.row, problem=problem)


def _preview(context: CrmContext, name: str, plan: ImportPlan) -> str:
    lines = [context.t("importing.preview_title", name=_cut(name, 60), rows=plan.total)]
    columns = []
    for column in plan.mapping.columns[:SHOWN_COLUMNS]:
        header = _cut(column.header or "?", 30)
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
            lines.append(context.t("importing.preview_row", row=row, name=_cut(values.get("name") or "—"),
                                   phone=_cut(values.get("phone") or "—"), owner=_cut(values.get("owner") or "—")))
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
    """Import the valid rows, all in one transaction."""
    query = update.callback_query
    waiting = _waiting(update, context)
    if waiting is None:
        await answer(query, context.t("importing.expired"), alert=True)
        return
    await answer(query)
    path = Path(str(waiting["path"]))
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        _forget(context)
        await reply(update, context, context.t("importing.expired"))
        return
    # Forget before writing, so a second press of the same button cannot import the file twice.
    _forget(context)
    await reply(update, context, context.t("importing.importing", count=waiting.get("valid", "…")))
    try:
        result = await context.services.importing.import_file(actor_of(context), data, str(waiting["name"]),
                                                              skip_invalid=True)
    except DomainError as exc:  # the query is answered already: tell the user in the message itself
        await reply(update, context, context.t("importing.failed", problem=Html(context.t(exc.key, **exc.params))))
        return
    await reply(update, context, context.t("importing.done", created=result.created, skipped=result.skipped))


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


@require_actor("customers.export")
async def export_file(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    fmt = args[0] if args else ""
    if fmt not in FORMATS:
        await answer(update.callback_query, context.t("error.stale_button"), alert=True)
        return
    await answer(update.callback_query, context.t("importing.exporting"))
    if update.effective_chat is not None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.UPLOAD_DOCUMENT)
    try:
        exported = await context.services.exporting.export(actor_of(context), fmt, _plain(context))
    except DomainError as exc:  # the query is answered already: say it in the chat
        await reply(update, context, context.t(exc.key, **exc.params), edit=False)
        return
    if update.effective_chat is not None:
        await context.bot.send_document(update.effective_chat.id, exported.data, filename=exported.filename,
                                        caption=context.t("importing.export_caption", count=exported.count))
