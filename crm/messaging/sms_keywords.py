"""Inbound SMS keywords (STOP, START, HELP and their Chinese forms) and the replies they call for.

Matching rules, chosen to follow the carriers' and Twilio's own handling:

* A keyword counts only when it is the whole message: "STOP" opts out, "please stop texting me"
  and "STOP PLEASE" do not (Twilio blocks a number only on a single-word reply). The one exception
  is an opt-in with a topic: ``JOIN <topic>`` / ``SUBSCRIBE <topic>`` / ``訂閱 <topic>``, exactly two
  words.
* Case and character width do not matter: the text is NFKC-normalised (full-width "ＳＴＯＰ" becomes
  "STOP") and compared case-insensitively.
* Whitespace, punctuation and symbols (emoji included) around the word are ignored ("stop!",
  "STOP.", "退訂。", "STOP 😡"); inside the word, hyphens and underscores are ignored ("OPT-OUT").
* Chinese users also reply "T" or "N" to opt out (the mainland "回T退订" convention). Single
  letters are easily sent by accident, so they count only when the message is exactly that letter,
  with nothing around it but whitespace; "T." or "N!" is not a keyword. They can be switched off.

Replies follow CTIA guidance: a HELP reply names the program, how to get support, the message
frequency, "Msg & data rates may apply" and how to opt out.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = [
    "HELP_KEYWORDS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "SINGLE_LETTER_OPT_OUT",
    "TOPIC_OPT_IN_KEYWORDS",
    "KeywordIntent",
    "KeywordKind",
    "SmsLocale",
    "classify_inbound",
    "help_reply",
    "normalize_sms_locale",
    "opt_out_footer",
]


class KeywordKind(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    HELP = "help"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class KeywordIntent:
    """What an inbound message asks for. ``keyword`` is the canonical keyword matched (``"STOP"``,
    ``"退訂"``); ``topic`` is the casefolded topic of ``JOIN <topic>``."""

    kind: KeywordKind
    topic: str | None = None
    keyword: str | None = None


NO_KEYWORD = KeywordIntent(KeywordKind.NONE)

# Canonical spellings; matching is on the casefolded form.
OPT_OUT_KEYWORDS: tuple[str, ...] = (
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    "TD", "退訂", "退订", "取消訂閱", "取消订阅",
)  # fmt: skip
SINGLE_LETTER_OPT_OUT: tuple[str, ...] = ("T", "N")
OPT_IN_KEYWORDS: tuple[str, ...] = ("START", "YES", "UNSTOP", "SUBSCRIBE", "JOIN", "訂閱", "订阅")
TOPIC_OPT_IN_KEYWORDS: tuple[str, ...] = ("SUBSCRIBE", "JOIN", "訂閱", "订阅")
HELP_KEYWORDS: tuple[str, ...] = ("HELP", "INFO", "幫助", "帮助")

_BY_FOLDED: dict[str, tuple[KeywordKind, str]] = {
    **{word.casefold(): (KeywordKind.OPT_OUT, word) for word in OPT_OUT_KEYWORDS},
    **{word.casefold(): (KeywordKind.OPT_IN, word) for word in OPT_IN_KEYWORDS},
    **{word.casefold(): (KeywordKind.HELP, word) for word in HELP_KEYWORDS},
}
_TOPIC_FOLDED = {word.casefold(): word for word in TOPIC_OPT_IN_KEYWORDS}
_SINGLE_FOLDED = {letter.casefold(): letter for letter in SINGLE_LETTER_OPT_OUT}
# Whitespace, punctuation, symbols, and invisible characters (zero-width space, BOM, controls).
_TRIMMED_CATEGORIES = ("Z", "P", "S", "C")
_INNER_JOINERS = str.maketrans("", "", "-_")


def _is_trimmed(char: str) -> bool:
    return char.isspace() or unicodedata.category(char)[0] in _TRIMMED_CATEGORIES


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_trimmed(text[start]):
        start += 1
    while end > start and _is_trimmed(text[end - 1]):
        end -= 1
    return text[start:end]


def classify_inbound(body: str, *, single_letter_opt_out: bool = True) -> KeywordIntent:
    """Classify an inbound SMS body as opt-in, opt-out, help, or no keyword (see the module rules)."""
    text = unicodedata.normalize("NFKC", body)
    if single_letter_opt_out:
        letter = _SINGLE_FOLDED.get(text.strip().casefold())
        if letter is not None:
            return KeywordIntent(KeywordKind.OPT_OUT, keyword=letter)
    words = _trim(text).split()
    if len(words) == 1:
        found = _BY_FOLDED.get(words[0].casefold().translate(_INNER_JOINERS))
        if found is not None:
            return KeywordIntent(found[0], keyword=found[1])
    elif len(words) == 2:
        keyword = _TOPIC_FOLDED.get(words[0].casefold())
        topic = _trim(words[1]).casefold()
        if keyword is not None and topic:
            return KeywordIntent(KeywordKind.OPT_IN, topic=topic, keyword=keyword)
    return NO_KEYWORD


SmsLocale = Literal["en", "zh-Hant", "zh-Hans"]

_HANT_REGIONS = {"tw", "hk", "mo", "hant"}


def normalize_sms_locale(locale: str | None) -> SmsLocale:
    """Map a language tag (``zh-TW``, ``zh_Hant_HK``, ``zh-CN``, ``en-US``, Telegram's codes) to the
    three SMS locales; Chinese without a script or region is Simplified, anything else English."""
    parts = (locale or "").replace("_", "-").lower().split("-")
    if parts[0] != "zh":
        return "en"
    if any(part in _HANT_REGIONS for part in parts[1:]):
        return "zh-Hant"
    return "zh-Hans"


_FOOTERS: dict[SmsLocale, str] = {
    "en": "Reply STOP to opt out",
    "zh-Hant": "回覆退訂取消",
    "zh-Hans": "回复退订取消",
}

# Per locale: opening (program, support), rates, how to opt out, sentence separator. The frequency
# sentence goes after the opening.
_HELP: dict[SmsLocale, tuple[str, str, str, str]] = {
    "en": ("{program}: Help at {support}.", "Msg & data rates may apply.", "Reply STOP to opt out.", " "),
    "zh-Hant": ("{program}：客服 {support}。", "可能產生簡訊及數據費用。", "回覆退訂（或 STOP）取消。", ""),
    "zh-Hans": ("{program}：客服 {support}。", "可能产生短信及数据费用。", "回复退订（或 STOP）取消。", ""),
}

_SENTENCE_ENDS = ".!?。！？"


def opt_out_footer(locale: str | None) -> str:
    """The opt-out line to append to marketing texts, e.g. "Reply STOP to opt out"."""
    return _FOOTERS[normalize_sms_locale(locale)]


def _sentence(text: str, locale: SmsLocale) -> str:
    text = text.strip()
    if not text or text[-1] in _SENTENCE_ENDS:
        return text
    return text + ("." if locale == "en" else "。")


def help_reply(locale: str | None, program_name: str, support_contact: str, frequency_text: str) -> str:
    """The reply to HELP / INFO: program, support contact, message frequency, rates, how to opt out.

    ``frequency_text`` is a phrase such as "Msg frequency varies" / "每月最多 4 則"; a full stop is
    added when it has none.
    """
    normalized = normalize_sms_locale(locale)
    opening, rates, opt_out, separator = _HELP[normalized]
    opening = opening.format(program=program_name.strip(), support=support_contact.strip())
    sentences = (opening, _sentence(frequency_text, normalized), rates, opt_out)
    return separator.join(sentence for sentence in sentences if sentence)
