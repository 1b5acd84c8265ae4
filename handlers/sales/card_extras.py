"""What modules built on sales add to the opportunity card: buttons (the competitors module's "⚔️ Competitors").

As the customer card's extras (handlers/customers/card_extras.py): added by the later module's registration,
per application, so sales imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from telegram.ext import Application

from bot.context import CrmContext
from crm.sales.opportunity_model import OpportunityCard
from handlers.core.common import Button

_KEY = "opportunity_card_extras"

CardButton = Callable[[CrmContext, OpportunityCard], Button | None]


def add(app: Application[Any, Any, Any, Any, Any, Any], button: CardButton) -> None:
    app.bot_data.setdefault(_KEY, []).append(button)


def buttons(context: CrmContext, card: OpportunityCard) -> list[Button]:
    found: Sequence[CardButton] = context.bot_data.get(_KEY, ())
    made = (button(context, card) for button in found)
    return [button for button in made if button is not None]
