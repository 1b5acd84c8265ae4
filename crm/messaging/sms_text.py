"""SMS text arithmetic (encoding, segments) and placeholder templates.

A message is billed per segment. GSM-7 text fits 160 characters in one segment, 153 per segment
once it is split (the rest of each segment carries the concatenation header); characters of the
GSM-7 extension table (``{ } [ ] ~ ^ | \\ €`` and form feed) take two of those places. A single
character outside GSM-7 (any Chinese character, an emoji, a curly quote) switches the whole message
to UCS-2: 70 UTF-16 code units in one segment, 67 per segment when split; a character outside the
Basic Multilingual Plane (most emoji) takes two code units.

Splitting never cuts a two-place character in half, so a long message can need one more segment
than plain division suggests; this is what handsets and Twilio do.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Encoding",
    "SmsSegments",
    "TemplateError",
    "count_segments",
    "non_gsm_characters",
    "render_template",
    "sms_encoding",
    "template_placeholders",
]

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in code order (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each is sent as escape + character, so it takes two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True, slots=True)
class SmsSegments:
    """How a text is sent.

    ``characters`` is the length in the encoding's units: GSM-7 septets (extension characters count
    2) or UTF-16 code units (characters outside the BMP count 2). ``per_segment`` is 160/70 while the
    text fits one segment and 153/67 once it is split; ``remaining_in_segment`` is how many units
    still fit in the last segment before another one starts.
    """

    encoding: Encoding
    characters: int
    segments: int
    per_segment: int
    remaining_in_segment: int


def sms_encoding(text: str) -> Encoding:
    """Return the encoding an SMS with this text needs: GSM-7 if every character is in it, else UCS-2."""
    for char in text:
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION:
            return "UCS-2"
    return "GSM-7"


def non_gsm_characters(text: str) -> list[str]:
    """The characters that force UCS-2, each once, in order of appearance (to point them out to a user)."""
    seen: dict[str, None] = {}
    for char in text:
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION:
            seen.setdefault(char)
    return list(seen)


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count_segments(text: str) -> SmsSegments:
    """Count the segments an SMS with this text is billed as (an empty text is 0 segments)."""
    encoding = sms_encoding(text)
    sizes = _unit_sizes(text, encoding)
    total = sum(sizes)
    single = _SINGLE[encoding]
    if total <= single:
        segments = 1 if total else 0
        return SmsSegments(encoding, total, segments, single, single - total)
    per_segment = _MULTI[encoding]
    segments = 1
    used = 0
    for size in sizes:
        if used + size > per_segment:
            segments += 1
            used = 0
        used += size
    return SmsSegments(encoding, total, segments, per_segment, per_segment - used)


# ``{name}``: a letter or underscore, then letters, digits, underscores (CJK names such as
# ``{姓名}`` work). Spaces just inside the braces are allowed. Anything else in braces, such as
# ``{}``, ``{1}`` or ``{"a": 1}``, is ordinary text.
_PLACEHOLDER = re.compile(r"\{\s*([^\W\d]\w*)\s*\}")


class TemplateError(ValueError):
    """A template uses placeholders that cannot be filled.

    ``unknown``: names that are not fields at all (typos); ``missing``: known fields that have no
    value for this message.
    """

    def __init__(self, unknown: Collection[str], missing: Collection[str], known: Collection[str]) -> None:
        self.unknown = tuple(unknown)
        self.missing = tuple(missing)
        self.known = tuple(sorted(known))
        parts = []
        if self.unknown:
            parts.append("unknown placeholder(s) " + ", ".join(f"{{{name}}}" for name in self.unknown))
        if self.missing:
            parts.append("no value for " + ", ".join(f"{{{name}}}" for name in self.missing))
        message = "SMS template has " + "; ".join(parts)
        if self.known:
            message += ". Available: " + ", ".join(f"{{{name}}}" for name in self.known)
        super().__init__(message)


def template_placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names used in a template, each once, in order of appearance."""
    return tuple(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(template)))


def render_template(template: str, values: Mapping[str, str], *, allowed: Collection[str] | None = None) -> str:
    """Fill ``{name}`` placeholders from ``values``.

    Unlike ``str.format``, braces that are not a placeholder stay as they are, and braces inside
    the values are never interpreted. Raises ``TemplateError`` naming every placeholder that cannot
    be filled. With ``allowed`` (the fields a template may use), a placeholder outside it is
    unknown, and an allowed one without a value is missing; without it, any placeholder without a
    value is unknown.
    """
    names = template_placeholders(template)
    if allowed is None:
        unknown = [name for name in names if name not in values]
        missing: list[str] = []
        known: Collection[str] = values.keys()
    else:
        unknown = [name for name in names if name not in allowed]
        missing = [name for name in names if name in allowed and name not in values]
        known = allowed
    if unknown or missing:
        raise TemplateError(unknown, missing, known)
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
