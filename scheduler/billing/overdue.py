"""Overdue pushes (crm/billing/receivables.py decides what is due and when; this job only sends).

A tick every few minutes finds open invoices past their due date whose owner is in working hours and has not
been told (or was told longer than OVERDUE_REPEAT_DAYS ago), claims each on its row and sends it through
``deliver`` with a "record payment" button. What Telegram answers decides: sent (or possibly sent) marks it,
a flood limit or a network failure releases the claim for a later tick, a blocked bot or a refused message
marks it too, since sending again would get the same answer.
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
from views.billing.billing import overdue_push
from views.core.formatting import zone

log = logging.getLogger(__name__)

JOB_NAME = "overdue_invoices"
TICK_SECONDS = 300


async def send_overdue_pushes(services: Services, bot: Bot, catalogs: Any) -> int:
    """Send every overdue push due now; returns how many went out."""
    sent = 0
    receivables = services.billing.receivables
    for due in await receivables.reminders_due():
        if not await receivables.claim(due):
            continue
        actor = await services.organisation.identity.actor_by_staff_id(due.invoice.owner_id)
        if actor is None or actor.telegram_user_id is None or not actor.can("sales.view"):
            await receivables.done(due, sent=True)  # nobody to tell: do not look at it every tick
            continue
        async with services.uow(write=False) as uow:
            customer = await uow.customers.customers.get(due.invoice.customer_id, include_deleted=True)
        today = services.clock.now().astimezone(zone(actor.timezone)).date()
        text, rows = overdue_push(functools.partial(catalogs.t, actor.locale), due.invoice,
                                  customer.name if customer else "?", today,
                                  may_pay=actor.can("payments.record"))
        delivery = await deliver(bot, actor.telegram_user_id, text, rows)
        retry = delivery.outcome is Outcome.RETRY
        await receivables.done(due, sent=not retry)
        if delivery.outcome in (Outcome.SENT, Outcome.UNCERTAIN):
            sent += 1
        else:
            log.log(logging.WARNING if retry else logging.INFO, "overdue push for invoice %s not sent: %s",
                    due.invoice.id, delivery.error)
    return sent


async def overdue_job(context: Any) -> None:
    app = context.application
    await send_overdue_pushes(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, overdue_job, name=JOB_NAME, seconds=TICK_SECONDS, first=50, grace=120,
          without="overdue invoices will not be pushed")
