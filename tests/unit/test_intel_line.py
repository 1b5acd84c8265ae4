"""What one message of intel is read as: the competitor (known names first, quoted, else the first word), the
customer after @, the price with its currency, and the kind, in the three languages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.competitors.competitors import quarter_of, similar
from crm.competitors.intel_line import parse_intel, price_of
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
