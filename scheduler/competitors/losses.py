"""Asks the owner of each newly lost opportunity which competitor won (crm/competitors/subscribers.py writes
the question in the move's transaction; this job pushes it once it arrived or the owner cannot be reached)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from outbound.telegram_send import Outcome, deliver
from scheduler.core.repeating import every
from views.competitors.competitors import question_rows, question_text

log = logging.getLogger(__name__)


def _translator(catalogs: Any, locale: str) -> Any:
    def t(key: str, /, **params: Any) -> str:
        return str(catalogs.t(locale, key, **params))
    return t

JOB_NAME = "competitor_loss_questions"
TICK_SECONDS = 30


async def ask_unasked(services: Services, bot: Bot, catalogs: Any, default_locale: str) -> int:
    """Push every question not pushed yet; returns how many arrived. A retryable failure is tried next tick."""
    sent = 0
    competitors = services.competitors.competitors
    for question in await competitors.unasked():
        if question.owner_telegram_id is None:
            await competitors.asked(question.opportunity_id)  # nobody to ask: they find it on the opportunity
            continue
        t = _translator(catalogs, question.owner_locale or default_locale)
        delivery = await deliver(bot, question.owner_telegram_id, question_text(t, question),
                                 question_rows(t, question))
        if delivery.outcome is Outcome.RETRY:
            log.warning("loss question for opportunity %s not sent yet: %s", question.opportunity_id, delivery.error)
            continue
        await competitors.asked(question.opportunity_id)
        sent += delivery.outcome is Outcome.SENT
    return sent


async def loss_job(context: Any) -> None:
    app = context.application
    settings = app.bot_data.get("settings")
    await ask_unasked(app.bot_data["services"], app.bot, app.bot_data["i18n"],
                      getattr(settings, "default_locale", "en"))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, loss_job, name=JOB_NAME, seconds=TICK_SECONDS, first=20, grace=60,
          without="lost opportunities will not ask who won")
