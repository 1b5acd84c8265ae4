"""The office module: each person's documents, schedule and calendar feed (我的辦公室)."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.followups.module import FollowUpsServices
from crm.office.calendar import CalendarService
from crm.office.documents import DocumentService
from crm.office.module import OfficeServices
from crm.office.schedule import ScheduleService
from crm.office.subscribers import EventReminderNotes
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
    return OfficeServices(
        documents=DocumentService(wiring.uow, wiring.clock, ChatFiles(settings.data_dir)),
        schedule=schedule,
        calendar=CalendarService(wiring.uow, wiring.clock, schedule, default_timezone=settings.default_timezone))


MODULE = Module(
    name="office",
    requires=("organisation", "customers", "segments", "followups"),
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
