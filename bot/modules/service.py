"""The service module: after-sales tickets opened in chat or by SMS, their SLA, customer updates and rating."""

from __future__ import annotations

from bot.i18n import Catalogs
from bot.module import Module, Wiring
from crm.fields.module import FieldsServices
from crm.messaging.module import MessagingServices
from crm.messaging.subscriptions import CatalogTexts
from crm.organisation.module import OrganisationServices
from crm.service.inbound import ServiceTexts
from crm.service.kpi import TicketsInSlaKpi
from crm.service.module import ServiceServices
from crm.service.sla import SlaPolicy
from crm.service.tickets import TICKET_KIND, TicketService
from handlers.core.menu import Command
from handlers.service import registration
from scheduler.service import sla
from storage.offloop import worker_beside
from storage.service import tables


def build(wiring: Wiring) -> ServiceServices:
    settings = wiring.settings
    policy = SlaPolicy.parse(settings.service_sla_hours, settings.service_hours, settings.default_timezone)
    tickets = TicketService(wiring.uow, wiring.clock, policy, CatalogTexts(lambda: Catalogs().messages),
                            phone_region=settings.default_phone_region,
                            worker=worker_beside(wiring.uow, wiring.clock))  # /ticketreport off the event loop
    # "SUPPORT <text>" and a 1–5 rating texted to the SMS number reach the tickets.
    wiring.need(MessagingServices).subscriptions.other_texts.add(ServiceTexts(tickets))
    wiring.need(OrganisationServices).kpi_sources.add(TicketsInSlaKpi())  # performance reviews (docs/hr.md)
    fields = wiring.need(FieldsServices).fields
    fields.kinds[TICKET_KIND.entity] = TICKET_KIND  # custom fields on tickets (docs/fields.md)
    tickets.fields = fields
    return ServiceServices(tickets=tickets)


MODULE = Module(
    name="service",
    requires=("organisation", "customers", "segments", "fields", "followups", "messaging", "sales", "orders"),
    build=build,
    operations=("service.view", "service.create", "tickets.create", "tickets.assign", "tickets.close"),
    commands=(
        Command("ticket", "service.cmd_ticket", "tickets.create"),
        Command("tickets", "service.cmd_tickets", "service.view"),
        Command("ticketreport", "service.cmd_ticketreport", "service.view"),
    ),
    handlers=(registration.register,),
    jobs=(sla.register,),
    tables=(tables.tickets, tables.ticket_entries),
)
