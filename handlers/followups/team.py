"""A manager's team today: /team (or the Team button under /today) lists everyone in their follow-ups scope with
what is due today and what is overdue; a tap opens that person's list, each item opening the follow-up's card.

Button data (ids and offsets only; the service re-checks the scope on every press, so a forged press for someone
outside it answers "not found" and shows nothing):
  fu:team                     the team's counts
  fu:rep:<staff id>[:<offset>]  one person's due and overdue follow-ups, item buttons from <offset>
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from handlers.core.common import actor_of, answer, callback_args, int_arg, reply, require_actor
from handlers.followups.agenda import local_today
from views.followups.texts import agenda_message, day_text, team_message


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("team", team),
        CallbackQueryHandler(team, pattern=r"^fu:team$"),
        CallbackQueryHandler(rep, pattern=r"^fu:rep:"),
    ])


@require_actor()
async def team(update: Update, context: CrmContext) -> None:
    loads = await context.services.followups.agenda.team(actor_of(context))
    await answer(update.callback_query)
    text, rows = team_message(context.t, loads, local_today(context))
    await reply(update, context, text, rows)


@require_actor()
async def rep(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    staff_id = int_arg(args, 0)
    offset = max(int_arg(args, 1), 0) if len(args) > 1 else 0
    actor = actor_of(context)
    found = await context.services.followups.agenda.rep(actor, staff_id)
    shown = found.agenda
    names = await context.services.followups.followups.targets_for(actor, (*shown.overdue, *shown.due))
    await answer(update.callback_query)
    today = local_today(context)
    title = context.t("followups.team_rep_title", name=found.name, date=day_text(context.t, today, today.year))
    text, rows = agenda_message(
        context.t, shown, names, actor.timezone, today, offset=offset, title=title,
        page_data=lambda at: f"fu:rep:{found.staff_id}:{at}",
        footer=[[(context.t("followups.btn_back_team"), "fu:team")]])
    await reply(update, context, text, rows)
