"""The one-line form: parts recognised by what they look like, in any order, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crm.customers.quick_entry import is_one_line_form, parse_line


def test_the_documented_example() -> None:
    entry = parse_line("台積電; 02-2345-6789; buyer@tsmc.com; #vip #semis")
    assert entry.name == "台積電"
    assert entry.phones == ("02-2345-6789",)
    assert entry.email == "buyer@tsmc.com"
    assert entry.tags == ("vip", "semis")
    assert entry.second is None and entry.notes is None


def test_order_does_not_matter_and_full_width_separators_work() -> None:
    entry = parse_line("#vip buyer@tsmc.com；0912-345-678，02 2345 6789；台積電；新竹市東區")
    assert entry.name == "台積電"
    assert entry.phones == ("0912-345-678", "02 2345 6789")
    assert entry.email == "buyer@tsmc.com"
    assert entry.tags == ("vip",)
    assert entry.second == "新竹市東區"


def test_several_phones_in_one_part_and_a_phone_label() -> None:
    entry = parse_line("Acme Ltd; Tel: +1 415 555 0100 / +1 415 555 0101")
    assert entry.phones == ("+1 415 555 0100", "+1 415 555 0101")
    assert parse_line("王小明; 電話：0912345678").phones == ("0912345678",)


def test_tags_anywhere_and_with_full_width_hash() -> None:
    entry = parse_line("Acme #a, ＃b; 0912345678 #c")
    assert entry.name == "Acme"
    assert entry.tags == ("a", "b", "c")
    assert entry.phones == ("0912345678",)


def test_an_email_inside_a_part_with_text_leaves_the_text() -> None:
    entry = parse_line("Bob Lee bob@lee.io; 上海")
    assert entry.name == "Bob Lee"
    assert entry.email == "bob@lee.io"
    assert entry.second == "上海"


def test_extra_plain_parts_become_notes_and_extra_emails_are_kept() -> None:
    entry = parse_line("Acme; Main St 1; met at fair; likes tea; a@acme.com b@acme.com")
    assert (entry.name, entry.second, entry.notes) == ("Acme", "Main St 1", "met at fair; likes tea")
    assert entry.email == "a@acme.com" and entry.extra_emails == ("b@acme.com",)


def test_a_name_with_a_few_digits_is_not_a_phone() -> None:
    assert parse_line("3M Taiwan; 7-Eleven 123").phones == ()
    assert parse_line("3M Taiwan; 7-Eleven 123").name == "3M Taiwan"


def test_what_counts_as_the_whole_form() -> None:
    assert not is_one_line_form("台積電")
    assert not is_one_line_form("Acme Trading Co")
    assert is_one_line_form("台積電; 新竹")
    assert is_one_line_form("台積電 0912345678")  # a number after the name, with only a space between
    assert is_one_line_form("台積電 #vip")
    assert is_one_line_form("buyer@tsmc.com")


def test_empty_and_separator_only_input() -> None:
    assert parse_line("").is_empty
    assert parse_line(" ;；\n ; ").is_empty
    assert parse_line("#").is_empty


@given(st.text(max_size=300))
def test_any_text_parses_without_error_and_loses_no_phone(text: str) -> None:
    entry = parse_line(text)
    for phone in entry.phones:
        assert phone in text
    if entry.email:
        assert entry.email in text
    assert all(tag and "#" not in tag for tag in entry.tags)
