"""The contracts module: contracts per customer (合同) with a renewal reminder before each one ends."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.contracts import subscribers
from crm.contracts.contracts import ContractService
from crm.contracts.module import ContractsServices
from crm.customers.module import CustomersServices
from crm.followups.module import FollowUpsServices
from crm.organisation.module import OrganisationServices
from handlers.contracts import registration
from handlers.core.menu import Command
from storage.contracts import tables
from storage.contracts.files import ContractFolder


def build(wiring: Wiring) -> ContractsServices:
    settings = wiring.settings
    service = ContractService(wiring.uow, wiring.clock, ContractFolder(settings.data_dir),
                              prefix=settings.contract_prefix, currency=settings.default_currency,
                              default_timezone=settings.default_timezone)
    # Nobody holding active contracts is deactivated: they are handed over first (they move with the customers).
    wiring.need(OrganisationServices).staff.open_work.add(subscribers.ActiveContracts(wiring.clock))
    wiring.need(CustomersServices).customers.card_sections.add(subscribers.ContractsSection(service))
    wiring.need(FollowUpsServices).reminders.notes.add(subscribers.RenewalNotes())
    return ContractsServices(contracts=service)


MODULE = Module(
    name="contracts",
    requires=("organisation", "customers", "segments", "followups"),
    build=build,
    operations=("contracts.manage",),
    commands=(
        Command("contract", "contracts.cmd_contract", "contracts.manage"),
        Command("contracts", "contracts.cmd_contracts", "sales.view"),
    ),
    handlers=(registration.register,),
    tables=(tables.contracts, tables.contract_counters),
    subscribe=subscribers.subscribe,
)
