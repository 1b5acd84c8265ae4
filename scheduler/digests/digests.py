"""Scheduled digests (crm/digests: who, when and what; this job only sends).

A tick every minute asks who is due (their slot has come today and their working day has not ended), claims each
digest with a unique row (two processes: one wins), computes it off the event loop and sends the text, then the
chart of a weekly or monthly digest. The first tick comes a minute after the start (as the morning agenda's: a
bot restarted twice in a row does its start-up work first), so a digest missed while the bot was down goes out
then if the manager's working day still lasts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from outbound.telegram_send import Outcome, deliver, deliver_photo
from scheduler.core.repeating import every
from views.core.text import truncate
from views.digests.texts import chart_caption, digest_message, translator

log = logging.getLogger(__name__)

JOB_NAME = "digests"
TICK_SECONDS = 60
FIRST_TICK_SECONDS = 60


async def send_due_digests(services: Services, bot: Bot, catalogs: Any) -> int:
    """Push every digest due now; returns how many this caller sent."""
    digests = services.digests.digests
    sent = 0
    for due in await digests.due():
        # Inline SQLite never suspends by itself (storage/sqlite_inline.py): without these turns, the claim, the
        # actor, the message and the marking of one digest and the next — 7–8 ms on the loop — ran as one piece,
        # and a rep's lookup due meanwhile waited for all of it (bench/digest.py).
        await asyncio.sleep(0)
        if not await digests.claim(due):
            continue  # another process, or an earlier tick, has it
        await asyncio.sleep(0)
        actor = await services.organisation.identity.actor_by_staff_id(due.staff_id)
        if actor is None or actor.telegram_user_id is None or not actor.can("digests.receive"):
            continue
        await asyncio.sleep(0)
        t = translator(catalogs, actor.locale)
        made = await digests.compose(actor, due.frequency, due.send_day, label=t)
        if made.quiet:
            continue  # claimed, so not looked at again; sent_at stays empty: nothing was pushed
        delivery = await deliver(bot, actor.telegram_user_id, truncate(digest_message(t, made)))
        if delivery.outcome is Outcome.RETRY:
            log.warning("digest for staff %s not sent (%s); trying again next minute", due.staff_id, delivery.error)
            await digests.release(due)
            continue
        if delivery.outcome in (Outcome.GONE, Outcome.FAILED):
            log.info("digest for staff %s not delivered: %s", due.staff_id, delivery.error)
            continue
        # Sent, or timed out (it may have arrived: a second digest would be worse than none).
        if made.chart is not None:
            shown = await deliver_photo(bot, actor.telegram_user_id, made.chart, chart_caption(t, made))
            if not shown.ok:
                log.info("digest chart for staff %s not delivered: %s", due.staff_id, shown.error)
        await asyncio.sleep(0)
        await digests.mark_sent(due)
        sent += 1
    return sent


async def digest_job(context: Any) -> None:
    """Job callback: send the digests that are due."""
    app = context.application
    await send_due_digests(app.bot_data["services"], app.bot, app.bot_data["i18n"])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, digest_job, name=JOB_NAME, seconds=TICK_SECONDS, first=FIRST_TICK_SECONDS, grace=30,
          without="managers' digests will not be pushed")
