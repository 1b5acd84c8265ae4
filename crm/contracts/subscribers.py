"""How the contracts module plugs into the others: handovers move contracts, deactivation waits for them, the
customer card lists them, and the follow-up reminder of a renewal speaks of its contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from crm.contracts.contracts import ContractService
from crm.contracts.ports import ContractsUnitOfWork
from crm.core.clock import Clock
from crm.core.events import MessageBus
from crm.followups.reminders import ReminderNote
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.segments.events import CustomersHandedOver


def _today(clock: Clock) -> date:
    return clock.now().date()


async def move_active_contracts(event: CustomersHandedOver, uow: ContractsUnitOfWork) -> None:
    """Active contracts (also those past their end, still waiting to be renewed) follow a handover, as open
    opportunities do: "all" moves every one the giver owns (so they own no open work, which deactivation
    requires), a segment those on the customers it moved. Renewed and terminated ones keep their owner. In the
    transaction; each move audited; the reminder row moves too."""
    customer_ids = None if event.segment_id is None else [*event.moved.customer_ids,
                                                          *event.moved.trashed_customer_ids]
    if customer_ids == []:
        return
    for contract in await uow.contracts.contracts.active_owned(event.from_staff_id, customer_ids, None):
        await uow.contracts.contracts.update(contract.id, owner_id=event.to_staff_id)
        await audit.record(uow, event.by_staff_id, "handover", "contract", contract.id,
                           {"owner_id": event.from_staff_id}, {"owner_id": event.to_staff_id})
        if contract.reminder_id is not None:
            await uow.customers.followups.update(contract.reminder_id, owner_id=event.to_staff_id)


class ActiveContracts:
    """The organisation module's deactivation check (``OpenWork``): active contracts must be handed over first."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def count(self, uow: ContractsUnitOfWork, staff_id: int) -> Mapping[str, int]:
        return {"contracts": len(await uow.contracts.contracts.active_owned(staff_id, None, _today(self._clock)))}


class ContractsSection:
    """The customer card's "contracts" section (``CustomerService.card_sections``)."""

    name = "contracts"

    def __init__(self, service: ContractService) -> None:
        self._service = service

    async def read(self, uow: Any, actor: Actor, customer_id: int, limit: int) -> Sequence[Any]:
        return await self._service.for_customer(uow, actor, customer_id, limit)


class RenewalNotes:
    """The follow-ups module's reminder notes (``ReminderService.notes``): a renewal reminder names its contract
    and offers to open it, mark it renewed, or log a follow-up on the customer."""

    async def for_followups(self, uow: ContractsUnitOfWork, followup_ids: Sequence[int]
                            ) -> Mapping[int, ReminderNote]:
        notes: dict[int, ReminderNote] = {}
        for contract in await uow.contracts.contracts.by_reminders(followup_ids):
            if contract.reminder_id is None:
                continue
            notes[contract.reminder_id] = ReminderNote(
                "contracts.reminder", "contracts.reminder_late",
                {"number": contract.number, "title": contract.title, "end": contract.ends_on.isoformat(),
                 "value": str(contract.money.quantized())},
                (("contracts.btn_open", f"kt:open:{contract.id}"),
                 ("contracts.btn_renewed", f"kt:renew:{contract.id}"),
                 ("contracts.btn_log", f"fu:log:customer:{contract.customer_id}")))
        return notes


def subscribe(bus: MessageBus) -> None:
    bus.in_transaction(CustomersHandedOver, move_active_contracts)


__all__ = ["ActiveContracts", "ContractsSection", "RenewalNotes", "move_active_contracts", "subscribe"]
