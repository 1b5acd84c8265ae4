"""Names as typed, shared and stored: invisible characters removed, a person's name in one order everywhere."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from crm.core.names import clean, family_first, name_orders, person_name
from crm.customers.customers import clean_text
from crm.customers.search_terms import fold, name_key, query_terms, record_terms


def test_invisible_and_bidirectional_characters_are_removed() -> None:
    assert clean("Ma\u200bry") == "Mary"
    assert clean("Vic\u200btim Co") == "Victim Co"
    assert clean("\u202eoc mitciV\u202c") == "oc mitciV"  # an override only reverses how it looks
    assert clean("A\u2066cme\u2069\u00ad Ltd\ufeff") == "Acme Ltd"
    assert clean("  ＡＣＭＥ\u3000 Trading\n\tCo ") == "ACME Trading Co"  # full width, ideographic space, tabs
    assert clean("王\u3164小明") == "王小明"  # a Hangul filler looks like nothing
    assert clean("\u200b\u200d") == ""
    assert clean_text("Ma\u200bry", "name") == "Mary" and fold("MA\u200bRY") == "mary"
    assert name_key("Vic\u200btim  Co") == name_key("victim co") == "=victim co"
    assert query_terms("Ma\u200bry") == query_terms("Mary")
    assert record_terms(names=("Ma\u2060ry",)) == record_terms(names=("Mary",))


@given(st.text())
def test_cleaned_text_holds_no_format_or_control_character(text: str) -> None:
    cleaned = clean(text)
    assert not any(unicodedata.category(ch) in ("Cf", "Cc", "Cs") for ch in cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert clean(cleaned) == cleaned
    assert not any(unicodedata.category(ch) == "Cf" for ch in fold(text))


def test_a_persons_name_is_family_first_for_cjk_and_first_last_otherwise() -> None:
    assert person_name("小明", "王") == "王小明"
    assert person_name("美玲", "林") == "林美玲"
    assert person_name("大文", "歐陽") == "歐陽大文"
    assert person_name("Ada", "Lovelace") == "Ada Lovelace"
    assert person_name("Amy", "林") == "Amy 林"  # mixed scripts: as typed
    assert person_name("小明", None) == "小明" and person_name(None, "Wang") == "Wang"
    assert person_name(" Ma\u200bry ", "") == "Mary"


def test_only_a_two_part_cjk_persons_name_is_turned_around() -> None:
    assert family_first("小明 王") == "王小明"
    assert family_first("美玲 林") == "林美玲"
    assert family_first("王小明") is None and family_first("Ming Wang") is None
    assert family_first("台積電 新竹") is None  # a company and its branch
    assert family_first("小明  王") is None and family_first("小 明 王") is None


def test_other_orders_of_a_name() -> None:
    assert name_orders("小明 王") == ("王小明", "小明王")
    assert name_orders("王 小明") == ("小明王", "王小明")
    assert "王小明" in name_orders("小明王")
    assert "歐陽大文" in name_orders("大文歐陽")
    assert name_orders("Ming Wang") == ("Wang Ming",)
    assert name_orders("王小明") == ("明王小", "小明王")
    assert name_orders("Acme") == () and name_orders("台積電新竹分公司") == () and name_orders("Acme Trading Co") == ()
