"""Tell reviewers about single SMS held for review (簡訊稽核), shortly after a rep sends one.

The texts are held by crm/messaging.py; this job finds the new ones (a high-water mark in the database, moved
atomically, so several bot processes announce each text once) and pushes them to the reviewers with Approve /
Reject buttons. Campaigns are announced at once by the handler that submits them.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application

log = logging.getLogger(__name__)

JOB_NAME = "sms_review.announce"
INTERVAL_SECONDS = 20.0


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.job_queue is None:
        log.warning("no job queue: reviewers see held SMS only under /review")
        return
    app.job_queue.run_repeating(tick, interval=INTERVAL_SECONDS, first=5.0, name=JOB_NAME,
                                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 60})


async def tick(context: Any) -> None:
    from handlers.messaging.campaigns import announce_held  # rendering lives with the area's messages

    try:
        await announce_held(context)
    except Exception:  # the database may be briefly unavailable; the next tick tries again
        log.exception("announcing held SMS failed")
