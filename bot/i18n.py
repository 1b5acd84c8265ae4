"""Translated messages: gettext catalogs (Babel .po files) keyed by message id, in en, zh-Hant and zh-Hans.

Message ids are stable keys (``start.welcome``), not English sentences, so the English text can be edited
without touching code and a test can prove every key exists in every catalog with the same placeholders.
Placeholder values are HTML-escaped unless wrapped in ``Html``: replies use parse_mode HTML, where one stray
``<`` in a customer's name would make Telegram reject the whole message.
"""

from __future__ import annotations

import html
import logging
import re
import string
from pathlib import Path
from typing import Any

from crm.core import locales

log = logging.getLogger(__name__)
LOCALE_DIR = Path(__file__).resolve().parent / "locales"
_DIRS = {locales.EN: "en", locales.ZH_HANT: "zh_Hant", locales.ZH_HANS: "zh_Hans"}


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


def escape(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


_ESCAPE = re.compile(r'\\([\\trn"])')
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(line: str) -> str:
    body = line.strip()[1:-1]
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), body)


def read_messages(text: str) -> list[tuple[str, str]]:
    """(key, translation) of a .po file's translated, non-fuzzy entries — what Babel's reader yields for the
    subset of the format these catalogs use (comments, flags, msgid/msgstr with continuation lines; no plurals
    or contexts; tests/unit/test_catalogs.py compares both). Babel itself is a test-time tool: importing it
    and building its catalog objects cost the bot a second of start-up and memory it kept."""
    found: list[tuple[str, str]] = []
    key: list[str] | None = None
    value: list[str] | None = None
    current: list[str] | None = None
    fuzzy = next_fuzzy = False

    def flush() -> None:
        nonlocal key, value, current, fuzzy
        if key is not None and value is not None:
            k, v = "".join(key), "".join(value)
            if k and v and not fuzzy:
                found.append((k, v))
        key = value = current = None
        fuzzy = False

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if value is not None or not line:
                flush()
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                next_fuzzy = True
        elif line.startswith("msgid "):
            flush()
            key, current, fuzzy, next_fuzzy = [_unquote(line[6:])], None, next_fuzzy, False
            current = key
        elif line.startswith("msgstr "):
            value = current = [_unquote(line[7:])]
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
        else:
            raise ValueError(f"unexpected line in a message catalog: {raw!r}")
    flush()
    return found


class Catalogs:
    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self.messages: dict[str, dict[str, str]] = {}
        for locale, sub in _DIRS.items():
            merged: dict[str, str] = {}
            # One catalog file per area (core.po, customers.po, ...), merged: areas evolve independently.
            for path in sorted((directory / sub / "LC_MESSAGES").glob("*.po")):
                for key, text in read_messages(path.read_text(encoding="utf-8")):
                    if key in merged:
                        raise ValueError(f"message key {key} defined twice ({path.name})")
                    merged[key] = text
            self.messages[locale] = merged

    def t(self, locale: str, key: str, /, **params: Any) -> str:
        text = self.messages.get(locale, {}).get(key) or self.messages[locales.EN].get(key)
        if text is None:
            log.error("missing message key %s", key)
            return key
        if not params:
            return text
        try:
            return text.format_map({k: escape(v) for k, v in params.items()})
        except (KeyError, IndexError, ValueError):
            log.exception("bad placeholders in %s/%s", locale, key)
            return text

    def has(self, locale: str, key: str) -> bool:
        return key in self.messages.get(locale, {})
