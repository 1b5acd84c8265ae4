"""What modules built on this one show on customer, contact and lead cards.

The messaging module adds the messages sent to the customer and the card's Send… button; sales adds
"💼 Opportunity" (and will add orders and what is owed). Each extra is added by the module's own registration
(``register(app)``), per application, so this module imports none of them (docs/architecture.md, "How modules
talk to each other").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.context import CrmContext
from handlers.core.common import Button

_KEY = "customer_card_extras"


@dataclass(frozen=True)
class CardExtra:
    section: str = ""
    """The customer card section it shows (``CustomerService.card_sections``), "" for none."""
    items: int = 0
    """How many of the section's items the card reads."""
    render: Callable[[CrmContext, Sequence[Any]], str] | None = None
    """The section's lines on a customer's card ("" when there is nothing to show)."""
    button: Callable[[CrmContext, str, int], Button | None] | None = None
    """A button for a card of this kind ("customer", "contact", "lead") and id, or None for this reader."""
    history: Callable[[CrmContext, int], Awaitable[Sequence[tuple[datetime, str]]]] | None = None
    """The module's records in a customer's history (when, the line shown): read through the module's services,
    which check the reader's permission and scope."""


def add(app: Application[Any, Any, Any, Any, Any, Any], extra: CardExtra) -> None:
    """Per application: a process that builds several (the tests) adds each extra to each once."""
    app.bot_data.setdefault(_KEY, []).append(extra)


def extras(context: CrmContext) -> Sequence[CardExtra]:
    found: Sequence[CardExtra] = context.bot_data.get(_KEY, ())
    return found


def sections(context: CrmContext) -> dict[str, int]:
    """What the customer card should read for the extras."""
    return {extra.section: extra.items for extra in extras(context) if extra.section}


def buttons(context: CrmContext, kind: str, record_id: int) -> list[Button]:
    made = (extra.button(context, kind, record_id) for extra in extras(context) if extra.button is not None)
    return [button for button in made if button is not None]


async def history(context: CrmContext, customer_id: int) -> list[tuple[datetime, str]]:
    """Every module's entries for the customer's history, unsorted."""
    found: list[tuple[datetime, str]] = []
    for extra in extras(context):
        if extra.history is not None:
            found.extend(await extra.history(context, customer_id))
    return found


def rendered(context: CrmContext, card_sections: dict[str, Sequence[Any]]) -> list[str]:
    texts = [extra.render(context, card_sections.get(extra.section, ()))
             for extra in extras(context) if extra.render is not None]
    return [text for text in texts if text]
