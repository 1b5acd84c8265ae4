"""What the office module adds to the modules before it: the push of an event's reminder (a follow-up row) names
the event and its time in the person's zone, with a button to their day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crm.followups.reminders import ReminderNote
from crm.office.ports import OfficeUnitOfWork
from crm.office.schedule import zone_of


class EventReminderNotes:
    """``ReminderService.notes``: an event reminder says which event, when, and opens that day's schedule."""

    def __init__(self, default_timezone: str) -> None:
        self.default_timezone = default_timezone

    async def for_followups(self, uow: OfficeUnitOfWork, followup_ids: Sequence[int]
                            ) -> Mapping[int, ReminderNote]:
        notes: dict[int, ReminderNote] = {}
        for followup_id, event in (await uow.office.events.reminded(followup_ids)).items():
            followup = await uow.customers.followups.get(followup_id)
            person = await uow.organisation.staff.get(followup.owner_id) if followup is not None else None
            zone = zone_of(person.timezone if person else None, self.default_timezone)
            starts = event.starts_at.astimezone(zone)
            notes[followup_id] = ReminderNote(
                "office.reminder", "office.reminder_late",
                {"title": event.title, "when": f"{starts:%Y-%m-%d %H:%M}"},
                (("office.btn_day", f"ofs:d:{starts.date().toordinal()}"),))
        return notes
