"""A number invalid in the team's region is read in the region of the user's language or time zone."""

from __future__ import annotations

import pytest

from crm.core.errors import ValidationFailed
from crm.customers import phones


@pytest.mark.parametrize(("zone", "region"), [("Asia/Shanghai", "CN"), ("Asia/Taipei", "TW"),
                                              ("Asia/Hong_Kong", "HK"), ("America/New_York", "US"),
                                              ("Europe/London", "GB"), ("UTC", None), ("", None)])
def test_the_region_of_a_time_zone(zone: str, region: str | None) -> None:
    assert phones.region_of_timezone(zone) == region


def test_the_region_of_a_language() -> None:
    assert phones.region_of_locale("zh_Hans") == "CN"
    assert phones.region_of_locale("zh_Hant") == "TW"
    assert phones.region_of_locale("en") is None


def test_the_team_region_first_then_the_language_then_the_time_zone() -> None:
    assert phones.normalize_with_fallback("0912-345-678", "TW", locale="zh_Hans") == ("+886912345678", "TW")
    assert phones.normalize_with_fallback("138-0013-8000", "TW", locale="zh_Hans") == ("+8613800138000", "CN")
    assert phones.normalize_with_fallback("138-0013-8000", "TW", locale="en",
                                          timezone="Asia/Shanghai") == ("+8613800138000", "CN")
    assert phones.normalize_with_fallback("(415) 555-0100", "TW", timezone="America/Los_Angeles") == (
        "+14155550100", "US")
    with pytest.raises(ValidationFailed):
        phones.normalize_with_fallback("138-0013-8000", "TW", locale="en", timezone="Asia/Taipei")


def test_foreign_numbers_and_their_country() -> None:
    assert phones.is_foreign("+8613800138000", "TW") and not phones.is_foreign("+886912345678", "tw")
    assert phones.country_name("+8613800138000") == "China"
