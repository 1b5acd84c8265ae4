"""Quiet hours in the recipient's zone: windows across midnight, DST changes, zones from phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.core.money import Money
from crm.messaging.ports.outbox import Cancel, Defer, Send
from crm.messaging.quiet_hours import QuietHours, recipient_zone
from crm.messaging.subscription_model import ConsentChannel, ConsentEvent, ConsentStatus, Topic
from crm.messaging.subscriptions import DEFAULT_TOPICS, LocalizedText, SmsProgram, decide

NIGHT = QuietHours.parse("21:00-08:00")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize("text, start, end", [
    ("21:00-08:00", time(21), time(8)),
    (" 9:30 – 17:45 ", time(9, 30), time(17, 45)),
    ("22:00~24:00", time(22), time(0)),
])
def test_parse(text: str, start: time, end: time) -> None:
    hours = QuietHours.parse(text)
    assert (hours.start, hours.end) == (start, end)
    assert QuietHours.parse(str(hours)) == hours


@pytest.mark.parametrize("text", ["", "off", "none"])
def test_off(text: str) -> None:
    hours = QuietHours.parse(text)
    assert not hours.enabled and str(hours) == "off"
    assert hours.resume_at(utc(2026, 1, 1, 3), "Asia/Taipei") is None


@pytest.mark.parametrize("text", ["21-08", "25:00-08:00", "21:00-08:60", "nine to five", "21:00"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(text)


@pytest.mark.parametrize("wall, quiet", [
    (time(20, 59), False), (time(21, 0), True), (time(23, 59), True), (time(0, 0), True),
    (time(7, 59), True), (time(8, 0), False), (time(12, 0), False),
])
def test_window_crossing_midnight(wall: time, quiet: bool) -> None:
    assert NIGHT.contains(wall) is quiet


def test_window_within_one_day() -> None:
    lunch = QuietHours.parse("12:00-13:00")
    assert lunch.contains(time(12, 30)) and not lunch.contains(time(13, 0)) and not lunch.contains(time(11, 59))
    # 12:30 in Taipei is 04:30 UTC: resume at 13:00 Taipei, the same day.
    assert lunch.resume_at(utc(2026, 5, 4, 4, 30), "Asia/Taipei") == local("Asia/Taipei", 2026, 5, 4, 13)


def test_evening_defers_to_next_morning_in_recipient_zone() -> None:
    now = utc(2026, 5, 4, 14, 0)  # 22:00 in Taipei, 10:00 in New York, 15:00 in London
    assert NIGHT.resume_at(now, "Asia/Taipei") == local("Asia/Taipei", 2026, 5, 5, 8)
    assert NIGHT.resume_at(now, "America/New_York") is None
    assert NIGHT.resume_at(now, "Europe/London") is None


def test_after_midnight_defers_to_the_same_morning() -> None:
    now = local("America/Los_Angeles", 2026, 5, 4, 2, 15)
    assert NIGHT.resume_at(now, "America/Los_Angeles") == local("America/Los_Angeles", 2026, 5, 4, 8)
    # Same instant: 17:15 in Taipei, not quiet; 05:15 in New York, quiet until 08:00 there.
    assert NIGHT.resume_at(now, "Asia/Taipei") is None
    assert NIGHT.resume_at(now, "America/New_York") == local("America/New_York", 2026, 5, 4, 8)


def test_edges() -> None:
    assert NIGHT.resume_at(local("Asia/Taipei", 2026, 5, 4, 21, 0), "Asia/Taipei") == local(
        "Asia/Taipei", 2026, 5, 5, 8)
    assert NIGHT.resume_at(local("Asia/Taipei", 2026, 5, 4, 20, 59, 59), "Asia/Taipei") is None
    assert NIGHT.resume_at(local("Asia/Taipei", 2026, 5, 4, 8, 0), "Asia/Taipei") is None


def test_dst_spring_forward_night() -> None:
    # New York, 2026-03-08: clocks jump 02:00 → 03:00. The night is an hour shorter; 08:00 is EDT (UTC-4).
    now = local("America/New_York", 2026, 3, 7, 23, 0)  # EST
    resume = NIGHT.resume_at(now, "America/New_York")
    assert resume == utc(2026, 3, 8, 12, 0)
    assert resume is not None and resume - now == timedelta(hours=8)


def test_dst_fall_back_night() -> None:
    # New York, 2026-11-01: clocks fall back 02:00 → 01:00. The night is an hour longer; 08:00 is EST (UTC-5).
    now = local("America/New_York", 2026, 10, 31, 22, 0)  # EDT
    resume = NIGHT.resume_at(now, "America/New_York")
    assert resume == utc(2026, 11, 1, 13, 0)
    assert resume is not None and resume - now == timedelta(hours=11)


def test_window_edge_inside_the_spring_forward_gap() -> None:
    # Quiet until 02:30, which does not exist on 2026-03-08 in New York: resume right after the gap.
    hours = QuietHours.parse("22:00-02:30")
    resume = hours.resume_at(local("America/New_York", 2026, 3, 8, 1, 0), "America/New_York")
    assert resume == utc(2026, 3, 8, 7, 30)  # 03:30 EDT, the first wall time after 02:30 that exists
    assert resume is not None and not hours.contains(resume.astimezone(ZoneInfo("America/New_York")).time())


def test_window_end_inside_the_repeated_hour() -> None:
    # Quiet until 01:30 on the fall-back night: a text due at the second 01:10 waits for the second 01:30.
    hours = QuietHours.parse("21:00-01:30")
    first = utc(2026, 11, 1, 5, 10)  # 01:10 EDT
    second = utc(2026, 11, 1, 6, 10)  # 01:10 EST
    assert hours.resume_at(first, "America/New_York") == utc(2026, 11, 1, 5, 30)
    assert hours.resume_at(second, "America/New_York") == utc(2026, 11, 1, 6, 30)


def test_zone_without_dst_has_the_same_utc_time_all_year() -> None:
    winter = NIGHT.resume_at(utc(2026, 1, 10, 15), "Asia/Taipei")
    summer = NIGHT.resume_at(utc(2026, 7, 10, 15), "Asia/Taipei")
    assert winter is not None and summer is not None
    assert (winter.hour, summer.hour) == (0, 0)  # 08:00 Taipei = 00:00 UTC


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["Asia/Taipei", "America/New_York", "Europe/London", "Australia/Sydney",
                          "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]),
    start=st.integers(0, 23), end=st.integers(0, 23),
)
def test_resume_is_outside_the_window_and_in_the_future(moment: datetime, zone: str, start: int, end: int) -> None:
    hours = QuietHours(time(start), time(end))
    resume = hours.resume_at(moment, zone)
    wall = moment.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
    if resume is None:
        assert not hours.contains(wall)
        return
    assert hours.contains(wall)
    assert moment < resume <= moment + timedelta(hours=25)
    assert not hours.contains(resume.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None))


@pytest.mark.parametrize("phone, zone", [
    ("+886912345678", "Asia/Taipei"),
    ("+8613800138000", "Asia/Shanghai"),
    ("+12125551234", "America/New_York"),
    ("+14155551234", "America/Los_Angeles"),
    ("+442071234567", "Europe/London"),
    ("+85291234567", "Asia/Hong_Kong"),
])
def test_zone_from_phone_number(phone: str, zone: str) -> None:
    assert recipient_zone(phone, "UTC") == zone


def test_zone_falls_back_to_company_default() -> None:
    assert recipient_zone("+999123", "Asia/Taipei") == "Asia/Taipei"  # no such country code
    assert recipient_zone("not a number", "Asia/Taipei") == "Asia/Taipei"


# ---- the send rule: marketing is deferred in the recipient's night, transactional is not ------------------

PROGRAM = SmsProgram(company_name="Acme", program_name=LocalizedText("Acme"), support_contact=LocalizedText("x"),
                     frequency=LocalizedText("y"), quiet_hours=NIGHT, default_timezone="Asia/Taipei",
                     segment_price=Money(Decimal("0.01"), "USD"))
TOPICS: dict[str, Topic] = {t.key: t for t in DEFAULT_TOPICS}


def _latest(phone: str, **statuses: ConsentStatus) -> dict[str, ConsentEvent]:
    return {topic: ConsentEvent(phone, topic, status, utc(2026, 1, 1), ConsentChannel.SMS)
            for topic, status in statuses.items()}


@pytest.mark.parametrize("phone, now, deferred_until", [
    ("+886912345678", utc(2026, 5, 4, 14), local("Asia/Taipei", 2026, 5, 5, 8)),  # 22:00 Taipei
    ("+12125551234", utc(2026, 5, 4, 14), None),  # 10:00 New York
    ("+12125551234", utc(2026, 5, 5, 3), local("America/New_York", 2026, 5, 5, 8)),  # 23:00 New York
    ("+886912345678", utc(2026, 5, 5, 3), None),  # 11:00 Taipei
    ("+442071234567", utc(2026, 12, 24, 22), local("Europe/London", 2026, 12, 25, 8)),
])
def test_marketing_deferred_in_the_recipients_night(phone: str, now: datetime,
                                                    deferred_until: datetime | None) -> None:
    latest = _latest(phone, promotions=ConsentStatus.OPTED_IN, orders=ConsentStatus.OPTED_IN)
    marketing = decide("promotions", phone, latest, TOPICS, PROGRAM, now)
    transactional = decide("orders", phone, latest, TOPICS, PROGRAM, now)
    assert transactional == Send()
    if deferred_until is None:
        assert marketing == Send()
    else:
        assert marketing == Defer(deferred_until, "quiet_hours")


def test_consent_rules() -> None:
    phone, noon = "+886912345678", utc(2026, 5, 4, 4)
    assert decide("promotions", phone, {}, TOPICS, PROGRAM, noon) == Cancel("no_consent")
    assert decide("orders", phone, {}, TOPICS, PROGRAM, noon) == Send()
    assert decide(None, phone, {}, TOPICS, PROGRAM, noon) == Send()
    out = _latest(phone, promotions=ConsentStatus.OPTED_OUT, orders=ConsentStatus.OPTED_OUT,
                  service=ConsentStatus.OPTED_OUT)
    assert decide("orders", phone, out, TOPICS, PROGRAM, noon) == Cancel("opted_out")
    assert decide(None, phone, out, TOPICS, PROGRAM, noon) == Cancel("opted_out")
    partly = _latest(phone, promotions=ConsentStatus.OPTED_OUT, orders=ConsentStatus.OPTED_IN)
    assert decide(None, phone, partly, TOPICS, PROGRAM, noon) == Send()
    # A rep's one-off text from chat is direct: sent (also at night) unless the number opted out of everything.
    assert decide("chat", phone, partly, TOPICS, PROGRAM, utc(2026, 5, 4, 15)) == Send()
    assert decide("chat", phone, out, TOPICS, PROGRAM, noon) == Cancel("opted_out")
    assert decide("promotions", phone, partly, TOPICS, PROGRAM, noon) == Cancel("opted_out")
    # An opted-out number is cancelled even at night (not deferred to be cancelled later).
    assert decide("promotions", phone, partly, TOPICS, PROGRAM, utc(2026, 5, 4, 15)) == Cancel("opted_out")
    # A topic the policy does not know is treated as marketing: it needs an opt-in.
    assert decide("newsletter", phone, {}, TOPICS, PROGRAM, noon) == Cancel("no_consent")
