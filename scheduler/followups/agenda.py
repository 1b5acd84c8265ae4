"""The morning agenda: at each user's own time (default 08:30 local, /agendatime), their overdue follow-ups and
today's, pushed once a day.

A job every minute finds staff whose local agenda time has passed and whose agenda for their local today was not
sent, and claims each one with a single conditional UPDATE (``agenda_sent_on < today``): with two bot processes
only one wins the claim and sends. If the bot was down at 08:30, the agenda goes out within a minute of the
start — as long as that is less than MISSED_SLOT (crm/followups/reminders.py) after the slot; later than that it
waits for tomorrow's slot. An empty agenda sends nothing (the claim still records the day, so it is not looked at
again).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from outbound.telegram_send import Outcome, deliver
from scheduler.core.repeating import every
from views.core.text import truncate
from views.followups.texts import agenda_message, is_empty, translator

log = logging.getLogger(__name__)

JOB_NAME = "morning_agenda"
TICK_SECONDS = 60


async def send_due_agendas(services: Services, bot: Bot, catalogs: Any) -> int:
    """Push every agenda that is due now; returns how many were sent by this caller."""
    sent = 0
    for due in await services.followups.reminders.agendas_due():
        if not await services.followups.reminders.claim_agenda(due):
            continue  # another worker has it
        actor = await services.organisation.identity.actor_by_staff_id(due.staff_id)
        if actor is None or actor.telegram_user_id is None:
            continue
        agenda = await services.followups.followups.agenda(actor, due.day)
        if is_empty(agenda):
            continue
        names = await services.followups.followups.targets_for(actor, (*agenda.overdue, *agenda.due))
        text, rows = agenda_message(translator(catalogs, actor.locale), agenda, names, actor.timezone, due.day,
                                    morning=True)
        delivery = await deliver(bot, actor.telegram_user_id, truncate(text), rows)
        if delivery.outcome is Outcome.UNCERTAIN:
            # It may have arrived: a second agenda the same morning would be worse than none.
            log.warning("agenda for staff %s timed out; not sent again", due.staff_id)
        elif delivery.outcome in (Outcome.GONE, Outcome.FAILED):
            log.info("agenda for staff %s not delivered: %s", due.staff_id, delivery.error)
            continue
        elif delivery.outcome is Outcome.RETRY:
            log.warning("agenda for staff %s not sent (%s); trying again next minute", due.staff_id, delivery.error)
            await services.followups.reminders.unclaim_agenda(due)
            continue
        sent += 1
    return sent


async def agenda_job(context: Any) -> None:
    """Job callback: send the agendas that are due."""
    app = context.application
    await send_due_agendas(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # No run at start: an agenda due while the bot was down goes out at the first tick, within a minute (unless
    # its slot was missed by more than MISSED_SLOT: then tomorrow).
    every(app, agenda_job, name=JOB_NAME, seconds=TICK_SECONDS, first=TICK_SECONDS, grace=30,
          without="morning agendas will not be pushed")
