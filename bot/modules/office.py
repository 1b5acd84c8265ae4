"""The office module: each person's documents, schedule and calendar feed (我的辦公室)."""

from __future__ import annotations

import re

from bot.module import Module, Wiring
from crm.core.errors import NotFound
from crm.customers.search_terms import name_key
from crm.expenses.module import ExpensesServices
from crm.followups.module import FollowUpsServices
from crm.office.calendar import CalendarService
from crm.office.documents import DocumentService
from crm.office.model import LinkKind
from crm.office.module import OfficeServices
from crm.office.schedule import ScheduleService
from crm.office.subscribers import EventReminderNotes
from crm.organisation.permissions import Actor
from crm.sales.module import SalesServices
from crm.service.module import ServiceServices
from handlers.core.menu import Command
from handlers.office import registration
from outbound.week_chart import MatplotlibWeekChart
from storage.chat_files import ChatFiles
from storage.office import tables
from storage.offloop import worker_beside


def build(wiring: Wiring) -> OfficeServices:
    settings = wiring.settings
    # The week image's reads and drawing run in the worker, off the event loop.
    schedule = ScheduleService(wiring.uow, wiring.clock, default_timezone=settings.default_timezone,
                               worker=worker_beside(wiring.uow, wiring.clock), chart=MatplotlibWeekChart())
    # An event's reminder is a follow-up row; its push names the event (crm/office/subscribers.py).
    wiring.need(FollowUpsServices).reminders.notes.add(EventReminderNotes(settings.default_timezone))
    documents = DocumentService(wiring.uow, wiring.clock, ChatFiles(settings.data_dir))
    _link_names(wiring, documents)
    return OfficeServices(
        documents=documents,
        schedule=schedule,
        calendar=CalendarService(wiring.uow, wiring.clock, schedule, default_timezone=settings.default_timezone))


TICKET_NUMBER = re.compile(r"[A-Za-z]{1,5}[0-9]{4}-[0-9]{1,6}")
# An opportunity has no number of its own: it is named by its id, as its card's "📁 Documents" shows it
# (``@O42``; ``@商機42`` / ``@商机42`` in Chinese).
OPPORTUNITY_REF = re.compile(r"(?:[Oo]|商機|商机)-?([0-9]{1,9})")


def _link_names(wiring: Wiring, documents: DocumentService) -> None:
    """Documents may be linked to projects, opportunities and tickets where those modules are built: each name is
    read through its module's service, which checks the reader's permission and scope."""
    if "expenses" in wiring.built:
        projects = wiring.need(ExpensesServices).projects

        async def project(actor: Actor, record_id: int) -> str:
            return (await projects.card(actor, record_id)).project.name

        async def project_named(actor: Actor, text: str) -> int | None:
            if not (actor.can("expenses.create") or actor.can("expenses.budget")):
                return None
            exact = [p for p in await projects.matching(actor, text) if name_key(p.name) == name_key(text)]
            return exact[0].id if len(exact) == 1 else None

        documents.link_names[LinkKind.PROJECT] = project
        documents.link_finders[LinkKind.PROJECT] = project_named
    if "sales" in wiring.built:
        opportunities = wiring.need(SalesServices).opportunities

        async def opportunity(actor: Actor, record_id: int) -> str:
            return (await opportunities.get(actor, record_id)).title

        async def opportunity_numbered(actor: Actor, text: str) -> int | None:
            found = OPPORTUNITY_REF.fullmatch(text)
            if found is None or not actor.can("sales.view"):
                return None
            try:
                return (await opportunities.get(actor, int(found.group(1)))).id
            except NotFound:
                return None  # out of the reader's scope: as if there were none

        documents.link_names[LinkKind.OPPORTUNITY] = opportunity
        documents.link_finders[LinkKind.OPPORTUNITY] = opportunity_numbered
    if "service" in wiring.built:
        tickets = wiring.need(ServiceServices).tickets

        async def ticket(actor: Actor, record_id: int) -> str:
            found = (await tickets.card(actor, record_id)).ticket
            return f"{found.number} {found.subject}"

        async def ticket_numbered(actor: Actor, text: str) -> int | None:
            if not actor.can("service.view") or not TICKET_NUMBER.fullmatch(text):
                return None
            seen = await tickets.listing(actor, team=True)
            return next((t.id for t in seen if t.number.casefold() == text.casefold()), None)

        documents.link_names[LinkKind.TICKET] = ticket
        documents.link_finders[LinkKind.TICKET] = ticket_numbered


MODULE = Module(
    name="office",
    # sales and service: the opportunity and ticket cards' "📁 Documents" (their card-extras points).
    requires=("organisation", "customers", "segments", "followups", "messaging", "sales", "service"),
    build=build,
    operations=("office.use",),
    commands=(
        Command("docs", "office.cmd_docs", "office.use"),
        Command("event", "office.cmd_event", "office.use"),
        Command("schedule", "office.cmd_schedule", "office.use"),
        Command("calendar", "office.cmd_calendar", "office.use"),
    ),
    handlers=(registration.register,),
    tables=(tables.office_documents, tables.office_document_terms, tables.office_events,
            tables.office_event_attendees, tables.office_event_reminders, tables.office_calendar_feeds),
)
