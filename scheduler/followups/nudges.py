"""Daily "no contact for N days" nudges (crm/nudges.py decides who and what; this job only sends).

A tick every few minutes looks for staff whose local nudge time has passed (less than MISSED_SLOT ago: a start
late in the day leaves today's nudge out) and who were not nudged today,
claims each one with a marker row (two processes: one wins), and sends the list. Nothing to report sends
nothing; the marker still records the day, so the person is not looked at again until tomorrow.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from outbound.telegram_send import Outcome, deliver
from scheduler.core.repeating import every
from views.core.text import truncate
from views.followups.nudges import nudge_message

log = logging.getLogger(__name__)

JOB_NAME = "no_contact_nudges"
TICK_SECONDS = 300


async def send_due_nudges(services: Services, bot: Bot, catalogs: Any) -> int:
    """Send every nudge that is due now; returns how many this caller sent."""
    sent = 0
    for due in await services.followups.nudges.due():
        if not await services.followups.nudges.claim(due):
            continue  # another process, or an earlier tick, has it
        actor = await services.organisation.identity.actor_by_staff_id(due.staff_id)
        if actor is None or actor.telegram_user_id is None or not actor.can("customers.view"):
            continue
        nudge = await services.followups.nudges.collect(actor, due.day)
        if not nudge.total:
            continue
        text, rows = nudge_message(functools.partial(catalogs.t, actor.locale), nudge)
        delivery = await deliver(bot, actor.telegram_user_id, truncate(text), rows)
        if delivery.outcome in (Outcome.GONE, Outcome.FAILED):
            log.info("nudge for staff %s not delivered: %s", due.staff_id, delivery.error)
            continue
        if not delivery.ok:
            # At most once a day, so never retried: a nudge is a hint, a repeat would be noise.
            log.warning("nudge for staff %s not sent: %s", due.staff_id, delivery.error)
            continue
        sent += 1
    return sent


async def nudge_job(context: Any) -> None:
    """Job callback: send the nudges that are due."""
    app = context.application
    await send_due_nudges(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, nudge_job, name=JOB_NAME, seconds=TICK_SECONDS, first=30, grace=120,
          without="no-contact nudges will not be sent")
