"""The custom fields module: fields admins define per kind of record (``/fields``), asked by the guided flows,
shown on cards, read by import and export, and filtered on (``/filter``, saved as segments) (docs/fields.md)."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.customers.module import CustomersServices
from crm.fields.fields import FieldService, FieldsSection
from crm.fields.module import FieldsServices
from crm.fields.spreadsheets import FieldExport, FieldImport
from handlers.core.menu import Command
from handlers.fields import registration
from storage.fields import tables


def build(wiring: Wiring) -> FieldsServices:
    service = FieldService(wiring.uow, wiring.clock, currency=wiring.settings.default_currency,
                           phone_region=wiring.settings.default_phone_region)
    customers = wiring.need(CustomersServices)
    customers.customers.card_sections.add(FieldsSection())
    customers.exporting.extra_columns.add(FieldExport())
    customers.importing.extra_columns.add(FieldImport(currency=wiring.settings.default_currency,
                                                      phone_region=wiring.settings.default_phone_region,
                                                      now=wiring.clock.now))
    return FieldsServices(fields=service)


MODULE = Module(
    name="fields",
    requires=("organisation", "customers", "segments"),
    build=build,
    operations=("fields.manage",),
    commands=(
        Command("fields", "fields.cmd_fields", "fields.manage"),
        Command("filter", "fields.cmd_filter", "customers.view"),
    ),
    handlers=(registration.register,),
    tables=(tables.custom_fields, tables.custom_values),
)
