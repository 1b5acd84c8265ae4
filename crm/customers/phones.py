"""Phone numbers: stored as E.164, found by any format a rep types, including just the last digits.

``phonenumbers`` is the authority on what a number means, and costs ~30 µs a parse — seconds for a 100,000-row
import, and on the bot's hot path for every card it shows. So results are memoised (they depend only on the
text and the region), and the usual shapes — digits in groups separated by spaces or hyphens, with or without
a leading "+" — take a short path that walks the same steps as ``phonenumbers.parse`` and leaves every decision
that depends on the data (country code, national prefix, possible lengths, validity) to phonenumbers' own
functions. Anything else, and every branch of ``parse`` the short path does not follow, goes to ``parse``.
tests/unit/test_phones.py compares the two on a large set of numbers and regions.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

import phonenumbers

from crm.core.errors import ValidationFailed

_DIGITS = re.compile(r"\d")
_PHONE_CHARS = re.compile(r"[+()\d\s.\-]+")
MIN_SUFFIX = 4  # fewer digits than this match too many numbers to be useful
_MEMO_SIZE = 4096  # ~1 MB: the numbers of the cards and searches of the moment, an import's repeated ones
_MEMO_TEXT = 40  # longer text is no phone number a person typed; not worth a memo slot

try:  # the short path needs these phonenumbers internals; without them every number goes through parse()
    from phonenumbers import PhoneMetadata, PhoneNumber, is_possible_number, is_valid_number
    from phonenumbers import phonenumberutil as _pnu

    _extract_country_code = _pnu._extract_country_code
    _strip_national_prefix = _pnu._maybe_strip_national_prefix_carrier_code
    _test_number_length = _pnu._test_number_length
    _KEEP_PREFIX = frozenset({_pnu.ValidationResult.TOO_SHORT, _pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                              _pnu.ValidationResult.INVALID_LENGTH})
    _MIN_NSN, _MAX_NSN = _pnu._MIN_LENGTH_FOR_NSN, _pnu._MAX_LENGTH_FOR_NSN
    _SHORT_PATH = True
except (ImportError, AttributeError):  # pragma: no cover - a phonenumbers release that moved them
    _SHORT_PATH = False

# phonenumbers looks its metadata patterns up in the re module's cache on every use; its own cache (kept for the
# life of the process: the patterns of the few regions a team calls) saves ~15% of a parse.
if callable(enable_cache := getattr(phonenumbers, "enable_pattern_cache", None)):
    enable_cache()

# ASCII digits in groups, single spaces or hyphens between them, an optional "+" first. For such text parse()
# finds no RFC 3966 parts, strips nothing at either end, sees no extension (every extension form needs a
# letter, "#", "~", "," or ";"), no vanity letters, and reduces the text to its digits (with or without "+").
_SIMPLE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_SEPARATORS = str.maketrans("", "", " -")
_regions: dict[str, Any] = {}


def _region_metadata(region: str) -> Any:
    if region not in _regions:
        _regions[region] = PhoneMetadata.metadata_for_region(region, None)
    return _regions[region]


def _short_path(text: str, region: str) -> str | None:
    """E.164 for a valid number, "" for an invalid one, None when ``parse`` must decide.

    The steps are those of ``phonenumbers.parse`` for digits-only text, in its order; each branch the short
    path does not take itself (an international dialling prefix, a country code without "+", a national
    number starting with 0 as in Italy, lengths parse rejects) returns None."""
    parts = _short_parts(text, region)
    if parts is None:
        return None
    country_code, national = parts
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    if not is_possible_number(number) or not is_valid_number(number):
        return ""
    return f"+{country_code}{national}"  # format_number(E164) for a number without leading zeros


def _short_parts(text: str, region: str) -> tuple[int, str] | None:
    """(country code, national significant number) as ``parse`` would find them, or None (see _short_path)."""
    if len(text) > _MEMO_TEXT or not _SIMPLE.fullmatch(text):
        return None
    metadata = _region_metadata(region)
    if metadata is None:
        return None
    digits = text.translate(_SEPARATORS)
    if digits[0] == "+":
        digits = digits[1:]
        if len(digits) <= _MIN_NSN:
            return None
        country_code, national = _extract_country_code(digits)
        if country_code == 0:
            return None
        number_region = phonenumbers.region_code_for_country_code(country_code)
        if number_region != region:
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, number_region)
    else:
        idd = metadata.international_prefix
        if (idd is not None and re.match(idd, digits)) or digits.startswith(str(metadata.country_code)):
            return None
        country_code, national = metadata.country_code, digits
    if len(national) < _MIN_NSN:
        return None
    _, stripped, _ = _strip_national_prefix(national, metadata)
    if _test_number_length(stripped, metadata) not in _KEEP_PREFIX:
        national = stripped
    if not _MIN_NSN <= len(national) <= _MAX_NSN or national[0] == "0":
        return None
    return country_code, national


def _parse(text: str, region: str) -> str | None:
    if not text:
        return None
    if _SHORT_PATH:
        found = _short_path(text, region)
        if found is not None:
            return found or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_parse_memo = lru_cache(maxsize=_MEMO_SIZE)(_parse)


def e164(raw: str, default_region: str) -> str | None:
    """The number in E.164, or None if it is not a valid phone number."""
    text, region = raw.strip(), default_region.upper()
    return _parse_memo(text, region) if len(text) <= _MEMO_TEXT else _parse(text, region)


def normalize(raw: str, default_region: str) -> str:
    """E.164 (``+886912345678``) or ValidationFailed with a message the user can act on."""
    found = e164(raw, default_region)
    if found is None:
        raise ValidationFailed("error.phone_invalid", value=raw[:40])
    return found


def try_normalize(raw: str, default_region: str) -> str | None:
    return e164(raw, default_region)


def _number_of(e164: str) -> Any:
    """The PhoneNumber behind a stored E.164 string, without parse(): "+", a country code, the national number.
    None when parse() must decide (numbers with leading zeros, anything not digits)."""
    if not _SHORT_PATH or len(e164) < 3 or e164[0] != "+" or not e164[1:].isdigit() or not e164.isascii():
        return None
    country_code, national = _extract_country_code(e164[1:])
    if country_code == 0 or not national or national[0] == "0":
        return None
    return PhoneNumber(country_code=country_code, national_number=int(national))


def _home_region_of(number: Any, region: str) -> bool:
    home = _region_metadata(region)
    if home is None or number.country_code != home.country_code:
        return False  # a number of another country code belongs to no region that shares the home's code
    regions = phonenumbers.region_codes_for_country_code(number.country_code)
    if len(regions) == 1:
        return bool(regions[0] == region)
    return bool(phonenumbers.region_code_for_number(number) == region)  # +1, +7, +44...: the number decides


@lru_cache(maxsize=_MEMO_SIZE)
def _display(e164: str, region: str) -> str:
    number = _number_of(e164)
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
        home = phonenumbers.region_code_for_number(number) == region
    else:
        home = _home_region_of(number, region)
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


def display(e164: str, default_region: str) -> str:
    """National format for numbers of the home region, international otherwise."""
    if len(e164) > _MEMO_TEXT:
        return _display.__wrapped__(e164, default_region.upper())
    return _display(e164, default_region.upper())


def digits(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def looks_like_phone(text: str) -> bool:
    """A message that is only a phone number (any punctuation) — the rep wants that customer's card."""
    stripped = text.strip()
    if not stripped or len(stripped) > 25:
        return False
    if not _PHONE_CHARS.fullmatch(stripped):
        return False
    return len(digits(stripped)) >= MIN_SUFFIX


