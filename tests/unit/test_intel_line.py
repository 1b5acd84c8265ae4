"""What one message of intel is read as: the competitor (known names first, quoted, else the first word), the
customer after @, the price with its currency, and the kind, in the three languages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.competitors.competitors import quarter_of, similar
from crm.competitors.intel_line import parse_intel, price_of, seen_on
from crm.competitors.model import IntelKind, WinLoss

KNOWN = ["Acme Printers", "大同", "Globex"]


def test_a_known_name_of_several_words_is_taken_whole_in_any_case_and_width() -> None:
    line = parse_intel("ＡＣＭＥ printers X200 now NT$12,900 @台積電", KNOWN)
    assert line is not None
    assert line.competitor == "Acme Printers" and line.customer == "台積電"
    assert line.text == "X200 now NT$12,900" and line.price == Decimal(12900) and line.currency == "TWD"
    assert line.kind is IntelKind.PRICE


def test_a_cjk_name_needs_no_space_after_it() -> None:
    line = parse_intel("大同冷氣全面八折", KNOWN)
    assert line is not None and line.competitor == "大同" and line.text == "冷氣全面八折"
    assert line.kind is IntelKind.PROMOTION


@pytest.mark.parametrize(("text", "competitor", "kind"), [
    ("Initech booth at the trade show in Taipei", "Initech", IntelKind.ACTIVITY),
    ("\"Foo Bar Ltd\" flyer: buy one get one", "Foo Bar Ltd", IntelKind.PROMOTION),
    ("「聲寶」 参加展会", "聲寶", IntelKind.ACTIVITY),
    ("Globex hired our old sales manager", "Globex", IntelKind.OTHER),
    ("Globex 报价 USD 35 每台", "Globex", IntelKind.PRICE),
])
def test_names_and_kinds(text: str, competitor: str, kind: IntelKind) -> None:
    line = parse_intel(text, KNOWN)
    assert line is not None and (line.competitor, line.kind) == (competitor, kind)


@pytest.mark.parametrize("text", ["", "   ", "Acme", "@台積電", "大同"])
def test_nothing_said_is_no_intel(text: str) -> None:
    assert parse_intel(text, KNOWN) is None


@pytest.mark.parametrize(("text", "found"), [
    ("now 1,200元", (Decimal(1200), None)), ("USD 35 each", (Decimal(35), "USD")), ("35 EUR", (Decimal(35), "EUR")),
    ("since 2025 cheaper", None), ("MRT 20", (Decimal(20), None)), ("no price", None), ("0 off", None),
    ("20% off all printers", None), ("8折 then 990", (Decimal(990), None)),
])
def test_prices(text: str, found: tuple[Decimal, str | None] | None) -> None:
    assert price_of(text) == found


def test_quarters_and_win_rates() -> None:
    from datetime import date
    assert quarter_of(date(2026, 11, 26)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert quarter_of(date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 4, 1))
    assert quarter_of(date(2026, 9, 30)) == (date(2026, 7, 1), date(2026, 10, 1))
    assert WinLoss(date(2026, 1, 1), date(2026, 4, 1), 2, 1, 1).win_rate == 67
    assert WinLoss(date(2026, 1, 1), date(2026, 4, 1), 0, 0, 0).win_rate is None


def test_similar_names() -> None:
    names = [(1, "Acme Printers"), (2, "大同"), (3, "Globex")]
    assert similar("acme", names) == [(1, "Acme Printers")]
    assert similar("大同公司", names) == [(2, "大同")]
    assert similar("Zeta", names) == []


THURSDAY = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))


@pytest.mark.parametrize(("text", "seen"), [
    ("yesterday at the expo they quoted 1200", date(2026, 11, 25)),
    ("上週五 展覽 報價 1200元", date(2026, 11, 20)),
    ("前天 新竹店 冷氣特價", date(2026, 11, 24)),
    ("上周五 展会", date(2026, 11, 20)),
    ("new model X-200 launched on Monday", date(2026, 11, 23)),  # the last Monday, not the next
    ("星期五 發傳單", date(2026, 11, 20)),
    ("price 35 USD on 11/20", date(2026, 11, 20)),  # this year's 20 November, not next year's
    ("Nov 3 expo", date(2026, 11, 3)),
    ("2026-11-02 展覽", date(2026, 11, 2)),
    ("quoted 18900 last week", date(2026, 11, 16)),
    ("新竹店 冷氣 NT$18,900 滿萬送千", None),  # a price is not a date
    ("promo until next friday", None),  # a day to come is not when it was seen
    ("買一送一 12月1日截止", None),
    ("明天開始特價", None),
])
def test_the_day_it_was_seen_is_read_from_the_text(text: str, seen: date | None) -> None:
    assert seen_on(text, THURSDAY) == seen
    line = parse_intel(f"大同 {text}", KNOWN, THURSDAY)
    assert line is not None and line.seen_on == seen and line.text == text  # the words stay in the text


def test_without_now_no_day_is_read() -> None:
    line = parse_intel("大同 yesterday 八折", KNOWN)
    assert line is not None and line.seen_on is None
