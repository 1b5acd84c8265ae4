"""How the customers module keeps its own records up to date from what happens (events, crm/core/events.py)."""

from __future__ import annotations

from crm.core.events import MessageBus
from crm.customers.events import InteractionLogged
from crm.customers.ports import CustomersUnitOfWork


async def touch_last_contact(event: InteractionLogged, uow: CustomersUnitOfWork) -> None:
    """A call or visit logged on a customer (or one of its contacts) or lead is its latest contact: the nudges and
    the "not contacted for N days" segments read this. In the transaction: the interaction and the date go
    together."""
    if event.customer_id is not None:
        await uow.customers.customers.update(event.customer_id, last_contact_at=event.contacted_at)
    elif event.lead_id is not None:
        await uow.customers.leads.update(event.lead_id, last_contact_at=event.contacted_at)


def subscribe(bus: MessageBus) -> None:
    bus.in_transaction(InteractionLogged, touch_last_contact)


__all__ = ["subscribe", "touch_last_contact"]