def search_suffixes(e164: str) -> str:
    """The digits reversed: a typed suffix becomes an index prefix range."""
    return digits(e164)[::-1]


def query_suffix(text: str, default_region: str) -> str | None:
    """What to look up for a typed number: the digits every stored number it names ends with — its national
    significant number when the text is a whole number ("0912 345 678", "+886 912 345 678"), else the digits
    typed (the last few digits of a number)."""
    typed = digits(text)
    if len(typed) < MIN_SUFFIX:
        return None
    stripped, region = text.strip(), default_region.upper()
    # Validity does not matter here (only valid numbers are stored, and a search for an invalid one finds
    # nothing either way): the short path's reading of the number is enough, without phonenumbers' validity
    # checks, which cost more than the rest of a search.
    parts = _short_parts(stripped, region) if _SHORT_PATH else None
    if parts is not None:
        return parts[1][::-1]
    parsed = try_normalize(stripped, region)
    if parsed is not None:
        number = _number_of(parsed) or phonenumbers.parse(parsed, None)
        return str(number.national_number)[::-1]
    return typed[::-1]


# ---- a number typed by someone whose country is not the team's ------------------------------------------------

# The region a user's language implies. English implies none: it is spoken in too many countries.
_LOCALE_REGIONS = {"zh_hans": "CN", "zh_cn": "CN", "zh_sg": "SG", "zh_hant": "TW", "zh_tw": "TW", "zh_hk": "HK"}


