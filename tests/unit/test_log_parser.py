"""The one-message /log form: customer readings, what happened, the next step and its time, in three languages."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.core.errors import ValidationFailed
from crm.customers.model import InteractionKind
from crm.followups.agenda import parse_agenda_time
from crm.followups.log_parser import Split, guess_kind, parse_log, split_next
from crm.followups.reminders import agenda_clock_time

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TAIPEI)  # a Thursday


def tp(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TAIPEI)


# (next part as typed after "Acme called next: ", expected due time, expected next text)
NEXT_FORMS = [
    ("tomorrow 3pm send the quote", tp(11, 27, 15), "send the quote"),
    ("next tuesday demo", tp(12, 1), "demo"),
    ("in 2 hours call again", tp(11, 26, 12), "call again"),
    ("in 3 days visit", tp(11, 29), "visit"),
    ("明天下午3點 送報價", tp(11, 27, 15), "送報價"),
    ("下週二 拜訪", tp(12, 1), "拜訪"),
    ("3天後 回電", tp(11, 29), "回電"),
    ("後天上午10點 開會", tp(11, 28, 10), "開會"),
    ("下周一上午9点 打电话", tp(11, 30, 9), "打电话"),
    ("12月3日 14:00 报价", tp(12, 3, 14), "报价"),
    ("2026-12-03T14:00 send contract", tp(12, 3, 14), "send contract"),
    ("2026-12-03 14:00", tp(12, 3, 14), ""),
    ("明天下午3點送報價", tp(11, 27, 15), "送報價"),
]


@pytest.mark.parametrize(("tail", "due", "what"), NEXT_FORMS)
def test_next_step_forms(tail: str, due: datetime, what: str) -> None:
    parsed = parse_log(f"Acme called about pricing next: {tail}", NOW)
    assert parsed.has_next and parsed.next_when is not None
    assert parsed.next_when.at == due and parsed.next_when.at.utcoffset() == due.utcoffset()
    assert parsed.next_text == what
    assert parsed.splits[-1] == Split("Acme", "called about pricing")


@pytest.mark.parametrize("marker", ["next:", "Next:", "NEXT :", "下次:", "下次：", "下一步：", "->", "→", "next："])
def test_every_marker_splits_off_the_next_step(marker: str) -> None:
    parsed = parse_log(f"王大明 拜訪，談報價 {marker} 明天下午3點 送報價", NOW)
    assert parsed.has_next and parsed.next_when is not None and parsed.next_when.at == tp(11, 27, 15)
    assert parsed.next_text == "送報價"
    assert Split("王大明", "拜訪，談報價") in parsed.splits


def test_marker_needs_to_be_a_word() -> None:
    assert split_next("Connext: called") == ("Connext: called", None)
    assert split_next("called, next: tomorrow") == ("called,", "tomorrow")


def test_word_readings_longest_first_and_new_name_is_the_first_word() -> None:
    parsed = parse_log("Acme Trading called about the order", NOW)
    assert [s.name for s in parsed.splits] == ["Acme Trading called about", "Acme Trading called", "Acme Trading",
                                               "Acme"]
    assert parsed.splits[2].text == "called about the order"
    assert not parsed.explicit and not parsed.has_next and parsed.next_when is None
    assert parsed.new_name == Split("Acme", "Trading called about the order")
    assert parsed.kind is InteractionKind.CALL


@pytest.mark.parametrize(("text", "name", "what"), [
    ('"Acme Trading" met the buyer', "Acme Trading", "met the buyer"),
    ("“Acme Trading” met the buyer", "Acme Trading", "met the buyer"),
    ("「王大明工業」 拜訪", "王大明工業", "拜訪"),
    ("『王記』微信聯繫", "王記", "微信聯繫"),
    ("Acme Trading: called at 3:30", "Acme Trading", "called at 3:30"),
    ("王大明工業：來電詢價", "王大明工業", "來電詢價"),
])
def test_quoted_or_colon_names_are_taken_exactly(text: str, name: str, what: str) -> None:
    parsed = parse_log(text, NOW)
    assert parsed.explicit and parsed.splits == (Split(name, what),)
    assert parsed.new_name == Split(name, what)


def test_a_time_colon_does_not_end_the_name() -> None:
    parsed = parse_log("Acme called at 3:30", NOW)
    assert not parsed.explicit and parsed.splits[-1] == Split("Acme", "called at 3:30")


def test_chinese_without_a_space_offers_leading_characters() -> None:
    parsed = parse_log("王大明拜訪了 下次: 3天後 回電", NOW)
    names = [s.name for s in parsed.splits]
    assert names[0] == "王大明拜訪了"
    assert names.index("王大明") < names.index("王大")
    assert Split("王大明", "拜訪了") in parsed.splits
    assert parsed.kind is InteractionKind.VISIT
    assert parsed.next_when is not None and parsed.next_when.at == tp(11, 29) and parsed.next_text == "回電"


def test_simplified_chinese_log() -> None:
    parsed = parse_log("王芳 电话沟通报价 下周一上午9点 打电话", NOW)
    assert parsed.splits[-1].name == "王芳" and parsed.kind is InteractionKind.CALL and not parsed.has_next
    parsed = parse_log("王芳 电话沟通报价 下次：下周一上午9点 打电话", NOW)
    assert parsed.next_when is not None and parsed.next_when.at == tp(11, 30, 9) and parsed.next_text == "打电话"


def test_no_customer_and_only_a_next_step() -> None:
    empty = parse_log("", NOW)
    assert empty.splits == () and not empty.has_next and empty.new_name is None
    only_next = parse_log("next: tomorrow", NOW)
    assert only_next.splits == () and only_next.next_when is not None and only_next.next_when.at == tp(11, 27)


def test_unreadable_next_time_keeps_the_text() -> None:
    parsed = parse_log("Acme called next: someday send it", NOW)
    assert parsed.has_next and parsed.next_when is None and parsed.next_raw == "someday send it"


@pytest.mark.parametrize(("text", "kind"), [
    ("called to set up a meeting", InteractionKind.CALL),
    ("lunch with the buyer, then called", InteractionKind.MEETING),
    ("emailed the catalogue", InteractionKind.EMAIL),
    ("visited the factory", InteractionKind.VISIT),
    ("sent a LINE message", InteractionKind.MESSAGE),
    ("拜訪王總，談了報價", InteractionKind.VISIT),
    ("微信聊了交期", InteractionKind.MESSAGE),
    ("寄了郵件", InteractionKind.EMAIL),
    ("开会讨论合同", InteractionKind.MEETING),
    ("the production line stopped", None),
    ("Callaway golf order", None),
])
def test_kind_guess(text: str, kind: InteractionKind | None) -> None:
    assert guess_kind(text) is kind


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    parsed = parse_log(text, NOW)
    for split in parsed.splits:
        assert split.name and split.name == split.name.strip()
    if parsed.next_when is not None:
        assert parsed.next_when.at.tzinfo is not None


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["Acme", "王大明", "called", "拜訪", "next:", "下次：", "->", "tomorrow", "3pm",
                                 "明天", "下午3點", '"', "「", ":", "：", " ", "12月3日", "14:00"]), max_size=12))
def test_never_raises_on_plausible_pieces(pieces: list[str]) -> None:
    parse_log(" ".join(pieces), NOW)
    parse_log("".join(pieces), NOW)


@pytest.mark.parametrize(("text", "stored"), [
    ("8:30", "08:30"), ("08:30", "08:30"), ("7", "07:00"), ("21.15", "21:15"), ("１８：０５", "18:05"),
    ("off", "off"), ("OFF", "off"), ("關閉", "off"), ("关闭", "off"),
])
def test_agenda_time(text: str, stored: str) -> None:
    assert parse_agenda_time(text) == stored


@pytest.mark.parametrize("text", ["25:00", "8:60", "soon", "", "8:3"])
def test_agenda_time_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_agenda_time(text)


def test_stored_agenda_time() -> None:
    assert agenda_clock_time(None) == time(8, 30)
    assert agenda_clock_time("off") is None
    assert agenda_clock_time("07:15") == time(7, 15)
    assert agenda_clock_time("garbage") == time(8, 30)
