import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.messaging.sms_keywords import (
    KeywordIntent,
    KeywordKind,
    classify_inbound,
    help_reply,
    normalize_sms_locale,
    opt_out_footer,
)
from crm.messaging.sms_text import count_segments

OUT, IN, HELP, NONE = KeywordKind.OPT_OUT, KeywordKind.OPT_IN, KeywordKind.HELP, KeywordKind.NONE


@pytest.mark.parametrize(
    ("body", "kind", "keyword"),
    [
        # English opt-out, any case, surrounding whitespace / punctuation / symbols
        ("STOP", OUT, "STOP"),
        ("stop", OUT, "STOP"),
        ("Stop.", OUT, "STOP"),
        ("stop!", OUT, "STOP"),
        ("  STOP \n", OUT, "STOP"),
        ('"STOP"', OUT, "STOP"),
        ("¡STOP!", OUT, "STOP"),
        ("STOP 😡", OUT, "STOP"),
        ("STOPALL", OUT, "STOPALL"),
        ("unsubscribe", OUT, "UNSUBSCRIBE"),
        ("Cancel", OUT, "CANCEL"),
        ("end", OUT, "END"),
        ("QUIT", OUT, "QUIT"),
        ("revoke", OUT, "REVOKE"),
        ("optout", OUT, "OPTOUT"),
        ("Opt-Out", OUT, "OPTOUT"),
        ("OPT_OUT", OUT, "OPTOUT"),
        # full width and other compatibility forms (NFKC)
        ("ＳＴＯＰ", OUT, "STOP"),
        ("ｓｔｏｐ！", OUT, "STOP"),
        ("ＴＤ", OUT, "TD"),
        # Chinese opt-out
        ("退訂", OUT, "退訂"),
        ("退订", OUT, "退订"),
        ("退訂。", OUT, "退訂"),
        ("退订！", OUT, "退订"),
        ("「退訂」", OUT, "退訂"),
        (" 取消訂閱 ", OUT, "取消訂閱"),
        ("取消订阅", OUT, "取消订阅"),
        ("TD", OUT, "TD"),
        ("td", OUT, "TD"),
        ("Td.", OUT, "TD"),
        # single letters: only the bare letter
        ("T", OUT, "T"),
        ("t", OUT, "T"),
        (" N\n", OUT, "N"),
        ("Ｎ", OUT, "N"),
        ("T.", NONE, None),
        ("N!", NONE, None),
        ("Y", NONE, None),
        # opt-in
        ("START", IN, "START"),
        ("start", IN, "START"),
        ("Yes", IN, "YES"),
        ("YES!", IN, "YES"),
        ("unstop", IN, "UNSTOP"),
        ("SUBSCRIBE", IN, "SUBSCRIBE"),
        ("join", IN, "JOIN"),
        ("JOIN !!!", IN, "JOIN"),
        ("訂閱", IN, "訂閱"),
        ("订阅", IN, "订阅"),
        ("ｓｔａｒｔ", IN, "START"),
        # help
        ("HELP", HELP, "HELP"),
        ("help?", HELP, "HELP"),
        ("Info", HELP, "INFO"),
        ("幫助", HELP, "幫助"),
        ("帮助", HELP, "帮助"),
        ("ＨＥＬＰ", HELP, "HELP"),
        # not keywords: more than one word, or a keyword inside other text
        ("please stop texting me", NONE, None),
        ("STOP PLEASE", NONE, None),
        ("PLEASE CANCEL", NONE, None),
        ("stop stop", NONE, None),
        ("don't stop", NONE, None),
        ("stopped", NONE, None),
        ("STOPP", NONE, None),
        ("S T O P", NONE, None),
        ("我要退訂", NONE, None),
        ("請幫我退订", NONE, None),
        ("退訂了嗎", NONE, None),
        ("yes please call me", NONE, None),
        ("Tomorrow at 3", NONE, None),
        ("", NONE, None),
        ("   ", NONE, None),
        ("!!!", NONE, None),
        ("😀", NONE, None),
        ("TT", NONE, None),
        ("NO", NONE, None),
    ],
)
def test_classify(body: str, kind: KeywordKind, keyword: str | None) -> None:
    intent = classify_inbound(body)
    assert (intent.kind, intent.keyword) == (kind, keyword)
    if kind is not IN:
        assert intent.topic is None


