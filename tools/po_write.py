"""Write message catalogs from a table of {key: (en, zh-Hant, zh-Hans)}: used to add keys in bulk.

Usage from a script: ``merge({"key": ("English", "繁體", "简体")}, area="customers")`` adds or replaces those
entries in ``<area>.po`` of all three locales, keeping every other entry as it is.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "bot" / "locales"
DIRS = ("en", "zh_Hant", "zh_Hans")


def merge(entries: dict[str, tuple[str, str, str]], area: str = "core") -> None:
    for index, sub in enumerate(DIRS):
        path = LOCALE_DIR / sub / "LC_MESSAGES" / f"{area}.po"
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=sub)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=sub, project="crmbot", charset="utf-8")
        for key, texts in entries.items():
            if key in catalog:
                del catalog[key]  # Catalog.add keeps an existing entry's old text
            catalog.add(key, texts[index])
        ordered = Catalog(locale=sub, project="crmbot", charset="utf-8")
        for message in sorted((m for m in catalog if m.id), key=lambda m: str(m.id)):
            ordered.add(str(message.id), message.string)
        with path.open("wb") as fh:
            write_po(fh, ordered, width=0, omit_header=False, sort_output=True)
