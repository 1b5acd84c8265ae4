"""Tell reviewers about single SMS held for review (簡訊稽核), shortly after a rep sends one.

The texts are held by crm/messaging.py; this job finds the new ones (a high-water mark in the database, moved
atomically, so several bot processes announce each text once) and pushes them to the reviewers with Approve /
Reject buttons. A push that does not arrive is not tried again: the reviewer still finds the text under /review.
Campaigns are announced at once by the handler that submits them.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from bot.i18n import Catalogs
from crm.services import Services
from outbound.telegram_send import deliver
from views.core.text import truncate
from views.messaging.review import Colleague, held_announcement

log = logging.getLogger(__name__)

JOB_NAME = "sms_review.announce"
INTERVAL_SECONDS = 20.0


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.job_queue is None:
        log.warning("no job queue: reviewers see held SMS only under /review")
        return
    app.job_queue.run_repeating(tick, interval=INTERVAL_SECONDS, first=5.0, name=JOB_NAME,
                                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60})


async def announce_held(services: Services, bot: Bot, catalogs: Catalogs, default_locale: str) -> int:
    """Tell reviewers about single texts held since the last round; returns how many texts were announced."""
    announced = 0
    for held, reviewers in await services.messaging.campaigns.claim_new_held():
        for reviewer in reviewers:
            if reviewer.telegram_user_id is None or not reviewer.active:
                continue
            text, rows = held_announcement(Colleague(reviewer.locale or default_locale, catalogs), held)
            delivery = await deliver(bot, reviewer.telegram_user_id, truncate(text), rows)
            if not delivery.ok:
                log.warning("could not tell staff %s: %s", reviewer.id, delivery.error)
        announced += 1
    return announced


async def tick(context: Any) -> None:
    bot_data = context.bot_data
    try:
        await announce_held(bot_data["services"], context.bot, bot_data["i18n"], bot_data["settings"].default_locale)
    except Exception:  # the database may be briefly unavailable; the next tick tries again
        log.exception("announcing held SMS failed")