@pytest.mark.parametrize(
    ("body", "keyword", "topic"),
    [
        ("JOIN deals", "JOIN", "deals"),
        ("join Deals!", "JOIN", "deals"),
        ("SUBSCRIBE NEWS", "SUBSCRIBE", "news"),
        ("ＪＯＩＮ　ＤＥＡＬＳ", "JOIN", "deals"),  # full-width letters and ideographic space
        ("訂閱 週報", "訂閱", "週報"),
        ("订阅 周报。", "订阅", "周报"),
    ],
)
def test_opt_in_with_topic(body: str, keyword: str, topic: str) -> None:
    assert classify_inbound(body) == KeywordIntent(IN, topic=topic, keyword=keyword)


@pytest.mark.parametrize(
    "body",
    [
        "START deals",  # only JOIN / SUBSCRIBE take a topic
        "STOP deals",  # a two-word STOP is not an opt-out (Twilio does not block on it either)
        "JOIN the deals",
        "訂閱週報",  # no separator: could be any sentence starting with 訂閱
    ],
)
def test_not_a_topic_opt_in(body: str) -> None:
    assert classify_inbound(body).kind is NONE


def test_single_letters_can_be_switched_off() -> None:
    assert classify_inbound("T", single_letter_opt_out=False).kind is NONE
    assert classify_inbound("N", single_letter_opt_out=False).kind is NONE
    assert classify_inbound("TD", single_letter_opt_out=False).kind is OUT


@given(st.text())
def test_classify_never_raises(body: str) -> None:
    intent = classify_inbound(body)
    assert isinstance(intent.kind, KeywordKind)
    assert (intent.keyword is None) == (intent.kind is NONE)


@given(st.sampled_from(["STOP", "退訂", "START", "HELP", "TD"]), st.text(alphabet=" .!?。！？\t\n…"))
def test_surrounding_punctuation_is_ignored(word: str, noise: str) -> None:
    assert classify_inbound(noise + word + noise).kind is not NONE


# locales and replies


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("en", "en"),
        ("en-US", "en"),
        (None, "en"),
        ("", "en"),
        ("fr", "en"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("zh_SG", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh_Hant_HK", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
    ],
)
def test_normalize_locale(tag: str | None, locale: str) -> None:
    assert normalize_sms_locale(tag) == locale


def test_opt_out_footers() -> None:
    assert opt_out_footer("en") == "Reply STOP to opt out"
    assert opt_out_footer("zh-TW") == "回覆退訂取消"
    assert opt_out_footer("zh-CN") == "回复退订取消"


def test_footer_keyword_is_recognised_as_opt_out() -> None:
    # Whatever the footer tells people to send must be understood when they send it.
    assert classify_inbound("STOP").kind is OUT
    assert classify_inbound("退訂").kind is OUT
    assert classify_inbound("退订").kind is OUT


def test_help_reply_english_has_every_ctia_element() -> None:
    text = help_reply("en", "Acme Sales", "support@acme.example or +1 555 0100", "Msg frequency varies")
    assert text == (
        "Acme Sales: Help at support@acme.example or +1 555 0100. Msg frequency varies. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def test_help_reply_traditional_chinese() -> None:
    text = help_reply("zh-TW", "業務通", "02-2345-6789", "每月最多4則")
    assert text == "業務通：客服 02-2345-6789。每月最多4則。可能產生簡訊及數據費用。回覆退訂（或 STOP）取消。"
    assert count_segments(text).segments == 1


def test_help_reply_simplified_chinese() -> None:
    text = help_reply("zh-CN", "业务通", "400-123-4567", "每月最多4条。")
    assert text == "业务通：客服 400-123-4567。每月最多4条。可能产生短信及数据费用。回复退订（或 STOP）取消。"
    assert count_segments(text).segments == 1


def test_help_reply_keeps_braces_and_skips_empty_frequency() -> None:
    text = help_reply("en", "{Acme}", "{support}", "  ")
    assert text == "{Acme}: Help at {support}. Msg & data rates may apply. Reply STOP to opt out."
