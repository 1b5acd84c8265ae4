"""How the customers module keeps its own records up to date from what happens (events, crm/core/events.py)."""

from __future__ import annotations

from crm.core.events import MessageBus
from crm.customers.events import InteractionLogged, InteractionUndone
from crm.customers.ports import CustomersUnitOfWork


async def touch_last_contact(event: InteractionLogged, uow: CustomersUnitOfWork) -> None:
    """A call or visit logged on a customer (or one of its contacts) or lead is its latest contact: the nudges and
    the "not contacted for N days" segments read this. In the transaction: the interaction and the date go
    together."""
    if event.customer_id is not None:
        await uow.customers.customers.update(event.customer_id, last_contact_at=event.contacted_at)
    elif event.lead_id is not None:
        await uow.customers.leads.update(event.lead_id, last_contact_at=event.contacted_at)


async def restore_last_contact(event: InteractionUndone, uow: CustomersUnitOfWork) -> None:
    """An undone interaction that was the latest contact stops being it: the latest one still there is, or none.
    A date set by something else since (a later interaction, an import) is left alone."""
    if event.customer_id is not None:
        customer = await uow.customers.customers.get(event.customer_id)
        if customer is not None and customer.last_contact_at == event.contacted_at:
            latest = await uow.customers.interactions.recent(customer_id=event.customer_id, limit=1)
            await uow.customers.customers.update(event.customer_id,
                                                 last_contact_at=latest[0].occurred_at if latest else None)
    elif event.lead_id is not None:
        lead = await uow.customers.leads.get(event.lead_id)
        if lead is not None and lead.last_contact_at == event.contacted_at:
            latest = await uow.customers.interactions.recent(lead_id=event.lead_id, limit=1)
            await uow.customers.leads.update(event.lead_id, last_contact_at=latest[0].occurred_at if latest else None)


def subscribe(bus: MessageBus) -> None:
    bus.in_transaction(InteractionLogged, touch_last_contact)
    bus.in_transaction(InteractionUndone, restore_last_contact)


__all__ = ["restore_last_contact", "subscribe", "touch_last_contact"]
