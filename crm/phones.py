"""Phone numbers: stored as E.164, found by any format a rep types, including just the last digits."""

from __future__ import annotations

import re

import phonenumbers

from crm.errors import ValidationFailed

_DIGITS = re.compile(r"\d")
MIN_SUFFIX = 4  # fewer digits than this match too many numbers to be useful


def normalize(raw: str, default_region: str) -> str:
    """E.164 (``+886912345678``) or ValidationFailed with a message the user can act on."""
    text = raw.strip()
    if not text:
        raise ValidationFailed("error.phone_invalid", value=raw[:40])
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed("error.phone_invalid", value=raw[:40]) from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationFailed("error.phone_invalid", value=raw[:40])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str, default_region: str) -> str | None:
    try:
        return normalize(raw, default_region)
    except ValidationFailed:
        return None


def display(e164: str, default_region: str) -> str:
    """National format for numbers of the home region, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if region == default_region.upper()
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def digits(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def looks_like_phone(text: str) -> bool:
    """A message that is only a phone number (any punctuation) — the rep wants that customer's card."""
    stripped = text.strip()
    if not stripped or len(stripped) > 25:
        return False
    if not re.fullmatch(r"[+()\d\s.\-]+", stripped):
        return False
    return len(digits(stripped)) >= MIN_SUFFIX


def search_suffixes(e164: str) -> str:
    """The digits reversed: a typed suffix becomes an index prefix range."""
    return digits(e164)[::-1]


def query_suffix(text: str, default_region: str) -> str | None:
    """What to look up for a typed number: the national significant digits if it parses, else the digits typed."""
    typed = digits(text)
    if len(typed) < MIN_SUFFIX:
        return None
    parsed = try_normalize(text, default_region)
    if parsed is not None:
        national = str(phonenumbers.parse(parsed, None).national_number)
        return national[::-1]
    return typed[::-1]
