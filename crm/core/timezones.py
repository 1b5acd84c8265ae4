"""What a person means by a time zone: "Taipei", "台北", "臺北", "上海", "asia/taipei", "UTC+8", "GMT+08:00", "+8".

People name their city, or the offset they know, far more often than an IANA name. ``resolve`` turns any of
these into an IANA zone name (what the database stores and zoneinfo reads):

- a city or country of the region, or one of the world's big cities, in English, traditional or simplified
  Chinese (``CITIES``);
- any IANA name, case aside (asia/taipei), or its last part when only one zone has it (Lisbon → Europe/Lisbon);
- a UTC offset: the first preferred zone (the user's language region's, the current one) whose offset it is
  now, else a zone of that fixed offset — ``Etc/GMT-8`` for UTC+8: the Etc names have the POSIX sign, inverted.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from crm.core import locales
from crm.core.names import clean

# The zone of each language's region: "+8" from a zh-Hant reader is Taipei time rather than a bare offset.
LOCALE_ZONES = {locales.ZH_HANT: "Asia/Taipei", locales.ZH_HANS: "Asia/Shanghai"}

_TAIPEI = ("taipei", "台北", "taiwan", "台灣", "台湾", "kaohsiung", "高雄", "taichung", "台中", "tainan", "台南",
           "hsinchu", "新竹", "taoyuan", "桃園", "keelung", "基隆", "新北")
_SHANGHAI = ("shanghai", "上海", "beijing", "peking", "北京", "china", "中国", "中國", "shenzhen", "深圳",
             "guangzhou", "canton", "广州", "廣州", "chengdu", "成都", "chongqing", "重庆", "重慶", "hangzhou", "杭州",
             "nanjing", "南京", "wuhan", "武汉", "武漢", "xiamen", "厦门", "廈門", "suzhou", "苏州", "蘇州",
             "tianjin", "天津", "xian", "西安", "qingdao", "青岛", "青島", "dongguan", "东莞", "東莞")
CITIES: dict[str, tuple[str, ...]] = {
    "Asia/Taipei": _TAIPEI,
    "Asia/Shanghai": _SHANGHAI,
    "Asia/Hong_Kong": ("hong kong", "hongkong", "hk", "香港"),
    "Asia/Macau": ("macau", "macao", "澳门", "澳門"),
    "Asia/Singapore": ("singapore", "新加坡"),
    "Asia/Kuala_Lumpur": ("kuala lumpur", "malaysia", "吉隆坡", "马来西亚", "馬來西亞"),
    "Asia/Tokyo": ("tokyo", "osaka", "japan", "东京", "東京", "大阪", "日本"),
    "Asia/Seoul": ("seoul", "korea", "首尔", "首爾", "韩国", "韓國"),
    "Asia/Bangkok": ("bangkok", "thailand", "曼谷", "泰国", "泰國"),
    "Asia/Ho_Chi_Minh": ("ho chi minh", "saigon", "hanoi", "vietnam", "胡志明", "胡志明市", "河内", "河內", "越南"),
    "Asia/Jakarta": ("jakarta", "雅加达", "雅加達"),
    "Asia/Manila": ("manila", "philippines", "马尼拉", "馬尼拉", "菲律宾", "菲律賓"),
    "Asia/Kolkata": ("mumbai", "delhi", "new delhi", "bangalore", "india", "孟买", "孟買", "新德里", "印度"),
    "Asia/Dubai": ("dubai", "迪拜", "杜拜"),
    "Australia/Sydney": ("sydney", "悉尼", "雪梨"),
    "Australia/Melbourne": ("melbourne", "墨尔本", "墨爾本"),
    "Pacific/Auckland": ("auckland", "new zealand", "奥克兰", "奧克蘭", "新西兰", "紐西蘭"),
    "Europe/London": ("london", "uk", "伦敦", "倫敦", "英国", "英國"),
    "Europe/Paris": ("paris", "france", "巴黎", "法国", "法國"),
    "Europe/Berlin": ("berlin", "frankfurt", "munich", "germany", "柏林", "法兰克福", "法蘭克福", "慕尼黑", "德国",
                      "德國"),
    "Europe/Amsterdam": ("amsterdam", "阿姆斯特丹"),
    "Europe/Madrid": ("madrid", "马德里", "馬德里"),
    "Europe/Rome": ("rome", "milan", "罗马", "羅馬", "米兰", "米蘭"),
    "Europe/Moscow": ("moscow", "莫斯科"),
    "Europe/Istanbul": ("istanbul", "伊斯坦布尔", "伊斯坦堡"),
    "America/New_York": ("new york", "nyc", "boston", "washington", "纽约", "紐約", "波士顿", "波士頓", "华盛顿",
                         "華盛頓"),
    "America/Chicago": ("chicago", "芝加哥"),
    "America/Los_Angeles": ("los angeles", "la", "san francisco", "seattle", "洛杉矶", "洛杉磯", "旧金山", "舊金山",
                            "西雅图", "西雅圖"),
    "America/Toronto": ("toronto", "多伦多", "多倫多"),
    "America/Vancouver": ("vancouver", "温哥华", "溫哥華"),
    "America/Mexico_City": ("mexico city", "墨西哥城"),
    "America/Sao_Paulo": ("sao paulo", "são paulo", "圣保罗", "聖保羅"),
    "Africa/Johannesburg": ("johannesburg", "约翰内斯堡", "約翰尼斯堡"),
    "Africa/Cairo": ("cairo", "开罗", "開羅"),
    "Pacific/Honolulu": ("honolulu", "hawaii", "檀香山", "夏威夷"),
    "UTC": ("utc", "gmt", "z", "zulu", "协调世界时", "協調世界時", "格林尼治"),
}

# Offsets that are not whole hours have no Etc zone: the zone most people with that offset live in.
_PART_HOURS = {
    (3, 30): "Asia/Tehran", (4, 30): "Asia/Kabul", (5, 30): "Asia/Kolkata", (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon", (8, 45): "Australia/Eucla", (9, 30): "Australia/Darwin",
    (10, 30): "Australia/Lord_Howe", (12, 45): "Pacific/Chatham", (-3, -30): "America/St_Johns",
    (-9, -30): "Pacific/Marquesas",
}
_OFFSET = re.compile(r"^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$")
_DROP = re.compile(r"[\s_.'’\-]+")


def _key(text: str) -> str:
    """Case, width, spaces, underscores and the 市 of 台北市 aside; 臺 and 台 are the same character to a reader."""
    folded = _DROP.sub("", clean(text).casefold()).replace("臺", "台")
    return folded[:-1] if len(folded) > 2 and folded.endswith("市") else folded


def _iana_key(text: str) -> str:
    return clean(text).casefold().replace(" ", "_")


@cache
def _names() -> tuple[dict[str, str], dict[str, str]]:
    """(every IANA name by its folded form, the zones by a last part only one of them has)."""
    available = zoneinfo.available_timezones()
    whole = {name.casefold(): name for name in available}
    last: dict[str, list[str]] = {}
    for name in available:
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            last.setdefault(_key(name.rsplit("/", 1)[1]), []).append(name)
    cities = {_key(alias): zone for zone, aliases in CITIES.items() for alias in aliases}
    for key, zones in last.items():
        if len(zones) == 1:
            cities.setdefault(key, zones[0])
    return whole, cities


def _offset_of(zone: str, now: datetime) -> timedelta | None:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _from_offset(text: str, prefer: Iterable[str | None], now: datetime) -> str | None:
    match = _OFFSET.match("".join(clean(text).casefold().replace("−", "-").split()))
    if match is None:
        return None
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    wanted = timedelta(hours=sign * hours, minutes=sign * minutes)
    for zone in prefer:
        if zone and _offset_of(zone, now) == wanted:
            return zone
    if minutes:
        return _PART_HOURS.get((sign * hours, sign * minutes))
    if hours == 0:
        return "UTC"
    if -12 <= sign * hours <= 14:
        return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"  # POSIX: Etc/GMT-8 is eight hours ahead of UTC
    return None


def resolve(text: str, *, prefer: Iterable[str | None] = (), now: datetime) -> str | None:
    """The IANA zone ``text`` names, or None. ``prefer``: zones an offset should map to when it is theirs now
    (the reader's language region's, their current one); ``now``: aware, for those zones' offsets."""
    typed = clean(text)
    if not typed:
        return None
    whole, cities = _names()
    return whole.get(_iana_key(typed)) or cities.get(_key(typed)) or _from_offset(typed, prefer, now)


def offset_label(zone: str, now: datetime) -> str:
    """The zone's offset from UTC now: UTC+8, UTC+5:30, UTC−3, UTC."""
    offset = _offset_of(zone, now) or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


__all__ = ["CITIES", "LOCALE_ZONES", "offset_label", "resolve"]
