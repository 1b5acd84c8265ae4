"""What a customer, contact or lead can be found by.

Chinese has no spaces, and FTS tokenizers either do not split it or (trigram) need three characters, while
reps search by one or two: 王, 台積. So every CJK character and every pair of adjacent CJK characters is a term;
a query's terms must all match, then the candidates are checked against the full text. Latin text is split into
words (prefix search), e-mail addresses are kept whole, tags become ``#tag``, phones become reversed digits
(``p:`` prefix) so "the last four digits" is a prefix range on the same index. Each name is also kept whole
(``=`` prefix, ``name_key``): "is there someone called exactly this?" is then one primary-key lookup, which the
one-message /log asks for several readings of the text at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crm.core.names import clean, is_cjk_char
from crm.customers.phones import search_suffixes

MAX_TERM = 60
_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+(?:['’][a-z]+)?")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


is_cjk = is_cjk_char


def fold(text: str) -> str:
    """Full-width to half-width, invisible characters removed, spaces collapsed, case folded: what both the
    index and the query go through, so a zero-width space typed into either side cannot keep them apart."""
    return clean(text).casefold()


def _cjk_runs(text: str) -> Iterable[str]:
    run: list[str] = []
    for ch in text:
        if is_cjk(ch):
            run.append(ch)
        elif run:
            yield "".join(run)
            run = []
    if run:
        yield "".join(run)


def text_terms(text: str | None) -> set[str]:
    if not text:
        return set()
    folded = fold(text)
    terms: set[str] = set()
    for run in _cjk_runs(folded):
        terms.update(run)
        terms.update(run[i:i + 2] for i in range(len(run) - 1))
    for email in _EMAIL.findall(folded):
        terms.add("@" + email[:MAX_TERM - 1])
    terms.update(w[:MAX_TERM] for w in _WORD.findall(folded))
    return terms


def name_key(name: str | None) -> str | None:
    """A whole name, folded and with its spaces collapsed: the same for "ACME  Trading" and "acme trading"."""
    folded = fold(name or "")
    return "=" + folded[:MAX_TERM - 1] if folded else None


def record_terms(*, names: Iterable[str | None] = (), phones: Iterable[str] = (), emails: Iterable[str | None] = (),
                 tags: Iterable[str] = ()) -> set[str]:
    terms: set[str] = set()
    for name in names:
        terms |= text_terms(name)
        key = name_key(name)
        if key:
            terms.add(key)
    for phone in phones:
        terms.add("p:" + search_suffixes(phone))
    for email in emails:
        if email:
            terms.add("@" + fold(email)[:MAX_TERM - 1])
            terms |= text_terms(email.split("@", 1)[0])
    for tag in tags:
        if tag:
            terms.add("#" + fold(tag)[:MAX_TERM - 1])
    return terms


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """(exact terms, prefix terms) that every match must have. CJK pieces are exact; a Latin word's last
    word is a prefix (the rep may still be typing), the others too since names are often abbreviated."""
    folded = fold(query).strip()
    exact: list[str] = []
    prefixes: list[str] = []
    if folded.startswith("#") and len(folded) > 1:
        # A tag is one whole term (#重点, #vip): never split it into characters.
        return ["#" + folded[1:].strip()[:MAX_TERM - 1]], []
    for run in _cjk_runs(folded):
        if len(run) == 1:
            exact.append(run)
        else:
            exact.extend(run[i:i + 2] for i in range(len(run) - 1))
    emails = _EMAIL.findall(folded)
    if emails:
        prefixes.append("@" + emails[0][:MAX_TERM - 1])
        return exact, prefixes
    prefixes.extend(w[:MAX_TERM] for w in _WORD.findall(folded))
    return list(dict.fromkeys(exact)), list(dict.fromkeys(prefixes))
