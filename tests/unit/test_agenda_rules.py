"""The two pure rules behind the agenda: which follow-ups are overdue on which day's agenda, and when a daily push
(morning agenda, nudge) still goes out after its slot."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from crm.customers.model import FollowUp
from crm.followups.agenda import split_agenda
from crm.followups.reminders import slot_due

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TAIPEI)


def _due(fid: int, at: datetime) -> FollowUp:
    return FollowUp(id=fid, owner_id=1, text=f"item {fid}", due_at=at, customer_id=1)


ITEMS = (
    _due(1, datetime(2026, 11, 25, 9, 0, tzinfo=TAIPEI)),   # yesterday
    _due(2, datetime(2026, 11, 26, 8, 0, tzinfo=TAIPEI)),   # earlier today
    _due(3, datetime(2026, 11, 26, 15, 0, tzinfo=TAIPEI)),  # later today
    _due(4, datetime(2026, 11, 27, 9, 0, tzinfo=TAIPEI)),   # tomorrow
)


def _ids(items: tuple[FollowUp, ...]) -> list[int]:
    return [f.id for f in items]


def test_today_carries_everything_overdue_as_of_now() -> None:
    agenda = split_agenda(ITEMS, date(2026, 11, 26), TAIPEI, NOW)
    assert _ids(agenda.overdue) == [1, 2] and _ids(agenda.due) == [3]


def test_a_future_day_shows_only_its_own_items_none_overdue() -> None:
    agenda = split_agenda(ITEMS, date(2026, 11, 27), TAIPEI, NOW)
    assert _ids(agenda.overdue) == [] and _ids(agenda.due) == [4]
    assert split_agenda(ITEMS, date(2099, 1, 1), TAIPEI, NOW).due == ()


def test_a_past_day_marks_its_own_open_items_overdue() -> None:
    agenda = split_agenda(ITEMS, date(2026, 11, 25), TAIPEI, NOW)
    assert _ids(agenda.overdue) == [1] and _ids(agenda.due) == []


def test_a_daily_push_goes_out_within_three_hours_of_its_slot_only() -> None:
    at = time(8, 30)
    assert not slot_due(datetime(2026, 11, 26, 8, 29, tzinfo=TAIPEI), at)
    assert slot_due(datetime(2026, 11, 26, 8, 30, tzinfo=TAIPEI), at)
    assert slot_due(datetime(2026, 11, 26, 11, 29, tzinfo=TAIPEI), at)
    assert not slot_due(datetime(2026, 11, 26, 11, 30, tzinfo=TAIPEI), at)
    assert not slot_due(datetime(2026, 11, 26, 23, 12, tzinfo=TAIPEI), at)
    # A late slot is not carried past midnight: the next local day waits for its own.
    assert slot_due(datetime(2026, 11, 26, 23, 59, tzinfo=TAIPEI), time(22, 30))
    assert not slot_due(datetime(2026, 11, 27, 0, 30, tzinfo=TAIPEI), time(22, 30))
