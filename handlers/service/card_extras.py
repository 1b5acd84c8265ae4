"""What modules built on service add to the ticket card: buttons (the office module's "📁 Documents").

As the opportunity card's extras (handlers/sales/card_extras.py): added by the later module's registration, per
application, so service imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from telegram.ext import Application

from bot.context import CrmContext
from crm.service.model import TicketCard
from handlers.core.common import Button

_KEY = "ticket_card_extras"

CardButton = Callable[[CrmContext, TicketCard], Button | None]


def add(app: Application[Any, Any, Any, Any, Any, Any], button: CardButton) -> None:
    app.bot_data.setdefault(_KEY, []).append(button)


def buttons(context: CrmContext, card: TicketCard) -> list[Button]:
    found: Sequence[CardButton] = context.bot_data.get(_KEY, ())
    made = (button(context, card) for button in found)
    return [button for button in made if button is not None]
