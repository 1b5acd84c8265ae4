"""People's and companies' names: how typed text becomes a stored name, and how a person's name is written.

Typed and pasted text can carry characters nobody sees: zero-width spaces, bidirectional overrides, soft
hyphens, the Hangul fillers that render as blanks. Left in, "Ma\u200bry" looks like Mary but is never found
by "Mary", and "Vic\u200btim Co" slips past the duplicate check beside "Victim Co". ``clean`` removes them
(with NFKC, so full-width letters and digits are the ordinary ones) for storage, search and matching alike.

Chinese, Japanese and Korean names are written family name first with no space (林美玲), while Telegram,
like most phone books, splits a name into "first" (美玲) and "last" (林). ``person_name`` is the one place that
joins the two. ``name_orders`` gives the other ways a rep may type the same person ("小明王", "王 小明", "Ming
Wang" for "Wang Ming") so search and /log can find them.
"""

from __future__ import annotations

import unicodedata

# Default-ignorable characters that are not format characters (Cf): fillers that render as blanks, and the
# combining grapheme joiner and Mongolian variation selectors, which only modify the character before them.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0")


def _visible(text: str) -> str:
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cf", "Cs") or ch in _INVISIBLE:
            continue
        if category == "Cc":
            if ch.isspace():
                out.append(" ")  # a tab or line break still separates words
            continue
        out.append(ch)
    return "".join(out)


def clean(text: str | None) -> str:
    """NFKC, invisible and control characters removed, whitespace collapsed to single spaces."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())
    # Removing a character can bring two others together that NFKC composes, and NFKC can produce what the
    # first pass removes (U+3164 → U+1160): normalise, strip, normalise again, strip again.
    once = _visible(unicodedata.normalize("NFKC", _visible(text)))
    return " ".join(_visible(unicodedata.normalize("NFKC", once)).split())


def is_cjk_char(ch: str) -> bool:
    """Han ideographs (with extensions and compatibility forms), kana and Hangul syllables."""
    code = ord(ch)
    return ((0x3400 <= code <= 0x9FFF) or (0xF900 <= code <= 0xFAFF) or (0x20000 <= code <= 0x2FA1F)
            or (0x3040 <= code <= 0x30FF) or (0xAC00 <= code <= 0xD7AF))


def is_cjk_word(text: str) -> bool:
    """Non-empty and written only in CJK characters (a name part such as 林 or 美玲)."""
    return bool(text) and all(is_cjk_char(ch) for ch in text)


def person_name(first: str | None, last: str | None) -> str:
    """A person's name from a given name and a family name: 美玲 + 林 → 林美玲; Ada + Lovelace → Ada Lovelace."""
    given, family = clean(first), clean(last)
    if given and family and is_cjk_word(given.replace(" ", "")) and is_cjk_word(family.replace(" ", "")):
        return family.replace(" ", "") + given.replace(" ", "")
    return " ".join(part for part in (given, family) if part)


MAX_CJK_NAME = 4  # 歐陽大文: a compound family name and a two-character given name
MAX_FAMILY = 2


def family_first(name: str) -> str | None:
    """A CJK person's name stored the Western way, "<given> <family>" (two CJK-only parts of one or two
    characters, one space): the name as it is written, "<family><given>"; None for any other name (台積電 新竹
    is a company and its branch). What the 0007 migration applies to existing rows."""
    parts = name.split(" ")
    if len(parts) == 2 and all(is_cjk_word(p) and len(p) <= MAX_FAMILY for p in parts):
        return parts[1] + parts[0]
    return None


def name_orders(name: str) -> tuple[str, ...]:
    """Other ways of writing the person ``name`` may be (not ``name`` itself), most likely first.

    - CJK in two parts, "小明 王" or "王 小明": both parts joined either way (王小明, 小明王).
    - CJK in one piece of 2–4 characters: the family name (1 or 2 characters) moved from the end to the front,
      for someone who typed the given name first (小明王 → 王小明).
    - Two Latin words: the other order (Ming Wang → Wang Ming).
    """
    text = clean(name)
    parts = text.split(" ")
    found: list[str] = []
    if len(parts) == 2 and all(is_cjk_word(p) for p in parts):
        found += [parts[1] + parts[0], parts[0] + parts[1]]
    elif len(parts) == 1 and is_cjk_word(text) and 2 <= len(text) <= MAX_CJK_NAME:
        found += [text[-size:] + text[:-size] for size in range(1, MAX_FAMILY + 1) if size < len(text)]
    elif len(parts) == 2 and not any(is_cjk_char(ch) for ch in text):
        found.append(f"{parts[1]} {parts[0]}")
    return tuple(dict.fromkeys(f for f in found if f != text))


__all__ = ["clean", "family_first", "is_cjk_char", "is_cjk_word", "name_orders", "person_name"]
