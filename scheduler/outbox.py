"""The outbox job: every OUTBOX_TICK_SECONDS, send what is due, then show senders how their messages fared.

The rows are the truth: the job keeps no state of its own, so several bot processes on one PostgreSQL can each
run it (claims skip each other's rows) and a restarted process picks up where a dead one stopped.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, CallbackContext

log = logging.getLogger(__name__)

JOB_NAME = "outbox.dispatch"
# One round sends for at most this long, so stopping the bot never waits for a whole campaign.
ROUND_SECONDS = 5.0


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = app.bot_data["services"]
    services.outbox_worker.attach_bot(app.bot)
    if app.job_queue is None:
        log.warning("no job queue: outgoing messages stay queued (install python-telegram-bot[job-queue])")
        return
    settings = app.bot_data["settings"]
    app.job_queue.run_repeating(
        tick, interval=settings.outbox_tick_seconds, first=settings.outbox_tick_seconds, name=JOB_NAME,
        # A slow round must not pile up behind itself; a missed tick is simply the next one.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60},
    )


async def tick(context: CallbackContext[Any, Any, Any, Any]) -> None:
    from handlers.messaging import push_status_notices  # rendering lives with the area's messages

    bot_data = context.bot_data
    services = bot_data["services"]
    settings = bot_data["settings"]
    try:
        await services.outbox_worker.run_once(budget=ROUND_SECONDS)
        await push_status_notices(context.bot, services, bot_data["i18n"], default_locale=settings.default_locale,
                                  default_timezone=settings.default_timezone)
    except Exception:  # the database may be briefly unavailable; the next tick tries again
        log.exception("outbox round failed")
