"""What the billing area's chat handlers share: who the customer typed is, and the reader's today."""

from __future__ import annotations

import html
from datetime import date, datetime

from bot.context import CrmContext
from crm.customers.model import EntityKind
from handlers.core.common import actor_of
from views.core.formatting import zone

CHOICES = 6


def local_now(context: CrmContext) -> datetime:
    return context.services.clock.now().astimezone(zone(actor_of(context).timezone))


def local_today(context: CrmContext) -> date:
    return local_now(context).date()


def words(text: object) -> str:
    """User text shown back, escaped."""
    return html.escape(str(text))


async def customer_named(context: CrmContext, name: str, *, starting: bool = False) -> list[tuple[int, str]]:
    """The customers the reader may see named ``name`` (or, ``starting``, whose name begins with it)."""
    if not name.strip():
        return []
    found = await context.services.customers.customers.named(actor_of(context), [name], limit=CHOICES,
                                                            starting=starting)
    hits = [h for h in found.get(name, ()) if h.entity is EntityKind.CUSTOMER]
    return [(h.id, h.title) for h in hits]
