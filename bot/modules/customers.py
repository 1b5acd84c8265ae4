"""The customers module: customers, contacts, leads, search, import and export."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.customers import subscribers
from crm.customers.contacts_leads import ContactService, LeadService
from crm.customers.customers import CustomerService
from crm.customers.digest import NewCustomersSection, NewCustomersTrend
from crm.customers.exporting import ExportService
from crm.customers.importing import ImportService
from crm.customers.kpi import NewCustomersKpi
from crm.customers.module import CustomersServices
from crm.organisation.module import OrganisationServices
from handlers.core.menu import Command
from handlers.customers import importing, registration
from storage.customers import tables
from storage.customers.spreadsheets import SpreadsheetFiles
from storage.offloop import worker_beside


def build(wiring: Wiring) -> CustomersServices:
    uow, clock, region = wiring.uow, wiring.clock, wiring.settings.default_phone_region
    customers = CustomerService(uow, clock, phone_region=region)
    worker = worker_beside(uow, clock)  # imports and exports run off the event loop, on connections of their own
    organisation = wiring.need(OrganisationServices)
    organisation.digest_sections.add(NewCustomersSection())
    organisation.digest_trends.add(NewCustomersTrend())
    organisation.kpi_sources.add(NewCustomersKpi())
    return CustomersServices(
        customers=customers,
        contacts=ContactService(uow, clock, phone_region=region),
        leads=LeadService(uow, clock, phone_region=region),
        importing=ImportService(uow, clock, customers, SpreadsheetFiles(), worker=worker),
        exporting=ExportService(uow, clock, SpreadsheetFiles(), phone_region=region, worker=worker),
    )


MODULE = Module(
    name="customers",
    requires=("organisation",),
    build=build,
    operations=("customers.view", "customers.create", "customers.edit", "customers.delete", "customers.export",
                "customers.import"),
    commands=(
        Command("newcustomer", "cmd.newcustomer", "customers.create"),
        Command("newlead", "cmd.newlead", "customers.create"),
        Command("find", "cmd.find", "customers.view"),
        Command("customers", "cmd.customers", "customers.view"),
        Command("trash", "cmd.trash", "trash.restore"),
        Command("import", "importing.cmd_import", "customers.import"),
        Command("export", "importing.cmd_export", "customers.export"),
    ),
    handlers=(registration.register, importing.register),
    subscribe=subscribers.subscribe,
    tables=(tables.customers, tables.contacts, tables.leads, tables.interactions, tables.followups,
            tables.search_terms, tables.activity_counts),
)
