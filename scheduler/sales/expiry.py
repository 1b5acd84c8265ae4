"""The daily expiry of quotations (crm/sales/expiry.py decides; this job only runs it and sends).

A tick every few minutes expires the sent quotes past their valid-until date (nothing, most ticks), then tells
each owner in their working hours of their quotes expired and not yet told, in one message with a button per quote.
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
from views.sales.quotes import expired_message

log = logging.getLogger(__name__)

JOB_NAME = "quote_expiry"
TICK_SECONDS = 300


async def expire_and_tell(services: Services, bot: Bot, catalogs: Any) -> int:
    """Expire what is due and send every notice due now; returns how many messages this caller sent."""
    expiry = services.sales.expiry
    expired = await expiry.expire_due()
    if expired:
        log.info("%d quote(s) expired past their valid-until date", len(expired))
    sent = 0
    for notice in await expiry.notices_due():
        actor = await services.organisation.identity.actor_by_staff_id(notice.staff_id)
        if actor is None or actor.telegram_user_id is None or not actor.can("sales.view"):
            continue
        quotes = await expiry.claim(notice)
        if not quotes:
            continue  # another process, or an earlier tick, told them
        text, rows = expired_message(functools.partial(catalogs.t, actor.locale), quotes)
        delivery = await deliver(bot, actor.telegram_user_id, truncate(text), rows)
        if not delivery.ok:
            level = logging.INFO if delivery.outcome in (Outcome.GONE, Outcome.FAILED) else logging.WARNING
            log.log(level, "quote expiry notice for staff %s not sent: %s", notice.staff_id, delivery.error)
            continue
        sent += 1
    return sent


async def expiry_job(context: Any) -> None:
    app = context.application
    await expire_and_tell(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, expiry_job, name=JOB_NAME, seconds=TICK_SECONDS, first=75, grace=120,
          without="quotes past their valid-until date will not expire")
