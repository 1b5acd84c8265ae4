"""What a typed contract line, value and date mean, in three languages; and when the renewal reminder is due."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.contracts.line import parse_day, parse_line, parse_value
from crm.contracts.renewal import remind_at
from crm.core.errors import ValidationFailed
from storage.contracts.files import NAME_LIMIT, safe_name

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))


@pytest.mark.parametrize(("text", "customer", "title", "value", "currency", "start", "end"), [
    ("台積電 維護合約 NT$120000 2027-01-01 to 2027-12-31", "台積電", "維護合約", "120000", "TWD",
     date(2027, 1, 1), date(2027, 12, 31)),
    ('"Acme Trading" support plan 5,000 USD 1 Jan 2027 until 31 Dec 2027', "Acme Trading", "support plan", "5000",
     "USD", date(2027, 1, 1), date(2027, 12, 31)),
    ("台积电 维护合同 120000 2027-01-01~2027-06-30", "台积电", "维护合同", "120000", None, date(2027, 1, 1),
     date(2027, 6, 30)),
    ("「台積電」 年度保養 120,000元 明年1月1日至明年12月31日", "台積電", "年度保養", "120000", None, date(2027, 1, 1),
     date(2027, 12, 31)),
])
def test_one_message_form(text: str, customer: str, title: str, value: str, currency: str | None, start: date,
                          end: date) -> None:
    line = parse_line(text, NOW)
    assert (line.customer, line.title, line.value, line.currency, line.starts_on, line.ends_on) == (
        customer, title, Decimal(value), currency, start, end)


@pytest.mark.parametrize(("text", "key"), [
    ("", "contracts.error_no_customer"),
    ("台積電 維護合約 NT$120000", "contracts.error_no_term"),
    ("台積電 維護合約 2027-01-01 to 2027-12-31", "contracts.error_no_value"),
    ("台積電 120000 2027-01-01 to 2027-12-31", "contracts.error_title"),
])
def test_what_is_missing_is_named(text: str, key: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_line(text, NOW)
    assert refused.value.key == key


def test_value_and_day() -> None:
    assert parse_value("120,000") == (Decimal("120000"), None)
    assert parse_value("USD 5000") == (Decimal("5000"), "USD")
    assert parse_value("5000 usd") == (Decimal("5000"), "USD")
    assert parse_value("50萬") == (Decimal("500000"), None)
    assert parse_value("3.5万元") == (Decimal("35000"), None)
    assert parse_value("NT$12千") == (Decimal("12000"), "TWD")
    for bad in ("", "abc", "12 34", "5000 XYZ"):
        with pytest.raises(ValidationFailed):
            parse_value(bad)
    assert parse_day("明年1月1日", NOW) == date(2027, 1, 1)
    assert parse_day("下週一", NOW) == date(2026, 12, 7)
    assert parse_day("2027/3/1", NOW) == date(2027, 3, 1)
    for bad in ("", "soon", "12345"):
        with pytest.raises(ValidationFailed):
            parse_day(bad, NOW)


@given(st.text(max_size=80))
def test_any_text_is_a_line_or_a_named_refusal(text: str) -> None:
    try:
        parse_line(text, NOW)
    except ValidationFailed as exc:
        assert exc.key.startswith("contracts.error_")


def test_reminder_moment() -> None:
    now = datetime(2026, 11, 26, 2, tzinfo=UTC)  # Thursday 10:00 in Taipei
    due = remind_at(date(2027, 1, 31), 30, "Asia/Taipei", now)
    assert due is not None and due.isoformat() == "2027-01-01T09:00:00+08:00"
    due = remind_at(date(2027, 1, 31), 30, "America/New_York", now)
    assert due is not None and due.isoformat() == "2027-01-01T09:00:00-05:00"
    # a weekend moves it to the Friday before
    due = remind_at(date(2027, 2, 9), 30, "Asia/Taipei", now)
    assert due is not None and due.date() == date(2027, 1, 8)
    # past already: now when inside working hours on a weekday, else the next working morning
    assert remind_at(date(2026, 12, 1), 30, "Asia/Taipei", now) == now.astimezone(ZoneInfo("Asia/Taipei"))
    evening = datetime(2026, 11, 27, 12, tzinfo=UTC)  # Friday 20:00 in Taipei
    due = remind_at(date(2026, 12, 10), 30, "Asia/Taipei", evening)
    assert due is not None and due.isoformat() == "2026-11-30T09:00:00+08:00"
    assert remind_at(date(2026, 11, 25), 30, "Asia/Taipei", now) is None  # already ended


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"), ("..", "file"), ("合約 v1.pdf", "合約_v1.pdf"), ("a\x00b\u202e.pdf", "ab.pdf"),
    ("C:\\Users\\x\\scan.jpg", "scan.jpg"), ("", "file"),
])
def test_file_names_are_made_safe(name: str, safe: str) -> None:
    assert safe_name(name) == safe


@given(st.text(max_size=300))
def test_any_file_name_stays_in_the_folder(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned and "/" not in cleaned and "\\" not in cleaned and not cleaned.startswith(".")
    assert len(cleaned) <= NAME_LIMIT
