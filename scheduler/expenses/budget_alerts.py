"""Budget alerts that did not reach a manager right after the approval that raised them are tried again here
(crm/expenses/budgets.py writes them in the approval's transaction; views/expenses/budgets.py sends them)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from crm.services import Services
from scheduler.core.repeating import every
from views.expenses.budgets import tell_alert, translator_of

log = logging.getLogger(__name__)

JOB_NAME = "budget_alerts"
TICK_SECONDS = 60


async def send_unsent_alerts(services: Services, bot: Bot, catalogs: Any, default_locale: str) -> int:
    """Tell every alert not told yet; returns how many arrived."""
    sent = 0
    budgets = services.expenses.budgets
    for alert_id in await budgets.unsent():
        sent += await tell_alert(budgets, bot, translator_of(catalogs), default_locale, alert_id)
    return sent


async def alert_job(context: Any) -> None:
    """Job callback: tell the alerts not told yet."""
    app = context.application
    settings = app.bot_data.get("settings")
    await send_unsent_alerts(app.bot_data["services"], app.bot, app.bot_data["i18n"],
                             getattr(settings, "default_locale", "en"))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    every(app, alert_job, name=JOB_NAME, seconds=TICK_SECONDS, first=45, grace=120,
          without="budget alerts missed at approval will not be sent again")
