"""Words shaped like a date or time that name none are recognised as such, so /log can say which words it could
not read and keep them out of the follow-up's text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.core.natural_dates import parse_when_prefix, unreadable_when_prefix
from crm.followups.log_parser import parse_log

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))


@pytest.mark.parametrize(("text", "words", "rest"), [
    ("31 Feb call", "31 Feb", "call"), ("Feb 31 call", "Feb 31", "call"), ("2月31日 call", "2月31日", "call"),
    ("2月30號打電話", "2月30號", "打電話"), ("in -3 days call", "in -3 days", "call"),
    ("in 9999 years call", "in 9999 years", "call"), ("2026-02-31, call", "2026-02-31", "call"),
    ("25:00 call", "25:00", "call"), ("9999年後 打电话", "9999年後", "打电话"),
])
def test_impossible_dates_are_date_like(text: str, words: str, rest: str) -> None:
    assert parse_when_prefix(text, NOW) is None
    assert unreadable_when_prefix(text) == (words, rest)


@pytest.mark.parametrize("text", ["call the boss", "3 people came", "send quote", "打電話", ""])
def test_ordinary_words_are_not(text: str) -> None:
    assert unreadable_when_prefix(text) is None


def test_the_log_keeps_the_unreadable_words_out_of_the_next_step() -> None:
    parsed = parse_log("王小明 visited next: 31 Feb call", NOW)
    assert parsed.has_next and parsed.next_when is None
    assert (parsed.next_unreadable, parsed.next_text) == ("31 Feb", "call")
    parsed = parse_log("王小明 visited next: call him", NOW)
    assert (parsed.next_unreadable, parsed.next_text) == ("", "call him")


@given(st.text(max_size=60))
def test_never_raises_and_the_words_are_from_the_text(text: str) -> None:
    found = unreadable_when_prefix(text)
    if found is not None:
        assert found[0] and found[0] in text
