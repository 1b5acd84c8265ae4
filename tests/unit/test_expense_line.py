"""The one-message expense form in the three languages, and that no text makes it crash."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.expenses.line import parse_line
from crm.expenses.model import DEFAULT_CATEGORIES, Category

NOW = datetime(2026, 11, 5, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))
CATEGORIES = [Category(i, str(v["key"]), str(v["name"]), str(v["name_zh_hant"]), str(v["name_zh_hans"]),
                       str(v["words"]), int(str(v["sequence"]))) for i, v in enumerate(DEFAULT_CATEGORIES, 1)]


def test_english_with_customer_category_word_and_date() -> None:
    line = parse_line("350 taxi @台積電 yesterday to the fab", NOW, CATEGORIES)
    assert line.amount == Decimal(350) and line.currency is None
    assert line.category is not None and line.category.key == "transport"
    assert line.customer == "台積電" and line.spent_on == date(2026, 11, 4) and line.note == "to the fab"


def test_traditional_chinese_with_currency_after_the_amount() -> None:
    line = parse_line("1,280.50 USD 晚餐 @Acme 前天 客戶餐敘", NOW, CATEGORIES)
    assert (line.amount, line.currency) == (Decimal("1280.50"), "USD")
    assert line.category is not None and line.category.key == "meals"
    assert line.customer == "Acme" and line.spent_on == date(2026, 11, 3) and line.note == "客戶餐敘"


def test_simplified_chinese_with_currency_first_and_the_category_name() -> None:
    line = parse_line("住宿 RMB 680 上周五", NOW, CATEGORIES)
    assert (line.amount, line.currency) == (Decimal(680), "CNY")
    assert line.category is not None and line.category.key == "lodging"
    assert line.spent_on == date(2026, 10, 30) and line.note is None and line.customer is None


def test_defaults_today_and_a_key_counts_as_a_category() -> None:
    line = parse_line("NT$120 gifts mooncakes", NOW, CATEGORIES)
    assert (line.amount, line.currency) == (Decimal(120), "TWD")
    assert line.category is not None and line.category.key == "gifts"
    assert line.spent_on == NOW.date() and line.note == "mooncakes"


def test_a_month_and_day_without_a_year_is_the_one_already_past() -> None:
    assert parse_line("90 parking 11/3", NOW, CATEGORIES).spent_on == date(2026, 11, 3)


def test_capital_words_are_not_currencies_and_no_category_is_none() -> None:
    line = parse_line("45 MRT card top-up", NOW, CATEGORIES)
    assert line.currency is None and line.category is not None and line.category.key == "transport"
    assert line.note == "card top-up"
    assert parse_line("45 stationery", NOW, CATEGORIES).category is None


def test_no_amount_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_line("taxi yesterday", NOW, CATEGORIES)
    assert caught.value.key == "expenses.error_no_amount"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_never_crashes(text: str) -> None:
    try:
        line = parse_line(text, NOW, CATEGORIES)
    except ValidationFailed:
        return
    assert line.amount >= 0 and line.spent_on <= date(2027, 12, 31)
