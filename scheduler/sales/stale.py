"""Stale-opportunity nudges (crm/sales/stale.py decides who and what; this job only sends).

A tick every few minutes finds owners with opportunities unchanged for STALE_OPPORTUNITY_DAYS who are in their
working hours and were not nudged today, claims each with a marker row (two processes: one wins) and sends the
list through ``deliver``.
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
from views.sales.opportunities import stale_message

log = logging.getLogger(__name__)

JOB_NAME = "stale_opportunities"
TICK_SECONDS = 300


async def send_stale_nudges(services: Services, bot: Bot, catalogs: Any) -> int:
    """Send every stale-opportunity nudge due now; returns how many this caller sent."""
    sent = 0
    for due in await services.sales.stale.due():
        if not await services.sales.stale.claim(due):
            continue  # another process, or an earlier tick, has it
        actor = await services.organisation.identity.actor_by_staff_id(due.staff_id)
        if actor is None or actor.telegram_user_id is None or not actor.can("sales.view"):
            continue
        stale = await services.sales.stale.collect(actor, due.day)
        if not stale.total:
            continue
        text, rows = stale_message(functools.partial(catalogs.t, actor.locale), stale, services.clock.now())
        delivery = await deliver(bot, actor.telegram_user_id, truncate(text), rows)
        if not delivery.ok:
            # At most once a day, so never retried: a nudge is a hint, a repeat would be noise.
            level = logging.INFO if delivery.outcome in (Outcome.GONE, Outcome.FAILED) else logging.WARNING
            log.log(level, "stale-opportunity nudge for staff %s not sent: %s", due.staff_id, delivery.error)
            continue
        sent += 1
    return sent


async def stale_job(context: Any) -> None:
    app = context.application
    await send_stale_nudges(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, stale_job, name=JOB_NAME, seconds=TICK_SECONDS, first=45, grace=120,
          without="stale-opportunity nudges will not be sent")
