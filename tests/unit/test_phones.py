"""crm.customers.phones: the short path gives exactly what phonenumbers gives, and the memos change nothing."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from bench.data import customers
from crm.core.errors import ValidationFailed
from crm.customers import phones

REGIONS = ("TW", "CN", "HK", "US", "CA", "GB", "IT", "DE", "FR", "JP", "KR", "SG", "AU", "IN", "BR", "RU", "MX",
           "AR", "CI", "SM")  # AR, MX and BR rewrite national prefixes; IT, CI and SM keep leading zeros


def reference(text: str, region: str) -> str | None:
    """What crm.customers.phones.normalize computed before the short path and the memo: phonenumbers, nothing else."""
    try:
        number = phonenumbers.parse(text.strip(), region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _short(text: str, region: str) -> str | None:
    found = phones._short_path(text, region)
    return None if found is None else (found or "invalid")


def _spelled(rng: random.Random, digits: str) -> str:
    """The same digits as people type them: run together, or in groups split by spaces or hyphens."""
    out, i = [], 0
    while i < len(digits):
        size = rng.choice((1, 2, 3, 4, 4, 5))
        out.append(digits[i:i + size])
        i += size
    return rng.choice(("", " ", "-")).join(out) if rng.random() < 0.8 else " ".join(out).replace(" ", "-", 1)


def _variants(e164: str, rng: random.Random) -> list[str]:
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    nsn = str(number.national_number)
    return [e164, national, international, nsn, "0" + nsn, f"+{number.country_code} {_spelled(rng, nsn)}",
            f"00{number.country_code}{nsn}", f"{number.country_code}{nsn}", _spelled(rng, "0" + nsn)]


def test_short_path_agrees_with_phonenumbers_on_real_shapes() -> None:
    rng = random.Random(5)
    texts = [p for c in customers(1_000, seed=11) for p in c.phones]
    decided = 0
    for text in texts:
        for region in ("TW", "CN", "US"):
            expected = reference(text, region)
            found = _short(text, region)
            decided += found is not None and region == "TW"
            assert found in (None, expected or "invalid"), (text, region)
            assert phones.try_normalize(text, region) == expected
            e164 = expected or reference(text, "TW")
            if e164:
                for variant in _variants(e164, rng):
                    assert _short(variant, region) in (None, reference(variant, region) or "invalid"), (variant, region)
    assert decided > 0.95 * len(texts)  # in the home region the short path is what usually runs


def test_short_path_agrees_with_phonenumbers_on_random_digits() -> None:
    rng = random.Random(7)
    for region in REGIONS:
        country = str(phonenumbers.country_code_for_region(region))
        starts = ("", "", "0", "00", "01", "1", "9", country, "0" + country)
        for _ in range(300):
            digits = rng.choice(starts) + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 14)))
            if not digits:
                continue
            for text in (_spelled(rng, digits), "+" + _spelled(rng, digits), "+" + country + digits):
                assert _short(text, region) in (None, reference(text, region) or "invalid"), (text, region)
                assert phones.try_normalize(text, region) == reference(text, region), (text, region)


@pytest.mark.parametrize("text", [
    "", "   ", "+", "+1", "12", "0", "00", "+886", "0912345678", "0912-345-678", " 0912 345 678 ", "+886912345678",
    "+886 912 345 678", "886912345678", "+1 415-555-0100", "(02) 2345-6789", "02.2345.6789", "0912345678 ext 12",
    "0912345678#", "+8869123456789999999", "０９１２３４５６７８", "tel:+886-2-2345-6789", "+39 06 6982 1234",
    "06 6982 1234", "1-800-FLOWERS", "0912--345--678", "-0912345678", "0912345678-", "+ 886 912 345 678",
])
def test_edge_cases_match_phonenumbers(text: str) -> None:
    for region in ("TW", "IT", "US", "tw"):
        assert phones.try_normalize(text, region) == reference(text, region), (text, region)


def test_normalize_names_what_was_typed_when_invalid() -> None:
    with pytest.raises(ValidationFailed) as caught:
        phones.normalize(" 12345 ", "TW")
    assert caught.value.key == "error.phone_invalid" and caught.value.params["value"] == " 12345 "
    assert phones.normalize("0912 345 678", "tw") == "+886912345678"


def test_display_is_memoised_and_unchanged() -> None:
    assert phones.display("+886912345678", "TW") == "0912 345 678"
    assert phones.display("+886912345678", "tw") == "0912 345 678"
    assert phones.display("+14155550100", "TW") == "+1 415-555-0100"
    assert phones.display("not a number", "TW") == "not a number"
    hits = phones._display.cache_info().hits
    phones.display("+886912345678", "TW")
    assert phones._display.cache_info().hits == hits + 1


def _reference_display(e164: str, region: str) -> str:
    """What phones.display computed before it built numbers itself: parse, region_code_for_number, format."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(number) == region
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def test_display_and_search_digits_agree_with_phonenumbers_parse() -> None:
    """Numbers are built from the stored E.164 without parse(); every region's example numbers (shared country
    codes like +1 and +44 included, leading zeros included) must read exactly as before."""
    rng = random.Random(3)
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    numbers.update(n for c in customers(300, seed=5) for p in c.phones if (n := reference(p, "TW")))
    assert len(numbers) > 400
    homes = (*REGIONS, "GG", "JE", "PR", "KZ", "VA")
    for e164 in sorted(numbers):
        for region in (*rng.sample(homes, 4), "TW", "US", "GB", "IT"):
            assert phones._display.__wrapped__(e164, region) == _reference_display(e164, region), (e164, region)
        national = str(phonenumbers.parse(e164, None).national_number)
        assert phones.query_suffix(e164, "TW") == national[::-1], e164
    for odd in ("+", "+0", "+999", "+1 415 555 0100", "+８８６912345678", "886912345678", "+88691234567890123"):
        assert phones._display.__wrapped__(odd, "TW") == _reference_display(odd, "TW"), odd


def _reference_suffix(text: str, region: str) -> str | None:
    """What query_suffix computed when it validated the number first."""
    typed = phones.digits(text)
    if len(typed) < phones.MIN_SUFFIX:
        return None
    parsed = reference(text, region)
    return str(phonenumbers.parse(parsed, None).national_number)[::-1] if parsed else typed[::-1]


def test_search_digits_are_those_of_the_validated_number() -> None:
    """query_suffix reads a typed number without validating it. For every valid number, in every way people
    type it, it looks up exactly what the validating version did; for anything else (the last digits of a
    number, a number of another country typed as if local) it looks up the digits typed or, with a trunk
    prefix dropped, a suffix of them — never something narrower than what was typed."""
    rng = random.Random(9)
    texts = [p for c in customers(400, seed=13) for p in c.phones]
    checked = 0
    for text in texts:
        for region in ("TW", "CN", "US", "IT"):
            e164 = reference(text, region)
            variants = [text, text[-4:], text[-6:], text[-8:], text[:3]]
            if e164:
                variants += _variants(e164, rng)
            for variant in variants:
                found = phones.query_suffix(variant, region)
                if reference(variant, region) is not None:
                    assert found == _reference_suffix(variant, region), (variant, region)
                    checked += 1
                elif found is None:
                    assert len(phones.digits(variant)) < phones.MIN_SUFFIX, (variant, region)
                else:
                    assert phones.digits(variant)[::-1].startswith(found), (variant, region)
    assert checked > 2000
