"""Service tickets' pure rules: SLA due times in working hours, the settings' formats, the SMS keywords."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.service.inbound import parse_rating, parse_support, severity_of
from crm.service.model import MOVES, Severity, Status, ticket_number
from crm.service.sla import SlaPolicy, WorkingHours, parse_sla
from crm.service.tickets import category_of, order_numbers_in, sku_of

TAIPEI = "Asia/Taipei"


def _policy(sla: str = "urgent=4,high=8,normal=24,low=72", hours: str = "mon-fri 09:00-18:00") -> SlaPolicy:
    return SlaPolicy.parse(sla, hours, TAIPEI)


def _taipei(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(TAIPEI)).astimezone(UTC)


def test_due_times_count_only_working_hours() -> None:
    policy = _policy()
    # Friday 17:00 + 8 working hours: one hour on Friday, seven on Monday.
    assert policy.due(_taipei(27, 17), Severity.HIGH) == _taipei(30, 16)
    # Opened on Saturday night: the clock starts on Monday at 09:00.
    assert policy.due(_taipei(28, 23), Severity.URGENT) == _taipei(30, 13)
    # Before the day starts: from 09:00.
    assert policy.due(_taipei(26, 7), Severity.URGENT) == _taipei(26, 13)
    # Ending exactly at the close of the day stays on that day.
    assert policy.due(_taipei(26, 14), Severity.URGENT) == _taipei(26, 18)
    assert policy.nudge_at(_taipei(26, 10), Severity.URGENT) == datetime(2026, 11, 26, 5, 12, tzinfo=UTC)


def test_working_time_between_two_moments() -> None:
    hours = WorkingHours.parse("mon-fri 09:00-18:00", TAIPEI)
    assert hours.between(_taipei(27, 17), _taipei(30, 10)).total_seconds() == 2 * 3600
    assert hours.between(_taipei(30, 10), _taipei(27, 17)).total_seconds() == 0


def test_settings_formats() -> None:
    assert parse_sla("urgent=2, high=4 ,normal=8,low=40")[Severity.NORMAL] == 8
    for bad in ("urgent=4", "urgent=4,high=8,normal=24,low=0", "urgent=x,high=8,normal=24,low=72", "nonsense"):
        with pytest.raises(ValueError):
            parse_sla(bad)
    assert WorkingHours.parse("mon,wed,fri 9-17", TAIPEI).days == frozenset({0, 2, 4})
    for bad in ("mon-fri", "mon-fri 18:00-09:00", "someday 09:00-18:00", "mon-fri 25:00-26:00"):
        with pytest.raises(ValueError):
            WorkingHours.parse(bad, TAIPEI)


def test_support_keywords_and_ratings() -> None:
    assert parse_support("SUPPORT printer jams") == ("en", "printer jams")
    assert parse_support("support") == ("en", "")
    assert parse_support("ＳＵＰＰＯＲＴ  紙卡住") == ("en", "紙卡住")
    assert parse_support("報修 冷氣不冷") == ("zh-Hant", "冷氣不冷")
    assert parse_support("报修打印机卡纸") == ("zh-Hans", "打印机卡纸")
    assert parse_support("supporting act") is None and parse_support("I need support") is None
    assert [parse_rating(text) for text in ("5", " 3. ", "５", "0", "6", "10", "five", "")] == [5, 3, 5, None,
                                                                                            None, None, None, None]


def test_a_hash_tag_is_the_category() -> None:
    assert category_of("#Printer the paper jams #urgent") == "printer"
    assert category_of("冷氣不冷 #冷氣") == "冷氣"
    assert category_of("issue#3 is back") is None and category_of("no tag") is None


def test_numbers_and_moves() -> None:
    assert ticket_number(2026, 1) == "T2026-0001" and ticket_number(2026, 12345) == "T2026-12345"
    assert Status.IN_PROGRESS in MOVES[Status.CLOSED]  # reopen
    assert Status.CLOSED not in MOVES[Status.NEW]  # closing comes after resolving


def test_a_severity_word_leads_the_support_text() -> None:
    assert severity_of("URGENT printer on fire") == (Severity.URGENT, "printer on fire")
    assert severity_of("緊急 冷氣不冷") == (Severity.URGENT, "冷氣不冷")
    assert severity_of("紧急：打印机卡纸") == (Severity.URGENT, "打印机卡纸")
    assert severity_of("High") == (Severity.HIGH, "")
    assert severity_of("不急 有空再來") == (Severity.LOW, "有空再來")
    assert severity_of("重要客戶的冷氣") == (Severity.NORMAL, "重要客戶的冷氣")  # not a word of its own
    assert severity_of("urgently") == (Severity.NORMAL, "urgently")


def test_sku_and_order_numbers_in_a_one_message_ticket() -> None:
    assert sku_of("sku:PR-200 jams since O2026-0012") == ("PR-200", "jams since O2026-0012")
    assert sku_of("冷氣不冷 SKU：AC-90") == ("AC-90", "冷氣不冷")
    assert sku_of("the skus are fine") == (None, "the skus are fine")
    assert order_numbers_in("jams since o2026-0012, see T2026-0003") == ["O2026-0012", "T2026-0003"]
    assert order_numbers_in("call 2026-0012 or AO2026-0012x") == []
