"""The one-message log: ``/log <customer> <what happened> [next: <when> <what>]``.

Pure text work, no lookups: this module says which readings of the text are possible; the handler asks the
customer search which reading names someone real. A rep types the customer first, and names have no fixed
length ("Acme", "Acme Trading", "王大明工業"), so the customer part is offered as several *splits*, the most
specific first:

- a quoted name (``"Acme Trading" called``, ``「王大明」拜訪``) or a name ended by a colon
  (``Acme Trading: called``) is taken exactly — the way to name a new customer of several words;
- otherwise the first one to four words (longest first), and for Chinese typed without a space
  (``王大明拜訪了``) the leading characters, longest first.

The next step follows a marker — ``next:``, ``下次:`` / ``下次：``, ``下一步:``, ``->`` or ``→`` — and starts with
a date/time in English, Traditional or Simplified Chinese (``crm.core.natural_dates``), then what to do.

Nothing here raises for any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from crm.core.natural_dates import ParsedWhen, parse_when_prefix, unreadable_when_prefix
from crm.customers.model import InteractionKind
from crm.customers.search_terms import is_cjk

__all__ = ["ParsedLog", "Split", "guess_kind", "parse_log", "split_next"]

MAX_WORDS = 4
MAX_CJK_NAME = 12
MIN_CJK_NAME = 2
MAX_NAME = 200

# "next:" only as a word of its own, so "Connext: ..." is not a marker.
_NEXT_MARKER = re.compile(r"(?<![0-9A-Za-z])next\s*[:：]|下次\s*[:：]|下一步\s*[:：]|->|→", re.IGNORECASE)
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "'": "'", "‘": "’", "《": "》"}
# A colon ends the name when a space (or nothing) follows it, or when it is the full-width one: "3:30" is a time.
_NAME_COLON = re.compile(r"：|:(?=\s|$)")
_LEADING_SEPARATORS = re.compile(r"^[\s,，:：;；\-–—]+")

_KIND_WORDS: tuple[tuple[InteractionKind, re.Pattern[str]], ...] = (
    (InteractionKind.EMAIL, re.compile(r"\b(?:e-?mail(?:ed|s)?|mailed)\b|郵件|邮件|電郵|电邮|寄信", re.IGNORECASE)),
    (InteractionKind.VISIT, re.compile(r"\bvisit(?:ed|s|ing)?\b|\bon[- ]site\b|拜訪|拜访|拜會|拜会|到訪|到访|登門|登门",
                                       re.IGNORECASE)),
    (InteractionKind.MEETING, re.compile(
        r"\b(?:meet(?:ing|s)?|met|lunch|dinner|demo)\b|開會|开会|會議|会议|見面|见面|碰面|面談|面谈|飯局|饭局",
        re.IGNORECASE)),
    (InteractionKind.MESSAGE, re.compile(
        r"\b(?:messaged?|texted|sms|wechat|whatsapp|telegram|dm)\b|\b(?-i:LINE|Line)\b|訊息|讯息|簡訊|简讯|短信|微信|私訊|私信",
        re.IGNORECASE)),
    (InteractionKind.CALL, re.compile(
        r"\b(?:call(?:ed|s|ing)?|phoned?|rang|ring)\b|電話|电话|致電|致电|打給|打给|來電|来电|回電|回电|通話|通话",
        re.IGNORECASE)),
)


@dataclass(frozen=True)
class Split:
    """One reading: ``name`` is the customer, contact or lead; ``text`` is what happened."""

    name: str
    text: str


@dataclass(frozen=True)
class ParsedLog:
    splits: tuple[Split, ...]
    """Possible (customer, what happened) readings, most specific first; empty when no customer was typed."""
    explicit: bool
    """The name was quoted or ended by a colon: take it as typed, don't guess."""
    kind: InteractionKind | None
    """Guessed from words such as "called", "拜訪", "微信"; None when nothing hints at one."""
    has_next: bool
    """A next-step marker was typed."""
    next_when: ParsedWhen | None
    """The next step's time, when one could be read right after the marker."""
    next_text: str
    """What to do next (after the time); may be empty."""
    next_raw: str
    """Everything after the marker, as typed (for asking again when the time could not be read)."""
    next_unreadable: str = ""
    """Words after the marker shaped like a date or time that names none ("31 Feb", "in -3 days"): the chat says
    it could not read them and asks for the time; they are not part of ``next_text``."""

    @property
    def new_name(self) -> Split | None:
        """The reading to use when nobody matches and a lead is created: the typed name, or the first word."""
        if not self.splits:
            return None
        if self.explicit:
            return self.splits[0]
        return next((s for s in self.splits if " " not in s.name), self.splits[-1])


