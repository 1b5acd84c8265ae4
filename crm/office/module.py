"""The office module: each person's documents, schedule and calendar feed.

The module's services as one namespace: ``services.office.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.office.calendar import CalendarService
from crm.office.documents import DocumentService
from crm.office.schedule import ScheduleService


@dataclass
class OfficeServices:
    documents: DocumentService
    schedule: ScheduleService
    calendar: CalendarService
