"""A job that claims due rows on a fixed tick: one instance at a time, missed ticks collapsed into one.

Every such job is registered the same way: a run that would overlap a running one is skipped
(``max_instances=1``), ticks missed while the loop was busy become one run (``coalesce``), and a tick later than
``grace`` seconds is dropped (the next one comes soon). Without PTB's job queue the bot still runs; what the job
would have done is logged once at start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import Application

log = logging.getLogger(__name__)


def every(app: Application[Any, Any, Any, Any, Any, Any], job: Callable[[Any], Coroutine[Any, Any, None]], *, name: str,
          seconds: float, first: float, grace: int, without: str) -> None:
    """Run ``job`` every ``seconds``, the first time ``first`` seconds after start; ``without``: what is lost when
    there is no job queue (logged)."""
    if app.job_queue is None:
        log.warning("no job queue: %s", without)
        return
    app.job_queue.run_repeating(
        job, interval=seconds, first=first, name=name,
        job_kwargs={"id": name, "misfire_grace_time": grace, "coalesce": True, "max_instances": 1},
    )