def split_next(text: str) -> tuple[str, str | None]:
    """``(before, after)`` at the first next-step marker; ``after`` is None when there is none."""
    match = _NEXT_MARKER.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip(), text[match.end() :].strip()


def guess_kind(text: str) -> InteractionKind | None:
    """The kind named first in the text ("called to set up a meeting" is a call)."""
    best: tuple[int, InteractionKind] | None = None
    for kind, pattern in _KIND_WORDS:
        match = pattern.search(text)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), kind)
    return best[1] if best else None


def _quoted(head: str) -> Split | None:
    close = _QUOTES.get(head[:1])
    if close is None:
        return None
    end = head.find(close, 1)
    if end <= 1:
        return None
    name = " ".join(head[1:end].split())
    if not name or len(name) > MAX_NAME:
        return None
    return Split(name, _LEADING_SEPARATORS.sub("", head[end + 1 :]).strip())


def _colon(head: str) -> Split | None:
    match = _NAME_COLON.search(head)
    if match is None:
        return None
    name = " ".join(head[: match.start()].split())
    if not name or len(name) > MAX_NAME or len(name.split()) > 2 * MAX_WORDS:
        return None
    return Split(name, head[match.end() :].strip())


def _word_splits(head: str) -> list[Split]:
    words = list(re.finditer(r"\S+", head))
    splits: list[Split] = []
    for count in range(min(MAX_WORDS, len(words)), 0, -1):
        last = words[count - 1]
        name = " ".join(w.group() for w in words[:count])
        if len(name) <= MAX_NAME:
            splits.append(Split(name, _LEADING_SEPARATORS.sub("", head[last.end() :]).strip()))
    first = words[0].group() if words else ""
    if first and is_cjk(first[0]) and len(first) > MIN_CJK_NAME:
        # Chinese is often typed without a space between the name and the rest: 王大明拜訪了.
        rest = head[words[0].end() :]
        run = 0
        while run < len(first) and is_cjk(first[run]):
            run += 1
        for size in range(min(run, MAX_CJK_NAME, len(first) - 1), MIN_CJK_NAME - 1, -1):
            text = _LEADING_SEPARATORS.sub("", first[size:] + rest).strip()
            splits.append(Split(first[:size], text))
    return splits


def parse_log(text: str, now: datetime) -> ParsedLog:
    """Read a one-message log. ``now`` is aware and in the user's zone (next-step times are read in it)."""
    head, tail = split_next(text or "")
    explicit = False
    splits: list[Split] = []
    if head:
        exact = _quoted(head) or _colon(head)
        if exact is not None:
            splits, explicit = [exact], True
        else:
            splits = _word_splits(head)
    next_when: ParsedWhen | None = None
    next_text = ""
    unreadable = ""
    if tail:
        found = parse_when_prefix(tail, now)
        bad = unreadable_when_prefix(tail) if found is None else None
        if found is not None:
            next_when, next_text = found
        elif bad is not None:
            unreadable, next_text = bad
        else:
            next_text = tail
    kind = guess_kind(head)
    return ParsedLog(tuple(splits), explicit, kind, tail is not None, next_when, next_text, tail or "", unreadable)
