"""Translated messages: gettext catalogs (Babel .po files) keyed by message id, in en, zh-Hant and zh-Hans.

Message ids are stable keys (``start.welcome``), not English sentences, so the English text can be edited
without touching code and a test can prove every key exists in every catalog with the same placeholders.
Placeholder values are HTML-escaped unless wrapped in ``Html``: replies use parse_mode HTML, where one stray
``<`` in a customer's name would make Telegram reject the whole message.
"""

from __future__ import annotations

import html
import logging
import string
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

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


class Catalogs:
    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self.messages: dict[str, dict[str, str]] = {}
        for locale, sub in _DIRS.items():
            merged: dict[str, str] = {}
            # One catalog file per area (core.po, customers.po, ...), merged: areas evolve independently.
            for path in sorted((directory / sub / "LC_MESSAGES").glob("*.po")):
                with path.open("rb") as fh:
                    catalog = read_po(fh, locale=sub)
                for m in catalog:
                    if m.id and m.string and not m.fuzzy:
                        if str(m.id) in merged:
                            raise ValueError(f"message key {m.id} defined twice ({path.name})")
                        merged[str(m.id)] = str(m.string)
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
