"""/today, /agenda and /agendatime: one's own follow-ups of a day, and when the morning agenda comes.

Button data (ids and offsets only; every press re-reads through the services):
  fu:day:<yyyymmdd>[:<offset>]   the agenda of a day, its item buttons from <offset> (long days page)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.core.natural_dates import parse_when
from crm.organisation.permissions import Actor, Scope
from handlers.core.common import Button, actor_of, answer, callback_args, message_text, reply, require_actor
from views.core.formatting import zone
from views.followups.texts import agenda_message


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([
        CommandHandler("today", today),
        CommandHandler("agenda", agenda),
        CommandHandler("agendatime", agenda_time),
        CallbackQueryHandler(agenda_day, pattern=r"^fu:day(:|$)"),
    ])


def local_today(context: CrmContext) -> date:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone)).date()


def sees_team(actor: Actor) -> bool:
    """Someone whose follow-ups scope is wider than their own records has a team to look at."""
    return actor.scope("followups") is not Scope.OWN


def _command_rest(update: Update) -> str:
    parts = message_text(update).split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _send_agenda(update: Update, context: CrmContext, day: date | None = None, offset: int = 0) -> None:
    actor = actor_of(context)
    services = context.services
    result = await services.followups.followups.agenda(actor, day)
    names = await services.followups.followups.targets_for(actor, (*result.overdue, *result.due))
    before, after = result.day.toordinal() - 1, result.day.toordinal() + 1
    footer: list[list[Button]] = [[
        (context.t("followups.btn_prev_day"), f"fu:day:{date.fromordinal(before):%Y%m%d}"),
        (context.t("followups.btn_next_day"), f"fu:day:{date.fromordinal(after):%Y%m%d}"),
    ]]
    if sees_team(actor):
        footer.append([(context.t("followups.btn_team"), "fu:team")])
    text, rows = agenda_message(context.t, result, names, actor.timezone, local_today(context), offset=offset,
                                footer=footer)
    await reply(update, context, text, rows)


@require_actor()
async def today(update: Update, context: CrmContext) -> None:
    """My follow-ups for today and everything overdue."""
    await _send_agenda(update, context)


@require_actor()
async def agenda(update: Update, context: CrmContext) -> None:
    """`/agenda [date]`: the agenda of any day ("tomorrow", "下週二", "12月3日", 2026-12-03)."""
    raw = _command_rest(update)
    if not raw:
        await _send_agenda(update, context)
        return
    local_now = context.services.clock.now().astimezone(zone(actor_of(context).timezone))
    found = parse_when(raw, local_now)
    if found is None:
        await reply(update, context, context.t("followups.bad_agenda_date", text=raw[:100]))
        return
    await _send_agenda(update, context, found.at.date())


@require_actor()
async def agenda_day(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    try:
        day = datetime.strptime(args[0], "%Y%m%d").date()
        offset = max(int(args[1]), 0) if len(args) > 1 else 0
    except (IndexError, ValueError):
        raise DomainError("error.stale_button") from None
    await answer(update.callback_query)
    await _send_agenda(update, context, day, offset)


@require_actor()
async def agenda_time(update: Update, context: CrmContext) -> None:
    """`/agendatime 07:45` or `/agendatime off`; without an argument, show the current setting."""
    actor = actor_of(context)
    raw = _command_rest(update)
    services = context.services
    if raw:
        value = await services.followups.agenda.set_time(actor, raw)
        key = "followups.agenda_time_saved_off" if value == "off" else "followups.agenda_time_saved"
    else:
        value = await services.followups.agenda.get_time(actor)
        key = "followups.agenda_time_off" if value == "off" else "followups.agenda_time_current"
    await reply(update, context, context.t(key, time=value, zone=actor.timezone))