def region_of_locale(locale: str | None) -> str | None:
    return _LOCALE_REGIONS.get((locale or "").replace("-", "_").lower())


@lru_cache(maxsize=1)
def _zone_regions() -> dict[str, str]:
    """Time zone → the region whose calling code uses it most, from phonenumbers' own prefix → zones table.
    Neighbours share zones (Macau's +853 is on Asia/Shanghai, Ireland's +353 on Europe/London): the code with
    most prefixes in the zone is the zone's own; a zone no code clearly dominates names no region."""
    from phonenumbers.tzdata import TIMEZONE_DATA

    codes: dict[str, Counter[int]] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        if not prefix.isdigit():
            continue
        code = next((int(prefix[:n]) for n in (1, 2, 3)
                     if phonenumbers.region_code_for_country_code(int(prefix[:n])) != "ZZ"), None)
        if code is None:
            continue
        for zone in zones:
            codes.setdefault(zone, Counter())[code] += 1
    found: dict[str, str] = {}
    for zone, counts in codes.items():
        (code, most), = counts.most_common(1)
        if most * 2 > sum(counts.values()):
            region = phonenumbers.region_code_for_country_code(code)
            if region not in ("ZZ", "001"):
                found[zone] = region
    return found


def region_of_timezone(timezone: str | None) -> str | None:
    """``Asia/Shanghai`` → CN, ``America/New_York`` → US (the main region of +1), ``UTC`` → None."""
    return _zone_regions().get(timezone or "")


def fallback_regions(default_region: str, *, locale: str | None = None, timezone: str | None = None
                     ) -> tuple[str, ...]:
    """The regions to read a national number in, in order: the team's, then the user's language's, then their
    time zone's."""
    regions = [default_region.upper(), region_of_locale(locale), region_of_timezone(timezone)]
    return tuple(dict.fromkeys(r for r in regions if r))


def normalize_with_fallback(raw: str, default_region: str, *, locale: str | None = None,
                            timezone: str | None = None) -> tuple[str, str]:
    """(E.164, the region it was read in): the team's region first; a number invalid there but valid where the
    user's language or time zone points (a zh-Hans user typing a mainland mobile in a Taiwan team) is taken in
    that region — the caller says which country was assumed. ValidationFailed when no region reads it."""
    for region in fallback_regions(default_region, locale=locale, timezone=timezone):
        found = e164(raw, region)
        if found is not None:
            return found, region
    raise ValidationFailed("error.phone_invalid", value=raw[:40])


def region_of_number(e164_number: str) -> str | None:
    """The region a stored number belongs to (``+8613800138000`` → CN)."""
    number = _number_of(e164_number)
    try:
        number = number or phonenumbers.parse(e164_number, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def is_foreign(e164_number: str, default_region: str) -> bool:
    """A number of another country than the team's: worth naming that country when echoing it."""
    region = region_of_number(e164_number)
    return region is not None and region != default_region.upper()


def country_name(e164_number: str, language: str = "en") -> str:
    """The country of a number in ``language`` ("en", "zh"), from phonenumbers' data; the region code when it has
    no name for it."""
    from phonenumbers import geocoder

    try:
        number = _number_of(e164_number) or phonenumbers.parse(e164_number, None)
    except phonenumbers.NumberParseException:
        return ""
    return str(geocoder.country_name_for_number(number, language) or region_of_number(e164_number) or "")
