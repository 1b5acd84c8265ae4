"""What the competitors module does when the sales module closes an opportunity as lost: a question to its
owner, "which competitor won, and why?", written in the move's own transaction (so it is never lost) and pushed
by the job scheduler/competitors/losses.py."""

from __future__ import annotations

from typing import Any

from crm.core.events import MessageBus
from crm.sales.events import OpportunityLost


async def ask_who_won(event: OpportunityLost, uow: Any) -> None:
    await uow.competitors.losses.open(event.opportunity_id, event.owner_id, event.occurred_at)


def subscribe(bus: MessageBus) -> None:
    bus.in_transaction(OpportunityLost, ask_who_won)
