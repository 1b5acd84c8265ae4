"""crm.phones: the short path gives exactly what phonenumbers gives, and the memos change nothing."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from bench.data import customers
from crm import phones
from crm.errors import ValidationFailed

REGIONS = ("TW", "CN", "HK", "US", "CA", "GB", "IT", "DE", "FR", "JP", "KR", "SG", "AU", "IN", "BR", "RU", "MX",
           "AR", "CI", "SM")  # AR, MX and BR rewrite national prefixes; IT, CI and SM keep leading zeros


def reference(text: str, region: str) -> str | None:
    """What crm.phones.normalize computed before the short path and the memo: phonenumbers, nothing else."""
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
