"""My office's pure rules: what an /event line means in three languages, the .ics text (escaping, folding, the
time zone), document search terms and copy names."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from crm.core.clock import ManualClock
from crm.core.errors import ValidationFailed
from crm.customers.search_terms import query_terms
from crm.office.documents import clean_draft, copy_name, document_terms
from crm.office.ics import calendar, escape, fold, unfold
from crm.office.model import (
    Document,
    DocumentDraft,
    Event,
    EventKind,
    FileKind,
    Link,
    LinkKind,
    ScheduleItem,
    Visibility,
)
from crm.office.schedule import ScheduleService, parse_event_line
from crm.organisation.permissions import Actor

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TAIPEI)  # a Thursday


@pytest.mark.parametrize(("line", "kind", "starts", "title", "names"), [
    ("meeting tomorrow 3pm budget review @Ned", EventKind.MEETING, datetime(2026, 11, 27, 15, 0), "budget review",
     ("Ned",)),
    ("明天下午3點 拜訪 台積電", EventKind.VISIT, datetime(2026, 11, 27, 15, 0), "台積電", ()),
    ("会议 下周一 上午10点 周会 @小明 @Sue", EventKind.MEETING, datetime(2026, 11, 30, 10, 0), "周会", ("小明", "Sue")),
    ("call friday 9:30 Acme about the quote", EventKind.CALL, datetime(2026, 11, 27, 9, 30), "Acme about the quote",
     ()),
    ("dentist 2026-12-03 14:00", None, None, None, None),  # no time first: not read as an event
])
def test_event_lines(line: str, kind: EventKind | None, starts: datetime | None, title: str | None,
                     names: tuple[str, ...] | None) -> None:
    if kind is None:
        with pytest.raises(ValidationFailed):
            parse_event_line(line, NOW)
        return
    parsed = parse_event_line(line, NOW)
    assert (parsed.kind, parsed.starts_at.replace(tzinfo=None), parsed.title, parsed.names) == (kind, starts, title,
                                                                                               names)
    assert parsed.ends_at - parsed.starts_at == timedelta(hours=1)


@pytest.mark.parametrize(("line", "starts", "ends", "title"), [
    ("meeting tomorrow 3pm-5pm budget @Ned", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17), "budget"),
    ("meeting tomorrow 3pm to 5:30pm budget", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17, 30), "budget"),
    ("明天下午3點到5點 會議 預算", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17), "預算"),
    ("明天下午3點至下午5點 拜訪 台積電", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17), "台積電"),
    ("明天下午3点 2小时 拜访 台积电", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17), "台积电"),
    ("明天下午3点 2个小时 拜访 台积电", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17), "台积电"),
    ("call friday 10am 30min Acme", datetime(2026, 11, 27, 10), datetime(2026, 11, 27, 10, 30), "Acme"),
    ("call friday 10am for 1.5 hours Acme", datetime(2026, 11, 27, 10), datetime(2026, 11, 27, 11, 30), "Acme"),
    ("電話 明天上午10點 45分鐘 台積電", datetime(2026, 11, 27, 10), datetime(2026, 11, 27, 10, 45), "台積電"),
    ("meeting tomorrow 9pm-1am launch", datetime(2026, 11, 27, 21), datetime(2026, 11, 28, 1), "launch"),
    ("请假 下周一到下周三", datetime(2026, 11, 30), datetime(2026, 12, 3), "下周一到下周三"),
])
def test_an_event_line_may_say_its_end_or_its_length(line: str, starts: datetime, ends: datetime,
                                                     title: str) -> None:
    parsed = parse_event_line(line, NOW)
    assert (parsed.starts_at, parsed.ends_at, parsed.title) == (starts.replace(tzinfo=TAIPEI),
                                                                ends.replace(tzinfo=TAIPEI), title)


def test_an_event_longer_than_a_month_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_event_line("請假 下週一到2027-03-01", NOW)
    assert refused.value.key == "office.error_length"


def test_a_leave_without_a_time_is_the_whole_day() -> None:
    parsed = parse_event_line("請假 下週一", NOW)
    assert parsed.kind is EventKind.LEAVE and parsed.title == "下週一"
    assert (parsed.starts_at, parsed.ends_at) == (datetime(2026, 11, 30, tzinfo=TAIPEI),
                                                  datetime(2026, 12, 1, tzinfo=TAIPEI))


def test_ics_text_is_escaped_and_folded_without_splitting_a_character() -> None:
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    long = "SUMMARY:" + "報價" * 40
    folded = fold(long)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert unfold(folded + "\r\n")[0] == long


def test_the_feed_parses_back_with_its_zone_and_summer_time() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 10, 20, 12, 0, tzinfo=new_york)
    items = [ScheduleItem(datetime(2026, 10, 30, 9, 0, tzinfo=new_york), datetime(2026, 10, 30, 10, 0,
                                                                                   tzinfo=new_york),
                          "Before, the change; back\\slash", "event-1", "meeting"),
             ScheduleItem(datetime(2026, 11, 5, 9, 0, tzinfo=new_york), None, "After the change", "followup-2",
                          "followup")]
    text = calendar("Ned", new_york, items, now=now, start=now - timedelta(days=31), end=now + timedelta(days=60))
    parsed = icalendar.Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert str(events["event-1@crmbot"]["SUMMARY"]) == "Before, the change; back\\slash"
    assert events["event-1@crmbot"].decoded("DTSTART") == items[0].starts_at
    assert events["followup-2@crmbot"].decoded("DTSTART").utcoffset() == timedelta(hours=-5)
    assert events["followup-2@crmbot"].decoded("DTEND") - events["followup-2@crmbot"].decoded("DTSTART") == \
        timedelta(minutes=30)
    zones = list(parsed.walk("VTIMEZONE"))
    assert len(zones) == 1 and "TZOFFSETTO:-0500" in text and "TZOFFSETTO:-0400" in text
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF line ends only


def test_document_terms_find_one_or_two_chinese_characters_tags_and_links() -> None:
    draft = clean_draft(DocumentDraft("  2027  價目表 ", ("#報價", "報價", "Pricing")))
    assert draft.title == "2027 價目表" and draft.tags == ("報價", "Pricing")
    document = Document(1, 7, 1, draft.title, "2027 價目表", draft.tags, Visibility.ME, 1, True, "f", "list.pdf",
                        "application/pdf", FileKind.DOCUMENT, 10, link=Link(LinkKind.CUSTOMER, 5, "台積電"))
    terms = document_terms(document)
    for query in ("#報價", "報價", "價", "台積", "#pricing", "2027"):
        exact, prefixes = query_terms(query)
        assert set(exact) <= terms and all(any(t.startswith(p) for t in terms) for p in prefixes), query
    assert "l:customer:5" in terms
    with pytest.raises(ValidationFailed):
        clean_draft(DocumentDraft(" ", ()))


def test_copy_names_keep_only_a_plain_extension() -> None:
    assert copy_name(7, "報價單 2027.PDF") == "office/7.pdf"
    assert copy_name(8, "../../etc/passwd") == "office/8"
    assert copy_name(9, "x.tar.gz;rm -rf") == "office/9"
    assert copy_name(10, "photo.jpg") == "office/10.jpg"


@pytest.mark.parametrize(("kind", "typed", "starts", "ends"), [
    (EventKind.MEETING, "2h", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 17)),
    (EventKind.MEETING, "90分鐘", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 16, 30)),
    (EventKind.MEETING, "to 6pm", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 18)),
    (EventKind.MEETING, "到6點", datetime(2026, 11, 27, 15), datetime(2026, 11, 27, 18)),
    (EventKind.MEETING, "monday 4pm", datetime(2026, 11, 30, 16), datetime(2026, 11, 30, 18)),  # same length
    (EventKind.MEETING, "下周一", datetime(2026, 11, 30, 15), datetime(2026, 11, 30, 17)),  # same hour too
    (EventKind.MEETING, "下週一 下午2點到4點半", datetime(2026, 11, 30, 14), datetime(2026, 11, 30, 16, 30)),
    (EventKind.LEAVE, "下週一到下週三", datetime(2026, 11, 30), datetime(2026, 12, 3)),
    (EventKind.MEETING, "hello", None, None),
    (EventKind.MEETING, "monday 4pm budget", None, None),  # words left over: not only a time
])
def test_a_new_time_for_an_event(kind: EventKind, typed: str, starts: datetime | None,
                                 ends: datetime | None) -> None:
    schedule = ScheduleService(None, ManualClock(NOW))  # type: ignore[arg-type]  # reads no storage
    actor = Actor(1, None, "Nat", 1, "rep", 1, frozenset({"office.use"}), {}, timezone="Asia/Taipei")
    event = Event(1, 1, kind, "Budget", datetime(2026, 11, 27, 15, tzinfo=TAIPEI),
                  datetime(2026, 11, 27, 17, tzinfo=TAIPEI))
    if starts is None or ends is None:
        with pytest.raises(ValidationFailed):
            schedule.read_time(actor, typed, event)
        return
    assert schedule.read_time(actor, typed, event) == (starts.replace(tzinfo=TAIPEI), ends.replace(tzinfo=TAIPEI))
