"""Scheduled jobs. The database is the source of truth: jobs carry ids, claim due rows atomically, and can run
in several processes without doing the same work twice. APScheduler (through PTB's JobQueue) only drives the
ticks and the daily times."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from scheduler.followups import agenda, nudges, reminders
from scheduler.messaging import outbox, sms_review


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Schedule every job; called once by build_application."""
    reminders.register(app)
    agenda.register(app)
    outbox.register(app)
    sms_review.register(app)
    nudges.register(app)
