"""/timezone's reading of what people type: cities in three languages, IANA names in any case, UTC offsets."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.core.timezones import CITIES, offset_label, resolve

WINTER = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("typed", "zone"), [
    ("Taipei", "Asia/Taipei"), ("台北", "Asia/Taipei"), ("臺北", "Asia/Taipei"), ("臺北市", "Asia/Taipei"),
    ("taipei ", "Asia/Taipei"), ("上海", "Asia/Shanghai"), ("Shanghai", "Asia/Shanghai"), ("北京", "Asia/Shanghai"),
    ("香港", "Asia/Hong_Kong"), ("asia/taipei", "Asia/Taipei"), ("ASIA/TAIPEI", "Asia/Taipei"),
    ("America/New York", "America/New_York"), ("new york", "America/New_York"), ("紐約", "America/New_York"),
    ("纽约", "America/New_York"), ("倫敦", "Europe/London"), ("Lisbon", "Europe/Lisbon"), ("UTC", "UTC"),
    ("UTC+8", "Etc/GMT-8"), ("GMT+08:00", "Etc/GMT-8"), ("+8", "Etc/GMT-8"), ("ＵＴＣ＋８", "Etc/GMT-8"),
    ("UTC-5", "Etc/GMT+5"), ("UTC−3", "Etc/GMT+3"), ("gmt 0", None), ("+0", "UTC"), ("+5:30", "Asia/Kolkata"),
    ("UTC+14", "Etc/GMT-14"), ("+15", None), ("+8:61", None), ("Atlantis", None), ("", None), ("\u200b", None),
])
def test_what_is_understood(typed: str, zone: str | None) -> None:
    assert resolve(typed, now=WINTER) == zone


def test_an_offset_is_the_readers_region_zone_when_it_is_that_zones_offset_now() -> None:
    assert resolve("+8", prefer=("Asia/Taipei", "Europe/London"), now=WINTER) == "Asia/Taipei"
    assert resolve("UTC+8", prefer=("Asia/Shanghai",), now=WINTER) == "Asia/Shanghai"
    # London is UTC+0 in winter and UTC+1 in summer: a preferred zone only counts when the offset is its own now.
    assert resolve("+1", prefer=(None, "Europe/London"), now=SUMMER) == "Europe/London"
    assert resolve("+1", prefer=(None, "Europe/London"), now=WINTER) == "Etc/GMT-1"


def test_offset_labels() -> None:
    assert offset_label("Asia/Taipei", WINTER) == "UTC+8"
    assert offset_label("Etc/GMT+5", WINTER) == "UTC−5"
    assert offset_label("Asia/Kolkata", WINTER) == "UTC+5:30"
    assert offset_label("UTC", WINTER) == "UTC"


def test_every_city_names_a_real_zone() -> None:
    for zone in CITIES:
        assert ZoneInfo(zone) is not None
        assert resolve(zone, now=WINTER) == zone
