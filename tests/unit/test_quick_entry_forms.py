"""The one-line form as people type it: fields recognised wherever they stand, whatever separates them, and every
character of the input accounted for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.customers.quick_entry import SEPARATORS, is_one_line_form, parse_line


def test_spaces_only_between_name_phone_email_and_region() -> None:
    entry = parse_line("李大華 0922333444 lee@example.com 高雄", regions=True)
    assert (entry.name, entry.phones, entry.email, entry.region) == (
        "李大華", ("0922333444",), "lee@example.com", "高雄")
    assert entry.guessed


def test_commas_and_an_international_number_with_spaces() -> None:
    entry = parse_line("Globex Corp, +1 415 555 0100, sales@globex.com", regions=True)
    assert (entry.name, entry.phones, entry.email) == ("Globex Corp", ("+1 415 555 0100",), "sales@globex.com")


def test_a_lead_with_name_and_phone() -> None:
    entry = parse_line("路人甲 0955666777")
    assert (entry.name, entry.phones) == ("路人甲", ("0955666777",))


@pytest.mark.parametrize("region", ["高雄", "台北", "臺北", "新竹", "上海", "北京", "广州", "廣州", "台北市", "高雄市",
                                    "广东省", "Taipei", "hong kong"])
def test_known_regions_in_either_script_wherever_they_stand(region: str) -> None:
    entry = parse_line(f"{region}、王小明、0912345678", regions=True)
    assert (entry.name, entry.region) == ("王小明", region)
    entry = parse_line(f"王小明，{region}；#vip", regions=True)
    assert (entry.name, entry.region, entry.tags) == ("王小明", region, ("vip",))


def test_a_region_inside_a_name_is_part_of_the_name() -> None:
    entry = parse_line("高雄醫學大學 0912345678", regions=True)
    assert (entry.name, entry.region) == ("高雄醫學大學", None)


def test_a_region_alone_is_the_name() -> None:
    assert parse_line("上海", regions=True).name == "上海"
    assert parse_line("上海 0912345678", regions=True).name == "上海"


def test_regions_only_when_asked_for() -> None:
    entry = parse_line("王小明 上海 0912345678")
    assert (entry.name, entry.region) == ("王小明 上海", None)


def test_full_width_separators_between_everything() -> None:
    entry = parse_line("王小明，0912-345-678、buyer@x.com；#vip", regions=True)
    assert (entry.name, entry.phones, entry.email, entry.tags) == ("王小明", ("0912-345-678",), "buyer@x.com", ("vip",))


def test_two_numbers_with_only_a_space_between_them() -> None:
    assert parse_line("王 0912345678 0922333444").phones == ("0912345678", "0922333444")


def test_punctuation_inside_the_name_stays() -> None:
    assert parse_line("Acme, Inc., 0912345678").name == "Acme, Inc."


def test_the_semicolon_form_is_not_a_guess() -> None:
    assert not parse_line("台積電; 02-2345-6789; buyer@tsmc.com; #vip").guessed


def test_a_short_number_in_a_name_is_not_a_phone() -> None:
    entry = parse_line("7-Eleven 123 store", regions=True)
    assert (entry.name, entry.phones) == ("7-Eleven 123 store", ())


def test_forms_with_a_region_count_as_forms() -> None:
    assert is_one_line_form("台積電 新竹", regions=True)
    assert not is_one_line_form("台積電 新竹")
    assert not is_one_line_form("新竹", regions=True)


_pieces = st.sampled_from(["李大華", "Globex Corp", "0922333444", "+1 415 555 0100", "lee@example.com", "#vip",
                           "＃客戶", "高雄", "臺北市", "上海", "Taipei", " ", ",", "，", "、", ";", "；", "\n", "7-11",
                           "(02)2345-6789", "a@b", "##", "+", "tel:", "電話：", "/"])


@given(st.one_of(st.text(max_size=200), st.lists(_pieces, max_size=15).map("".join)), st.booleans())
def test_every_character_is_in_exactly_one_field_or_is_a_separator(text: str, regions: bool) -> None:
    entry = parse_line(text, regions=regions)
    owner: list[str | None] = [None] * len(text)
    for field, start, end in entry.spans:
        assert 0 <= start < end <= len(text)
        for i in range(start, end):
            assert owner[i] is None, f"{text!r}: {i} in two fields"
            owner[i] = field
    for i, ch in enumerate(text):
        assert owner[i] is not None or ch in SEPARATORS, f"{text!r}: {ch!r} at {i} was dropped"
    texts = {f: [text[a:b] for g, a, b in entry.spans if g == f] for f, _, _ in entry.spans}
    assert list(entry.phones) == list(dict.fromkeys(texts.get("phone", [])))
    assert [t[1:] for t in texts.get("tag", [])][: len(entry.tags)] or not entry.tags
    assert (entry.email, *entry.extra_emails) == tuple(texts["email"]) if entry.email else "email" not in texts
    assert entry.region == (texts["region"][0] if "region" in texts else None)
    for field, value in (("name", entry.name), ("second", entry.second)):
        assert value == (" ".join(texts[field]) if field in texts else None)
