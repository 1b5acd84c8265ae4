"""How the sales module follows what other modules do (events, crm/core/events.py)."""

from __future__ import annotations

from collections.abc import Mapping

from crm.core.events import MessageBus
from crm.organisation import audit
from crm.sales.opportunities import open_ids, stages_of
from crm.sales.ports import SalesUnitOfWork
from crm.segments.events import CustomersHandedOver


async def move_open_opportunities(event: CustomersHandedOver, uow: SalesUnitOfWork) -> None:
    """Open opportunities follow a handover: "all" moves every open one the giver owns (so they own no open
    work, which deactivation requires); a segment moves those on the customers it moved. Closed ones keep their
    owner: they record who won or lost them. In the transaction: the customers and their deals move together."""
    customer_ids = None if event.segment_id is None else [*event.moved.customer_ids,
                                                          *event.moved.trashed_customer_ids]
    if customer_ids == []:
        return
    stage_ids = open_ids(await stages_of(uow))
    for opportunity in await uow.sales.opportunities.owned_on(event.from_staff_id, stage_ids, customer_ids):
        await uow.sales.opportunities.update(opportunity.id, owner_id=event.to_staff_id)
        await audit.record(uow, event.by_staff_id, "handover", "opportunity", opportunity.id,
                           {"owner_id": event.from_staff_id}, {"owner_id": event.to_staff_id})


class OpenOpportunities:
    """The organisation module's deactivation check (``OpenWork``): open opportunities must be handed over first
    (``/handover``: they move with the customers)."""

    async def count(self, uow: SalesUnitOfWork, staff_id: int) -> Mapping[str, int]:
        return {"opportunities": await uow.sales.opportunities.count_owned(staff_id, open_ids(await stages_of(uow)))}


def subscribe(bus: MessageBus) -> None:
    bus.in_transaction(CustomersHandedOver, move_open_opportunities)


__all__ = ["OpenOpportunities", "move_open_opportunities", "subscribe"]
