import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.messaging.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsSegments,
    TemplateError,
    count_segments,
    non_gsm_characters,
    render_template,
    sms_encoding,
    template_placeholders,
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello, see you at 3pm!", "GSM-7"),
        ("Price: 12€ [net] {tax} ~ ^ | \\", "GSM-7"),
        ("Ça coûte 5 £ à Genève", "UCS-2"),  # û is not GSM-7
        ("Çà Ñ ß Δ Ω ¿¡ §", "GSM-7"),
        ("ç", "UCS-2"),  # only the capital is in the GSM-7 table
        ("王先生您好", "UCS-2"),
        ("Hello 你好", "UCS-2"),
        ("OK 👍", "UCS-2"),
        ("It’s", "UCS-2"),  # a curly apostrophe is enough
        ("", "GSM-7"),
    ],
)
def test_encoding(text: str, encoding: str) -> None:
    assert sms_encoding(text) == encoding
    assert count_segments(text).encoding == encoding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsSegments("GSM-7", 0, 0, 160, 160)),
        ("a", SmsSegments("GSM-7", 1, 1, 160, 159)),
        ("a" * 160, SmsSegments("GSM-7", 160, 1, 160, 0)),
        ("a" * 161, SmsSegments("GSM-7", 161, 2, 153, 145)),
        ("a" * 306, SmsSegments("GSM-7", 306, 2, 153, 0)),
        ("a" * 307, SmsSegments("GSM-7", 307, 3, 153, 152)),
        # extension characters take two septets
        ("{}", SmsSegments("GSM-7", 4, 1, 160, 156)),
        ("€" * 80, SmsSegments("GSM-7", 160, 1, 160, 0)),
        ("€" * 81, SmsSegments("GSM-7", 162, 2, 153, 143)),  # 76 per segment, then 5
        # an escape sequence is never split across segments: 152 + (2 + 151) + 1
        ("a" * 152 + "€" + "a" * 152, SmsSegments("GSM-7", 306, 3, 153, 152)),
        # UCS-2
        ("你" * 70, SmsSegments("UCS-2", 70, 1, 70, 0)),
        ("你" * 71, SmsSegments("UCS-2", 71, 2, 67, 63)),
        ("你" * 134, SmsSegments("UCS-2", 134, 2, 67, 0)),
        ("你" * 135, SmsSegments("UCS-2", 135, 3, 67, 66)),
        # emoji outside the BMP are two UTF-16 code units and are not split either
        ("😀" * 35, SmsSegments("UCS-2", 70, 1, 70, 0)),
        ("😀" * 36, SmsSegments("UCS-2", 72, 2, 67, 61)),  # 33 per segment, then 3
        ("a" * 66 + "😀" + "a", SmsSegments("UCS-2", 69, 1, 70, 1)),
        ("a" * 66 + "😀" + "a" * 2, SmsSegments("UCS-2", 70, 1, 70, 0)),
        ("a" * 66 + "😀" + "a" * 3, SmsSegments("UCS-2", 71, 2, 67, 62)),  # 66, then 2 + 3
        # one Chinese character turns a GSM text into UCS-2
        ("Your order ships today" + "。", SmsSegments("UCS-2", 23, 1, 70, 47)),
    ],
)
def test_count_segments(text: str, expected: SmsSegments) -> None:
    assert count_segments(text) == expected


def test_typical_chinese_reminder_is_one_segment() -> None:
    text = "【業務通】王先生您好，提醒您明天下午3點與陳經理會面，地點：台北市信義區松仁路100號。回覆退訂取消"
    result = count_segments(text)
    assert result.encoding == "UCS-2"
    assert result.segments == 1
    assert result.characters == len(text)


def test_non_gsm_characters_points_out_the_culprits_once_each() -> None:
    assert non_gsm_characters("Café ’quoted’ 你好, 你") == ["’", "你", "好"]
    assert non_gsm_characters("plain [text] €") == []


def test_tables_are_disjoint_and_complete() -> None:
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert len(GSM7_BASIC) == 127  # 128 codes less the escape
    assert len(GSM7_EXTENSION) == 10


@given(st.text())
def test_count_segments_is_consistent_for_any_text(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == ("GSM-7" if not non_gsm_characters(text) else "UCS-2")
    assert 0 <= result.remaining_in_segment <= result.per_segment
    if result.characters == 0:
        assert result.segments == 0
    else:
        # never fewer segments than plain division, at most one more per escape/surrogate split
        assert result.segments >= math.ceil(result.characters / result.per_segment)
        assert result.segments * result.per_segment >= result.characters
    if result.encoding == "UCS-2":
        assert result.characters == len(text.encode("utf-16-le")) // 2


# templates


def test_render_fills_placeholders() -> None:
    assert render_template("Hi {name}, see you {when}.", {"name": "Ann", "when": "Tue"}) == "Hi Ann, see you Tue."


def test_braces_in_values_are_not_interpreted() -> None:
    assert render_template("Hi {name}", {"name": "{when} {0} {"}) == "Hi {when} {0} {"


@pytest.mark.parametrize(
    "template",
    ["Price {", "}", "{}", "{1}", '{"a": 1}', "{ }", "{{", "a {-x} b", "{na me}"],
)
def test_braces_that_are_not_placeholders_stay_as_they_are(template: str) -> None:
    assert render_template(template, {}) == template


def test_spaces_inside_braces_and_chinese_names() -> None:
    values = {"name": "王小明", "姓名": "陳大文"}
    assert render_template("{ name } / {姓名}您好", values) == "王小明 / 陳大文您好"


def test_unknown_placeholders_are_listed() -> None:
    with pytest.raises(TemplateError) as info:
        render_template("Hi {nmae}, {when} at {place}", {"name": "Ann", "when": "Tue"})
    assert info.value.unknown == ("nmae", "place")
    assert info.value.missing == ()
    message = str(info.value)
    assert "{nmae}" in message and "{place}" in message
    assert "Available: {name}, {when}" in message


def test_allowed_fields_separate_typos_from_missing_values() -> None:
    with pytest.raises(TemplateError) as info:
        render_template("{name} of {company} {compnay}", {"name": "Ann"}, allowed={"name", "company", "phone"})
    assert info.value.unknown == ("compnay",)
    assert info.value.missing == ("company",)
    assert "unknown placeholder(s) {compnay}" in str(info.value)
    assert "no value for {company}" in str(info.value)


def test_template_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="SMS template"):
        render_template("{x}", {})


def test_placeholders_listed_once_in_order() -> None:
    assert template_placeholders("{b} {a} {b} {} {1} {姓名}") == ("b", "a", "姓名")


@given(st.text(), st.dictionaries(st.text(min_size=1, max_size=5), st.text(), max_size=5))
def test_render_never_fails_unexpectedly(template: str, values: dict[str, str]) -> None:
    try:
        rendered = render_template(template, values)
    except TemplateError as exc:
        assert exc.unknown
    else:
        if not template_placeholders(template):
            assert rendered == template


@given(
    st.lists(st.sampled_from(["{a}", "{b}", "{", "}", "{}", " ", "1"]), max_size=20),
    st.text(alphabet="0123 你好"),
)
def test_render_with_all_values_substitutes_every_placeholder(parts: list[str], value: str) -> None:
    template = "".join(parts)
    rendered = render_template(template, {"a": value, "b": value + "!"})
    assert rendered == template.replace("{a}", value).replace("{b}", value + "!")
