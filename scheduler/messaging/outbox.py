"""The outbox job: every OUTBOX_TICK_SECONDS, send what is due, then show senders how their messages fared.

The rows are the truth: the job keeps no state of its own, so several bot processes on one PostgreSQL can each
run it (claims skip each other's rows) and a restarted process picks up where a dead one stopped.

A second, hourly job forgets delivery reports that were kept for a message SID no row ever carried.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram.ext import Application, CallbackContext

log = logging.getLogger(__name__)

JOB_NAME = "outbox.dispatch"
# One round sends for at most this long, so stopping the bot never waits for a whole campaign.
ROUND_SECONDS = 5.0
PURGE_JOB_NAME = "outbox.purge_reports"
# Unmatched delivery reports expire after a day (crm.messaging.messaging.UNMATCHED_REPORT_TTL); hourly keeps them few.
PURGE_INTERVAL_SECONDS = 3600.0


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = app.bot_data["services"]
    services.messaging.outbox_worker.attach_bot(app.bot)
    if app.job_queue is None:
        log.warning("no job queue: outgoing messages stay queued (install python-telegram-bot[job-queue])")
        return
    settings = app.bot_data["settings"]
    app.job_queue.run_repeating(
        tick, interval=settings.outbox_tick_seconds, first=settings.outbox_tick_seconds, name=JOB_NAME,
        # A slow round must not pile up behind itself; a missed tick is simply the next one.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60},
    )
    app.job_queue.run_repeating(
        purge_reports, interval=PURGE_INTERVAL_SECONDS, first=60.0, name=PURGE_JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 600},
    )


async def tick(context: CallbackContext[Any, Any, Any, Any]) -> None:
    from handlers.messaging.messaging import push_status_notices  # rendering lives with the area's messages

    bot_data = context.bot_data
    services = bot_data["services"]
    settings = bot_data["settings"]
    # Nearly every tick only finds that nothing is waiting: read that on the connection the bot keeps between
    # updates (bot/app.CrmApplication.reads) instead of opening two transactions of its own every second.
    reads = getattr(context.application, "reads", contextlib.nullcontext)
    try:
        async with reads():
            await services.messaging.outbox_worker.run_once(budget=ROUND_SECONDS)
            await push_status_notices(context.bot, services, bot_data["i18n"],
                                      default_locale=settings.default_locale,
                                      default_timezone=settings.default_timezone)
    except Exception:  # the database may be briefly unavailable; the next tick tries again
        log.exception("outbox round failed")


async def purge_reports(context: CallbackContext[Any, Any, Any, Any]) -> None:
    try:
        purged = await context.bot_data["services"].messaging.messaging.purge_unmatched_reports()
    except Exception:  # the next hour tries again; the rows only take a little room meanwhile
        log.exception("purging unmatched delivery reports failed")
        return
    if purged:
        # Each is a send whose outcome was never written (a crash mid-send, a "may have been sent" timeout).
        log.warning("outbox: forgot %d delivery reports whose message never carried their provider id", purged)
