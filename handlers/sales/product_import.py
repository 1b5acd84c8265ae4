"""A product file sent to the bot: checked in the background, the report shown, then every row imported or none.

The customers module owns the upload (one handler for every spreadsheet, handlers/customers/importing.py); this
is the "Products" kind it offers to holders of products.manage. Same shape as the customer import: nothing is
written until the user has seen what the bot understood and pressed Import; unlike customers, a product file is
all or nothing (a half-imported price list is worse than none).
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from telegram import Message, Update

from bot.context import CrmContext
from bot.i18n import Html
from crm.core.errors import DomainError
from crm.customers.importing import RowError
from crm.sales.importing import ProductImportPlan
from handlers.core.common import Button, actor_of, answer, callback_args, require_actor
from handlers.customers.importing import (
    SpreadsheetKind,
    Status,
    cut,
    download,
    imports_dir,
    refuse_if_busy,
    start_job,
    store_upload,
)

USER_KEY = "product_import"
SHOWN_ERRORS = 10


def _problem(context: CrmContext, error: RowError) -> str:
    problem = Html(context.t(error.key, **error.params))
    if error.column:
        return context.t("importing.row_error", row=error.row, column=cut(error.column, 30), problem=problem)
    return context.t("importing.row_error_no_column", row=error.row, problem=problem)


def _report(context: CrmContext, name: str, plan: ProductImportPlan) -> str:
    lines = [context.t("sales.import_summary", name=cut(name, 60), rows=plan.total, valid=plan.valid,
                       invalid=plan.invalid)]
    if plan.columns:
        lines.append(context.t("sales.import_columns", columns=", ".join(plan.columns)))
    if plan.errors:
        shown = plan.errors[:SHOWN_ERRORS]
        lines.append(context.t("importing.problems", shown=len(shown), total=len(plan.errors)))
        lines.extend(_problem(context, error) for error in shown)
        lines.append("")
        lines.append(context.t("sales.import_has_errors", count=plan.invalid))
    elif not plan.valid:
        lines.append(context.t("importing.nothing_valid"))
    return "\n".join(lines)


async def check(context: CrmContext, chat_id: int, file_id: str, name: str) -> None:
    status = Status(context, chat_id)
    await status.show(context.t("importing.checking", name=cut(name, 60)))
    try:
        data = await download(context, chat_id, file_id)
        plan = await context.services.sales.importing.plan_file(actor_of(context), data, name)
    except DomainError as exc:
        await status.show(context.t(exc.key, **exc.params))
        return
    _forget(context)
    rows: list[list[Button]] = []
    if plan.valid and not plan.errors and context.user_data is not None:
        token = secrets.token_hex(4)
        path = await asyncio.to_thread(store_upload, imports_dir(context),
                                       f"products-{actor_of(context).staff_id}-{token}.upload", data)
        context.user_data[USER_KEY] = {"token": token, "path": str(path), "name": name, "valid": plan.valid}
        rows.append([(context.t("sales.import_button", count=plan.valid), f"pimp:run:{token}"),
                     (context.t("common.cancel"), f"pimp:cancel:{token}")])
    await status.show(_report(context, name, plan), rows)


def _forget(context: CrmContext, *, keep_file: bool = False) -> dict[str, Any] | None:
    waiting = context.user_data.pop(USER_KEY, None) if context.user_data is not None else None
    if not isinstance(waiting, dict):
        return None
    if not keep_file:
        Path(str(waiting.get("path", ""))).unlink(missing_ok=True)
    return waiting


def _waiting(update: Update, context: CrmContext) -> dict[str, Any] | None:
    args = callback_args(update)
    waiting = context.user_data.get(USER_KEY) if context.user_data is not None else None
    if not args or not isinstance(waiting, dict) or waiting.get("token") != args[0]:
        return None
    return waiting


@require_actor("products.manage")
async def run(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    waiting = _waiting(update, context)
    if waiting is None:
        await answer(query, context.t("importing.expired"), alert=True)
        return
    if await refuse_if_busy(update, context):
        return
    _forget(context, keep_file=True)  # first: a second press cannot import the file twice
    chat = update.effective_chat
    message = query.message if query is not None and isinstance(query.message, Message) else None
    if chat is not None:
        chat_id = chat.id
        start_job(update, context, str(waiting["name"]), lambda: _import(context, chat_id, message, waiting))
    await answer(query)


async def _import(context: CrmContext, chat_id: int, message: Message | None, waiting: dict[str, Any]) -> None:
    status = Status(context, chat_id, message)
    await status.show(context.t("sales.importing", count=waiting.get("valid", "…")))
    path = Path(str(waiting["path"]))
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        await status.show(context.t("importing.expired"))
        return
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    try:
        created = await context.services.sales.importing.run_file(actor_of(context), data, str(waiting["name"]))
    except DomainError as exc:
        await status.show(context.t("importing.failed", problem=Html(context.t(exc.key, **exc.params))))
        return
    await status.show(context.t("sales.import_done", created=created))


async def cancel(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    if _waiting(update, context) is None:
        await answer(query, context.t("importing.expired"), alert=True)
        return
    _forget(context)
    await answer(query)
    if query is not None and isinstance(query.message, Message):
        await Status(context, query.message.chat.id, query.message).show(context.t("importing.cancelled"))


KIND = SpreadsheetKind("products", "sales.kind_products", "products.manage", check)
