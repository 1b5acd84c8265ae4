"""The follow-ups module: interactions logged, follow-ups planned, reminders, the agenda, nudges.

The module's services as one namespace: ``services.followups.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.followups.agenda import AgendaService
from crm.followups.followups import FollowUpService
from crm.followups.nudges import NudgeService
from crm.followups.reminders import ReminderService


@dataclass
class FollowUpsServices:
    followups: FollowUpService
    reminders: ReminderService
    agenda: AgendaService
    nudges: NudgeService
