"""The one-line form power users type: ``台積電; 02-2345-6789, 0912-345-678; buyer@tsmc.com; #vip #semis``.

Reps do not remember an order, so each part is recognised by what it looks like rather than where it stands:
an e-mail address, phone numbers (one or several, comma separated), ``#tags`` (anywhere in the line), and plain
text. The first plain part is the name; the next one is the address (for a customer) or the company / title
(for a lead / contact); anything after that goes into the notes. Nothing is validated here: the services do
that and name the field that is wrong, so the chat can re-ask for exactly that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.customers.phones import looks_like_phone

_PARTS = re.compile(r"[;；\n]+")
_PHONE_SEPARATORS = re.compile(r"[,，、/]+")
_TAG = re.compile(r"(?<![^\s,，、])[#＃]([^\s#＃,，、;；]+)")
_EMAIL = re.compile(r"[^\s@<>;；,，]+@[^\s@<>;；,，]+\.[^\s@<>;；,，]+")
# What a phone part may contain besides the number itself: an extension marker or a label a rep might add.
_PHONE_LABEL = re.compile(r"^(?:tel|phone|mobile|cell|電話|电话|手機|手机)[:：]?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class QuickEntry:
    name: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    tags: tuple[str, ...] = ()
    second: str | None = None  # address of a customer; company of a lead; title of a contact
    notes: str | None = None
    extra_emails: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.phones or self.email or self.tags or self.second or self.notes)


def _phone_items(part: str) -> list[str] | None:
    """The numbers in a part when the whole part is phone numbers, else None."""
    text = _PHONE_LABEL.sub("", part.strip())
    items = [item.strip() for item in _PHONE_SEPARATORS.split(text) if item.strip()]
    if items and all(looks_like_phone(item) for item in items):
        return items
    return None


def parse_line(text: str) -> QuickEntry:
    """Split a one-line form into its fields; never raises, whatever the text."""
    tags = [m.group(1) for m in _TAG.finditer(text)]
    without_tags = _TAG.sub(" ", text)
    emails: list[str] = []
    phones: list[str] = []
    plain: list[str] = []
    for raw in _PARTS.split(without_tags):
        part = " ".join(raw.split()).strip(" ,，、")
        if not part.strip("#＃ "):
            continue
        found = _EMAIL.findall(part)
        if found:
            emails.extend(found)
            rest = " ".join(_EMAIL.sub(" ", part).split()).strip(" ,，、")
            if not rest:
                continue
            part = rest
        numbers = _phone_items(part)
        if numbers is not None:
            phones.extend(numbers)
            continue
        plain.append(part)
    return QuickEntry(
        name=plain[0] if plain else None,
        phones=tuple(dict.fromkeys(phones)),
        email=emails[0] if emails else None,
        tags=tuple(dict.fromkeys(tags)),
        second=plain[1] if len(plain) > 1 else None,
        notes="; ".join(plain[2:]) or None,
        extra_emails=tuple(emails[1:]),
    )


def is_one_line_form(text: str) -> bool:
    """A command argument meant as the whole form (rather than just a name to start the guided flow)."""
    entry = parse_line(text)
    return bool(_PARTS.search(text.strip()) or entry.phones or entry.email or entry.tags)


__all__ = ["QuickEntry", "is_one_line_form", "parse_line"]
