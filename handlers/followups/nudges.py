"""/nudges: after how many days without contact owners are reminded of a customer, per classification.

Managers (customers.handover) see the setting; admins (roles.manage) change it, because it applies to the
whole company. The daily nudge itself is rendered by views/followups/nudges.py for the scheduler.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError, PermissionDenied
from crm.customers.model import Classification
from crm.followups.nudges import MAX_DAYS, NUDGE_TIME, NudgeSettings
from crm.segments.segments import parse_days
from handlers.core import common
from views.segments.labels import class_label

CHOICES = (0, 7, 14, 30, 60, 90)


def _days(context: CrmContext, days: int) -> str:
    return context.t("segments.nudge_days", days=days) if days else context.t("segments.nudge_off")


def _may_view(context: CrmContext) -> bool:
    actor = common.actor_of(context)
    return actor.can("customers.handover") or actor.can("roles.manage")


async def _show(update: Update, context: CrmContext, settings: NudgeSettings) -> None:
    lines = [context.t("segments.nudges_title", time=NUDGE_TIME.strftime("%H:%M"))]
    lines += [f"• {class_label(context.t, c)}: {_days(context, settings.days.get(c, 0))}" for c in Classification]
    rows: list[list[common.Button]] = []
    if common.actor_of(context).can("roles.manage"):
        rows = [[(f"{class_label(context.t, c)} · {_days(context, settings.days.get(c, 0))}", f"nud:c:{c.value}")]
                for c in Classification]
    else:
        lines.append(context.t("segments.nudges_admin_only"))
    await common.reply(update, context, "\n".join(lines), rows)


@common.require_actor()
async def show(update: Update, context: CrmContext) -> None:
    """The current setting; admins get a button per classification."""
    await common.answer(update.callback_query)
    if not _may_view(context):
        raise PermissionDenied()
    await _show(update, context, await context.services.followups.nudges.settings(common.actor_of(context)))


def _classification(update: Update) -> Classification:
    args = common.callback_args(update)
    value = args[0] if args else ""
    if value not in {c.value for c in Classification}:
        raise DomainError("error.stale_button")
    return Classification(value)


@common.require_actor("roles.manage")
async def choose(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    classification = _classification(update)
    common.expect_text(context, "segments.nudge_answer", cls=classification.value)
    rows: list[list[common.Button]] = [[(str(n) if n else context.t("segments.nudge_off"),
                                  f"nud:s:{classification.value}:{n}") for n in CHOICES],
                                [(context.t("common.back"), "nud:v")]]
    await common.reply(update, context, context.t("segments.nudges_pick", name=class_label(context.t, classification),
                                           limit=MAX_DAYS), rows)


@common.require_actor("roles.manage")
async def set_days(update: Update, context: CrmContext) -> None:
    classification = _classification(update)
    days = common.int_arg(common.callback_args(update), 1)
    settings = await context.services.followups.nudges.set_days(common.actor_of(context), classification, days)
    if common.current_pending(context).get("kind") == "segments.nudge_answer":
        common.clear_pending(context)
    await common.answer(update.callback_query, context.t("segments.nudges_saved"))
    await _show(update, context, settings)


@common.on_pending("segments.nudge_answer")
@common.require_actor("roles.manage")
async def _typed_days(update: Update, context: CrmContext) -> None:
    value = str(common.current_pending(context).get("cls", ""))
    if value not in {c.value for c in Classification}:
        common.clear_pending(context)
        return
    days = parse_days(common.message_text(update), limit=MAX_DAYS)
    settings = await context.services.followups.nudges.set_days(common.actor_of(context), Classification(value), days)
    common.clear_pending(context)
    await common.reply(update, context, context.t("segments.nudges_saved"))
    await _show(update, context, settings)


def handlers() -> list[CallbackQueryHandler[Any, Any]]:
    routes: dict[str, Any] = {"v": show, "c": choose, "s": set_days}
    return [CallbackQueryHandler(func, pattern=rf"^nud:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/nudges and its buttons (group 0, before the fallbacks)."""
    app.add_handler(CommandHandler("nudges", show))
    app.add_handlers(handlers())
