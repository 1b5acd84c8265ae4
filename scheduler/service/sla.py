"""SLA pushes: a ticket with most of its SLA used nudges its assignee; a breached one goes to the service
managers in scope (crm/service/tickets.py ``claim_nudges`` decides and claims; this job only sends).

Each ticket is claimed once per kind in the database before anything is sent, so two processes or two ticks never
send the same push twice; a push Telegram refuses is logged, not retried — the ticket stays first in /tickets.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from outbound.telegram_send import deliver
from scheduler.core.repeating import every
from views.service.tickets import nudge_text

log = logging.getLogger(__name__)

JOB_NAME = "ticket_sla"
TICK_SECONDS = 60


async def send_sla_pushes(services: Services, bot: Bot, catalogs: Any, default_timezone: str) -> int:
    """Send every SLA push due now; returns how many messages went out."""
    sent = 0
    for nudge in await services.service.tickets.claim_nudges():
        for chat_id, locale in nudge.chat_ids:
            t = functools.partial(catalogs.t, locale or "en")
            text, rows = nudge_text(t, nudge.ticket, nudge.breach, default_timezone)
            delivery = await deliver(bot, chat_id, text, rows)
            if delivery.ok:
                sent += 1
            else:
                log.info("SLA push for ticket %s to %s not sent: %s", nudge.ticket.number, chat_id, delivery.error)
    return sent


async def sla_job(context: Any) -> None:
    app = context.application
    services: Services = app.bot_data["services"]
    await send_sla_pushes(services, app.bot, app.bot_data["i18n"], services.service.tickets.sla.working.zone.key)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, sla_job, name=JOB_NAME, seconds=TICK_SECONDS, first=30, grace=60,
          without="ticket SLA pushes will not be sent")
