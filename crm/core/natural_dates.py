"""Natural-language dates and times in English, Traditional Chinese and Simplified Chinese.

A small hand-written grammar (see docs/natural-dates.md for the supported forms and the decisions behind
them). The input is normalised first — NFKC (fullwidth digits and colons), lower case, and the handful of
Traditional characters the grammar uses mapped to Simplified — with a map back to the original positions, so
spans always refer to the text the caller passed in.

An expression is either an *exact* instant ("in 2 hours", "30分钟后", an ISO timestamp) or a sequence of at most
one *date* ("tomorrow", "下周二", "dec 3"), one *period* ("afternoon", "下午") and one *time* ("3pm", "3点半",
"15:30") in any order. Every alternative is tried at a position and the longest match wins.

Nothing here raises for any text: a string that is not a date, or names an impossible one ("2月30日", "25點",
"99999天後"), gives None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import Enum

__all__ = ["ParsedWhen", "find_when", "parse_when", "parse_when_prefix"]


@dataclass(frozen=True)
class ParsedWhen:
    """A date/time expression found in a text."""

    at: datetime
    """Timezone-aware, in the zone of the ``now`` that was passed in."""
    has_time: bool
    """False when only a date was given; ``at`` is then that date at the default time."""
    start: int
    """Span of the matched text in the input."""
    end: int
    text: str
    """The matched text, exactly as it appears in the input."""


# How far from today a result may be; anything outside is treated as nonsense.
_MAX_YEARS_AWAY = 100
# Largest amount accepted in a relative expression ("in N days"), before any arithmetic.
_MAX_AMOUNT = 1_000_000

# ---------------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------------

_TRAD_TO_SIMP = str.maketrans(
    {
        "點": "点",
        "時": "时",
        "週": "周",
        "後": "后",
        "禮": "礼",
        "個": "个",
        "鐘": "钟",
        "鍾": "钟",
        "號": "号",
        "兩": "两",
        "這": "这",
        "過": "过",
        "間": "间",
        "裡": "里",
        "裏": "里",
        "頭": "头",
        "\u2019": "'",
        "\u2018": "'",
    }
)


def _normalize_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower().translate(_TRAD_TO_SIMP)


def _normalize(text: str) -> tuple[str, list[int] | None]:
    """The normalised text and, unless it is position-for-position the same, a map back to the input.

    ``index[i]`` is the position in ``text`` of the character that produced normalised character ``i``.
    """
    if text.isascii():
        return text.lower(), None
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        norm = ch.lower() if ch.isascii() else _normalize_char(ch)
        parts.append(norm)
        index.extend([i] * len(norm))
    return "".join(parts), index


def _original_span(index: list[int] | None, start: int, end: int) -> tuple[int, int]:
    if index is None:
        return start, end
    return index[start], index[end - 1] + 1


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _boundary_ok(s: str, pos: int) -> bool:
    """False when ``pos`` splits a run of ASCII letters/digits (as in "tomorrowland" or "125點")."""
    return not (0 < pos < len(s) and _is_word(s[pos - 1]) and _is_word(s[pos]))


# ---------------------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------------------

_CN_DIGIT = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_NUMBER = re.compile(
    r"(?:(?P<k>[一二两三四五六七八九])千(?P<kz>[零〇])?)?"
    r"(?:(?P<h>[一二两三四五六七八九])百(?P<hz>[零〇])?)?"
    r"(?:(?P<t>[一二两三四五六七八九])?(?P<ten>十))?"
    r"(?P<z>[零〇])?(?P<u>[一二两三四五六七八九])?"
)
_CN_CHARS = "零〇一二两三四五六七八九十百千"


def _cn_int(token: str) -> int | None:
    """A Chinese numeral below 10 000 ("三", "十五", "二十", "一百零五", "零五"); None if malformed."""
    m = _CN_NUMBER.fullmatch(token)
    if m is None or not token:
        return None
    value = 0
    if m["k"]:
        value += _CN_DIGIT[m["k"]] * 1000
    if m["h"]:
        value += _CN_DIGIT[m["h"]] * 100
    if m["ten"]:
        value += (_CN_DIGIT[m["t"]] if m["t"] else 1) * 10
    if m["u"]:
        value += _CN_DIGIT[m["u"]]
    return value


def _int(token: str) -> int | None:
    """An integer written in ASCII digits or Chinese numerals."""
    if token.isascii() and token.isdigit():
        return int(token) if len(token) <= 7 else None
    return _cn_int(token)


# ---------------------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------------------


class _Kind(Enum):
    """How a period of the day reads an hour number ("下午3点" is 15:00, "晚上12点" is midnight)."""

    EARLY = "early"  # 凌晨
    MORNING = "morning"
    NOON = "noon"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    MIDNIGHT = "midnight"


@dataclass(frozen=True, slots=True)
class _Period:
    kind: _Kind
    default: int  # minutes after the start of the day when no hour is given; 24 * 60 is the end of the day
    standalone: bool = False  # may stand alone ("noon", "中午"); others need a date or a time
    needs_time: bool = False  # only with an hour ("晚8点", "凌晨2点")


@dataclass(frozen=True, slots=True)
class _Date:
    day: date
    period: _Period | None = None  # "tonight", "明早"
    bare_weekday: bool = False  # a weekday without this/next: today only if a time later today is given


@dataclass(frozen=True, slots=True)
class _Time:
    hour: int
    minute: int
    second: int = 0
    ampm: str | None = None  # "am" / "pm"
    literal: bool = False  # 24-hour reading is certain: "09:00", "0:30", "15点"
    bare: bool = False  # a lone number ("8 tonight"): only valid next to a period


@dataclass(frozen=True, slots=True)
class _Hit:
    end: int
    at: datetime
    has_time: bool


@dataclass(frozen=True, slots=True)
class _Ctx:
    now: datetime
    tz: tzinfo
    today: date
    default_time: time


_Found = list[tuple[int, _Date]]
_DateHandler = Callable[[re.Match[str], _Ctx], _Found]

_EARLY = _Period(_Kind.EARLY, 5 * 60, needs_time=True)  # "凌晨" alone is too vague to pick an hour
_MORNING = _Period(_Kind.MORNING, 9 * 60)
_MORNING_WITH_HOUR = _Period(_Kind.MORNING, 9 * 60, needs_time=True)
_NOON = _Period(_Kind.NOON, 12 * 60, standalone=True)
_AFTERNOON = _Period(_Kind.AFTERNOON, 14 * 60)
_DUSK = _Period(_Kind.AFTERNOON, 18 * 60)
_EVENING = _Period(_Kind.EVENING, 19 * 60)
_EVENING_WITH_HOUR = _Period(_Kind.EVENING, 19 * 60, needs_time=True)
_LATE_NIGHT = _Period(_Kind.EVENING, 21 * 60)
_MIDNIGHT = _Period(_Kind.MIDNIGHT, 24 * 60, standalone=True)


def _add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the end of a shorter month (Jan 31 + 1 month = Feb 28/29)."""
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, min(d.day, _days_in_month(y, m + 1)))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - timedelta(days=1)).day


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _valid_date(year: int, month: int, day: int) -> date | None:
    if 1 <= month <= 12 and 1 <= day <= 31 and 1 <= year <= 9999 and day <= _days_in_month(year, month):
        return date(year, month, day)
    return None


def _next_month_day(today: date, month: int, day: int) -> date | None:
    """The next (today or later) occurrence of a month and day; Feb 29 waits for a leap year."""
    for year in range(today.year, today.year + 9):
        d = _valid_date(year, month, day)
        if d is not None and d >= today:
            return d
    return None


def _next_day_of_month(today: date, day: int) -> date | None:
    """The next (today or later) date with this day of the month ("31号" skips 30-day months)."""
    first = today.replace(day=1)
    for k in range(13):
        m = _add_months(first, k)
        d = _valid_date(m.year, m.month, day)
        if d is not None and d >= today:
            return d
    return None


def _localize(wall: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a wall-clock time. A time in a DST gap moves forward by the length of the gap
    (02:30 on a spring-forward night becomes 03:30); a repeated time takes its first occurrence."""
    aware = wall.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz)


def _next_after(wall: datetime, now: datetime, tz: tzinfo) -> datetime | None:
    """``wall`` localised if that instant is still ahead of ``now``; for a wall-clock time that happens twice
    (the hour repeated when DST ends) the second occurrence counts too. Compared as instants, not wall times."""
    first = _localize(wall, tz)
    if first.astimezone(UTC) > now.astimezone(UTC):
        return first
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).astimezone(tz)
    if second.replace(tzinfo=None, fold=0) == wall and second.astimezone(UTC) > now.astimezone(UTC):
        return second
    return None


# ---------------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------------

_B = r"(?![a-z0-9])"  # end of an English word
_WEEKDAY_EN = (
    r"(?P<wd>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)\.?"
)
_WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MONTH_EN = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTH_INDEX = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_YEAR_SUFFIX = re.compile(r",?\s*(?P<y>[0-9]{4})(?![0-9:a-z])")
_CN_NUM = "[" + _CN_CHARS + "]"
_DAY_NUM = r"(?:[0-9]{1,2}(?![0-9])|[零〇一二两三四五六七八九十]{1,3})"
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "7": 6}
_ZH_WEEK_OFFSET = {None: 0, "本": 0, "这": 0, "下": 1, "下下": 2, "上": -1, "上上": -2}


def _relative(days: int, period: _Period | None = None) -> _DateHandler:
    def handler(m: re.Match[str], c: _Ctx) -> _Found:
        return [(m.end(), _Date(c.today + timedelta(days=days), period))]

    return handler


def _this_period_en(m: re.Match[str], c: _Ctx) -> _Found:
    period = {"morning": _MORNING, "afternoon": _AFTERNOON, "evening": _EVENING}[m["per"]]
    return [(m.end(), _Date(c.today, period))]


def _weekday(c: _Ctx, wd: int, mode: str | int) -> _Date:
    """``mode``: "bare" (next occurrence, maybe today), "coming" (strictly after today) or a week offset
    (0 = this Monday-to-Sunday week, 1 = next week, ...)."""
    if mode == "bare":
        return _Date(c.today + timedelta(days=(wd - c.today.weekday()) % 7), bare_weekday=True)
    if mode == "coming":
        return _Date(c.today + timedelta(days=(wd - c.today.weekday()) % 7 or 7))
    return _Date(_monday(c.today) + timedelta(days=7 * int(mode) + wd))


def _weekday_en(m: re.Match[str], c: _Ctx) -> _Found:
    wd = _WEEKDAY_INDEX[m["wd"][:3]]
    mod = " ".join(m["mod"].split()) if m["mod"] else None
    week = m["wk"]
    if mod is not None and week is not None:
        return []
    mode: str | int
    if week is not None:
        mode = {"this": 0, "next": 1, "last": -1}[week]
    elif mod is None:
        mode = "bare"
    elif mod in ("coming", "this coming"):
        mode = "coming"
    else:
        mode = {"this": 0, "next": 1, "last": -1}[mod]
    return [(m.end(), _weekday(c, wd, mode))]


def _week_start(offset: int) -> _DateHandler:
    def handler(m: re.Match[str], c: _Ctx) -> _Found:
        return [(m.end(), _Date(_monday(c.today) + timedelta(days=7 * offset)))]

    return handler


def _weekend(c: _Ctx, offset: int) -> _Date:
    if offset == 0 and c.today.weekday() >= 5:
        return _Date(c.today)
    return _Date(_monday(c.today) + timedelta(days=7 * offset + 5))


def _weekend_en(offset: int) -> _DateHandler:
    def handler(m: re.Match[str], c: _Ctx) -> _Found:
        return [(m.end(), _weekend(c, offset))]

    return handler


def _month_start(offset: int) -> _DateHandler:
    def handler(m: re.Match[str], c: _Ctx) -> _Found:
        return [(m.end(), _Date(_add_months(c.today.replace(day=1), offset)))]

    return handler


def _month_end(offset: int) -> _DateHandler:
    def handler(m: re.Match[str], c: _Ctx) -> _Found:
        first = _add_months(c.today.replace(day=1), offset)
        return [(m.end(), _Date(first.replace(day=_days_in_month(first.year, first.month))))]

    return handler


def _year_end(m: re.Match[str], c: _Ctx) -> _Found:
    return [(m.end(), _Date(date(c.today.year, 12, 31)))]


def _next_year(m: re.Match[str], c: _Ctx) -> _Found:
    return [(m.end(), _Date(date(c.today.year + 1, 1, 1)))]


def _with_year_suffix(m: re.Match[str], c: _Ctx, month: int, day: int) -> _Found:
    """A month and day with no year (next occurrence), plus, when a year follows, the same date in that year."""
    out: _Found = []
    d = _next_month_day(c.today, month, day)
    if d is not None:
        out.append((m.end(), _Date(d)))
    ym = _YEAR_SUFFIX.match(m.string, m.end())
    if ym is not None:
        d = _valid_date(int(ym["y"]), month, day)
        if d is not None:
            out.append((ym.end(), _Date(d)))
    return out


def _month_day_en(m: re.Match[str], c: _Ctx) -> _Found:
    return _with_year_suffix(m, c, _MONTH_INDEX[m["mon"][:3]], int(m["d"]))


def _ymd(m: re.Match[str], c: _Ctx) -> _Found:
    d = _valid_date(int(m["y"]), int(m["m"]), int(m["d"]))
    return [] if d is None else [(m.end(), _Date(d))]


def _mdy(m: re.Match[str], c: _Ctx) -> _Found:
    month, day = int(m["m"]), int(m["d"])
    if m["y"] is None:
        d = _next_month_day(c.today, month, day)
    else:
        year = int(m["y"])
        d = _valid_date(year + 2000 if year < 100 else year, month, day)
    return [] if d is None else [(m.end(), _Date(d))]


def _day_of_month(m: re.Match[str], c: _Ctx) -> _Found:
    day = _int(m["d"])
    d = None if day is None else _next_day_of_month(c.today, day)
    return [] if d is None else [(m.end(), _Date(d))]


def _zh_mod(mod: str | None) -> str | None:
    return None if mod is None else mod.replace("个", "")


def _weekday_zh(m: re.Match[str], c: _Ctx) -> _Found:
    char = m["wd"]
    wd = _ZH_WEEKDAY[char] if char in _ZH_WEEKDAY else int(char) - 1
    mod = _zh_mod(m["mod"])
    return [(m.end(), _weekday(c, wd, "bare" if mod is None else _ZH_WEEK_OFFSET[mod]))]


def _week_zh(m: re.Match[str], c: _Ctx) -> _Found:
    offset = _ZH_WEEK_OFFSET[_zh_mod(m["mod"])]
    return [(m.end(), _Date(_monday(c.today) + timedelta(days=7 * offset)))]


def _weekend_zh(m: re.Match[str], c: _Ctx) -> _Found:
    return [(m.end(), _weekend(c, _ZH_WEEK_OFFSET[_zh_mod(m["mod"])]))]


def _month_zh(m: re.Match[str], c: _Ctx) -> _Found:
    mod = _zh_mod(m["mod"])
    offset = _ZH_WEEK_OFFSET[mod]
    first = _add_months(c.today.replace(day=1), offset)
    if m["d"] is not None:
        day = _int(m["d"])
        d = None if day is None else _valid_date(first.year, first.month, day)
        return [] if d is None else [(m.end(), _Date(d))]
    if m["end"] is not None:
        return [(m.end(), _Date(first.replace(day=_days_in_month(first.year, first.month))))]
    if offset <= 0:  # "本月" / "月" alone name no particular day
        return []
    return [(m.end(), _Date(first))]


def _month_day_zh(m: re.Match[str], c: _Ctx) -> _Found:
    month, day = _int(m["m"]), _int(m["d"])
    if month is None or day is None or (m["suf"] is None and not m["d"].isascii()):
        return []
    if m["y"] is not None:
        d = _valid_date(int(m["y"]), month, day)
    elif m["yr"] is not None:
        d = _valid_date(c.today.year + {"今年": 0, "明年": 1, "去年": -1}[m["yr"]], month, day)
    else:
        d = _next_month_day(c.today, month, day)
    return [] if d is None else [(m.end(), _Date(d))]


_ZH_WEEK_MOD = r"(?P<mod>下下个?|下个?|上上个?|上个?|本|这个?)"
_DATE_RULES: list[tuple[str, str, _DateHandler]] = [
    # (characters an expression can start with: a = ASCII letter, d = digit, c = other; pattern; handler)
    ("a", r"(?:the\s+)?day\s+after\s+tomorrow" + _B, _relative(2)),
    ("a", r"(?:the\s+)?day\s+before\s+yesterday" + _B, _relative(-2)),
    ("a", r"today" + _B, _relative(0)),
    ("a", r"(?:tonight|tonite)" + _B, _relative(0, _EVENING)),
    ("a", r"(?:tomorrow|tomorow|tmrw|tmr)" + _B, _relative(1)),
    ("a", r"yesterday" + _B, _relative(-1)),
    ("a", r"this\s+(?P<per>morning|afternoon|evening)" + _B, _this_period_en),
    (
        "a",
        r"(?:(?P<mod>this\s+coming|coming|this|next|last)\s+)?"
        + _WEEKDAY_EN
        + _B
        + r"(?:\s+(?P<wk>this|next|last)\s+week"
        + _B
        + ")?",
        _weekday_en,
    ),
    ("a", r"next\s+week" + _B, _week_start(1)),
    ("a", r"(?:the\s+)?week\s+after\s+next" + _B, _week_start(2)),
    ("a", r"last\s+week" + _B, _week_start(-1)),
    ("a", r"next\s+month" + _B, _month_start(1)),
    ("a", r"(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month|eom)" + _B, _month_end(0)),
    ("a", r"(?:the\s+)?end\s+of\s+next\s+month" + _B, _month_end(1)),
    ("a", r"(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?year" + _B, _year_end),
    ("a", r"next\s+year" + _B, _next_year),
    ("a", r"(?:this\s+|the\s+)?weekend" + _B, _weekend_en(0)),
    ("a", r"next\s+weekend" + _B, _weekend_en(1)),
    ("a", _MONTH_EN + r"\s*(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?" + _B, _month_day_en),
    (
        "ad",
        r"(?:the\s+)?(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?\s*(?:of\s+)?" + _MONTH_EN + r"(?![a-z])",
        _month_day_en,
    ),
    ("a", r"the\s+(?P<d>[0-9]{1,2})(?:st|nd|rd|th)" + _B, _day_of_month),
    ("d", r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])", _ymd),
    ("d", r"(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?(?![0-9/])", _mdy),
    ("c", r"大后天", _relative(3)),
    ("c", r"后天", _relative(2)),
    ("c", r"明天|明日", _relative(1)),
    ("c", r"今天|今日", _relative(0)),
    ("c", r"昨天|昨日", _relative(-1)),
    ("c", r"大前天", _relative(-3)),
    ("c", r"前天", _relative(-2)),
    ("c", r"今早|今晨", _relative(0, _MORNING)),
    ("c", r"今晚", _relative(0, _EVENING)),
    ("c", r"明早|明晨", _relative(1, _MORNING)),
    ("c", r"明晚", _relative(1, _EVENING)),
    ("c", r"昨晚", _relative(-1, _EVENING)),
    ("c", _ZH_WEEK_MOD + r"?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])(?![0-9])", _weekday_zh),
    ("c", r"(?P<mod>下下个?|下个?|上上个?|上个?)(?:周|星期|礼拜)", _week_zh),
    ("c", _ZH_WEEK_MOD + r"?周末", _weekend_zh),
    (
        "c",
        r"(?P<mod>下下个?|下个?|本|这个?|上个?)?月(?:(?P<d>" + _DAY_NUM + r")(?:号|日)|(?P<end>底|末))?",
        _month_zh,
    ),
    ("c", r"(?:今年)?年(?:底|末)", _year_end),
    (
        "cd",
        r"(?:(?P<y>[0-9]{4})年|(?P<yr>今年|明年|去年))?(?P<m>"
        + _DAY_NUM
        + r")月(?P<d>"
        + _DAY_NUM
        + r")(?P<suf>日|号)?",
        _month_day_zh,
    ),
    ("cd", r"(?P<d>" + _DAY_NUM + r")(?:号|日)", _day_of_month),
]


def _compile_rules(rules: list[tuple[str, str, _DateHandler]]) -> dict[str, list[tuple[re.Pattern[str], _DateHandler]]]:
    table: dict[str, list[tuple[re.Pattern[str], _DateHandler]]] = {"a": [], "d": [], "c": []}
    for starts, pattern, handler in rules:
        compiled = re.compile(pattern)
        for kind in starts:
            table[kind].append((compiled, handler))
    return table


_DATES_BY_START = _compile_rules(_DATE_RULES)
_DATE_PREFIX = re.compile(r"(?:on|by)\s+")


def _start_kind(ch: str) -> str:
    if ch.isascii():
        return "d" if ch.isdigit() else "a"
    return "d" if ch in _CN_CHARS else "c"


# ---------------------------------------------------------------------------------------------------------------
# Relative durations ("in 2 hours", "3天后")
# ---------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Duration:
    months: int = 0
    days: int = 0
    seconds: float = 0.0
    fine: bool = False  # has hours, minutes or seconds: an instant rather than a date

    def add(self, amount: float, unit: str) -> bool:
        """Add ``amount`` of ``unit``; False if the amount is not allowed for that unit (half a month)."""
        if amount > _MAX_AMOUNT:
            return False
        if unit in ("s", "min", "h"):
            self.fine = True
            self.seconds += amount * {"s": 1, "min": 60, "h": 3600}[unit]
            return True
        if amount != int(amount):
            return False
        n = int(amount)
        if unit == "d":
            self.days += n
        elif unit == "w":
            self.days += 7 * n
        elif unit == "mo":
            self.months += n
        else:
            self.months += 12 * n
        return True


_EN_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty-five": 45, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_EN_AMOUNT = re.compile(
    r"(?P<half>half\s+an?\s+|half\s+)"
    r"|(?P<num>[0-9]{1,7}(?:\.[0-9]{1,3})?)(?![0-9])(?P<sp>\s*)"
    r"|(?P<word>" + "|".join(sorted(_EN_WORD_NUMBERS, key=len, reverse=True)) + r")\s+"
)
_EN_UNIT = re.compile(
    r"(?P<u>seconds?|secs?|minutes?|mins?|months?|mos?|hours?|hrs?|days?|weeks?|wks?|years?|yrs?|[smhdwy])"
    r"(?![a-z])"
)
_EN_UNIT_NAME = {
    "se": "s",
    "mi": "min",
    "mo": "mo",
    "ho": "h",
    "hr": "h",
    "da": "d",
    "we": "w",
    "wk": "w",
    "ye": "y",
    "yr": "y",
    "s": "s",
    "m": "min",
    "h": "h",
    "d": "d",
    "w": "w",
    "y": "y",
}
_EN_COMPACT_UNITS = frozenset({"h", "hr", "hrs", "m", "min", "mins", "d", "w"})  # "2h", "30min", "1h30m"
_EN_AND_A_HALF = re.compile(r"\s+and\s+a\s+half" + _B)
_EN_DURATION_SEP = re.compile(r"\s*,?\s*(?:and\s+)?")
_EN_COMPACT_MINUTES = re.compile(r"(?P<mm>[0-9]{1,2})(?![0-9a-z])")
_EN_IN = re.compile(r"in\s+")
_EN_LATER = re.compile(r"\s+(?:from\s+now|from\s+today|later|hence)" + _B)


def _en_duration(s: str, pos: int) -> tuple[int, _Duration, bool] | None:
    """Amount-unit pairs from ``pos``: (end, duration, compact) where compact means "2h" / "1h30m" style."""
    duration = _Duration()
    end = -1
    compact = True
    while True:
        am = _EN_AMOUNT.match(s, pos)
        if am is None:
            break
        if am["half"]:
            amount = 0.5
        elif am["num"]:
            amount = float(am["num"])
        else:
            amount = float(_EN_WORD_NUMBERS[am["word"]])
        um = _EN_UNIT.match(s, am.end())
        if um is None:
            break
        unit_word = um["u"]
        if len(unit_word) == 1 and not am["num"]:
            break
        unit = _EN_UNIT_NAME.get(unit_word[:2]) or _EN_UNIT_NAME[unit_word[0]]
        compact = compact and bool(am["num"]) and not am["sp"] and unit_word in _EN_COMPACT_UNITS
        stop = um.end()
        half = _EN_AND_A_HALF.match(s, stop)
        if half is not None:
            amount += 0.5
            stop = half.end()
            compact = False
        if not duration.add(amount, unit):
            return None
        if unit == "h" and am["num"] and not am["sp"]:
            mm = _EN_COMPACT_MINUTES.match(s, stop)
            if mm is not None:
                duration.add(float(mm["mm"]), "min")
                stop = mm.end()
        end = stop
        sep = _EN_DURATION_SEP.match(s, end)
        pos = sep.end() if sep is not None else end
    if end < 0:
        return None
    return end, duration, compact


_ZH_DURATION_PART = re.compile(
    r"(?P<num>[0-9]{1,7}(?:\.[0-9]{1,2})?(?![0-9])|" + _CN_NUM + r"{1,6})?(?P<g1>个)?(?P<h1>半)?(?P<g2>个)?"
    r"(?P<u>秒钟|秒|分钟|分|小时|钟头|钟|天|日|周|星期|礼拜|月|年)(?P<h2>半)?"
)
_ZH_UNIT_NAME = {
    "秒钟": "s",
    "秒": "s",
    "分钟": "min",
    "分": "min",
    "小时": "h",
    "钟头": "h",
    "钟": "h",
    "天": "d",
    "日": "d",
    "周": "w",
    "星期": "w",
    "礼拜": "w",
    "月": "mo",
    "年": "y",
}
_ZH_LATER = re.compile(r"\s*(?:之后|以后|过后|后)")


def _zh_duration(s: str, pos: int) -> tuple[int, _Duration] | None:
    duration = _Duration()
    end = -1
    while True:
        m = _ZH_DURATION_PART.match(s, pos)
        if m is None or not (m["num"] or m["h1"]):
            break
        unit = _ZH_UNIT_NAME[m["u"]]
        has_ge = bool(m["g1"] or m["g2"])
        if m["u"] in ("月", "钟") and not has_ge:
            break  # "3月后" is "after March"; "3个月后" is three months later
        amount = 0.0
        if m["num"]:
            if m["num"].isascii():
                amount = float(m["num"])
            else:
                value = _cn_int(m["num"])
                if value is None:
                    return None
                amount = float(value)
        if m["h1"] or m["h2"]:
            amount += 0.5
        if not duration.add(amount, unit):
            return None
        pos = end = m.end()
    if end < 0:
        return None
    later = _ZH_LATER.match(s, end)
    if later is None:
        return None
    return later.end(), duration


# ---------------------------------------------------------------------------------------------------------------
# Periods and times of day
# ---------------------------------------------------------------------------------------------------------------

_PERIOD_EN = re.compile(r"(?:(?:in\s+the|at)\s+)?(?P<w>morning|afternoon|evening|night|noon|midday|midnight)" + _B)
_PERIOD_EN_NAMES = {
    "morning": _MORNING, "afternoon": _AFTERNOON, "evening": _EVENING, "night": _EVENING,
    "noon": _NOON, "midday": _NOON, "midnight": _MIDNIGHT,
}  # fmt: skip
_PERIOD_ZH = re.compile(r"凌晨|早上|早晨|上午|中午|午间|下午|傍晚|晚上|晚间|夜晚|夜里|夜间|半夜|午夜|早|晚")
_PERIOD_ZH_NAMES = {
    "凌晨": _EARLY, "早上": _MORNING, "早晨": _MORNING, "上午": _MORNING, "早": _MORNING_WITH_HOUR,
    "中午": _NOON, "午间": _NOON, "下午": _AFTERNOON, "傍晚": _DUSK, "晚上": _EVENING, "晚间": _EVENING,
    "夜晚": _EVENING, "晚": _EVENING_WITH_HOUR, "夜里": _LATE_NIGHT, "夜间": _LATE_NIGHT,
    "半夜": _MIDNIGHT, "午夜": _MIDNIGHT,
}  # fmt: skip

_AMPM = r"(?:\s*(?P<ap>a\.m\.?|p\.m\.?|am|pm)" + _B + ")"
_TIME_COLON = re.compile(r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?![0-9:])" + _AMPM + "?")
_TIME_DOT_AMPM = re.compile(r"(?P<h>[0-9]{1,2})\.(?P<mi>[0-9]{2})" + _AMPM)
_TIME_HOUR_AMPM = re.compile(r"(?P<h>[0-9]{1,2})" + _AMPM)
_EN_HOUR_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_TIME_OCLOCK = re.compile(r"(?P<h>[0-9]{1,2}|" + "|".join(_EN_HOUR_WORDS) + r")\s*o'?\s?clock" + _B)
_TIME_ZH = re.compile(
    r"(?P<h>[0-9]{1,2}(?![0-9])|[零〇一二两三四五六七八九十]{1,3})(?P<hp>(?:点|时)钟?)"
    r"(?:(?P<half>半)|(?P<q1>一刻)|(?P<q3>三刻)|(?P<zheng>整)"
    r"|(?P<mi>[0-9]{1,2}(?![0-9])|[零〇一二三四五六七八九十]{1,4})(?P<fen>分钟?)?)?"
)
_TIME_AT = re.compile(r"(?:(?:at|around|by)\s+|@\s*)")
_TIME_AT_HOUR = re.compile(r"(?P<h>[0-9]{1,2})(?![0-9:a-z])")
_TIME_BARE_HOUR = re.compile(r"(?P<h>[0-9]{1,2})(?=\s|,|$)")


def _clock(
    h: int, mi: int, sec: int = 0, *, ampm: str | None = None, literal: bool = False, bare: bool = False
) -> _Time | None:
    if not (0 <= h <= 24 and 0 <= mi <= 59 and 0 <= sec <= 59) or (h == 24 and (mi or sec)):
        return None
    if ampm is not None:
        if not 1 <= h <= 12:
            return None
        ampm = "am" if ampm.startswith("a") else "pm"
    return _Time(h, mi, sec, ampm, literal or h == 0 or h >= 13, bare)


def _time_zh(m: re.Match[str]) -> list[tuple[int, _Time]]:
    hour = _int(m["h"])
    if hour is None:
        return []
    literal = m["h"].startswith("0") and len(m["h"]) == 2
    out: list[tuple[int, _Time]] = []
    minute: int | None = None
    if m["half"]:
        minute = 30
    elif m["q1"]:
        minute = 15
    elif m["q3"]:
        minute = 45
    elif m["zheng"]:
        minute = 0
    elif m["mi"]:
        token = m["mi"]
        # "三点十五" / "三点零五" / "三点五分" read as minutes; "三点三个人" does not
        if token.isascii() or m["fen"] or "十" in token or token[0] in "零〇":
            minute = _int(token)
            if minute is None:
                return []
    if minute is not None:
        t = _clock(hour, minute, literal=literal)
        if t is not None:
            out.append((m.end(), t))
        return out
    t = _clock(hour, 0, literal=literal)
    return [] if t is None else [(m.end("hp"), t)]


def _time_cores(s: str, pos: int, *, after_at: bool) -> list[tuple[int, _Time]]:
    out: list[tuple[int, _Time]] = []
    m = _TIME_COLON.match(s, pos)
    if m is not None:
        h = int(m["h"])
        t = _clock(h, int(m["mi"]), int(m["s"] or 0), ampm=m["ap"], literal=len(m["h"]) == 2 and h < 10)
        if t is not None:
            out.append((m.end(), t))
    for rx in (_TIME_DOT_AMPM, _TIME_HOUR_AMPM):
        m = rx.match(s, pos)
        if m is not None:
            mi = m.groupdict().get("mi")
            t = _clock(int(m["h"]), int(mi or 0), ampm=m["ap"])
            if t is not None:
                out.append((m.end(), t))
    m = _TIME_OCLOCK.match(s, pos)
    if m is not None:
        h = _EN_HOUR_WORDS[m["h"]] if m["h"] in _EN_HOUR_WORDS else int(m["h"])
        t = _clock(h, 0)
        if t is not None:
            out.append((m.end(), t))
    m = _TIME_ZH.match(s, pos)
    if m is not None:
        out.extend(_time_zh(m))
    m = (_TIME_AT_HOUR if after_at else _TIME_BARE_HOUR).match(s, pos)
    if m is not None:
        t = _clock(int(m["h"]), 0, bare=not after_at)
        if t is not None:
            out.append((m.end(), t))
    return out


def _hour_in_period(h: int, kind: _Kind) -> int | None:
    """The 24-hour clock hour (24+ meaning after midnight) for an hour said with a period of the day."""
    if kind is _Kind.EARLY:
        return 0 if h in (0, 12) else (h if h <= 8 else None)
    if kind is _Kind.MORNING:
        return h if h <= 12 else None
    if kind is _Kind.NOON:
        if h in (11, 12) or 13 <= h <= 15:
            return h
        return h + 12 if 1 <= h <= 3 else None
    if kind is _Kind.AFTERNOON:
        return h + 12 if 1 <= h <= 11 else (h if 12 <= h <= 23 else None)
    if kind is _Kind.EVENING:
        if h in (0, 12, 24):
            return 24
        if 1 <= h <= 3:
            return 24 + h
        if 4 <= h <= 11:
            return h + 12
        return h if 16 <= h <= 23 else None
    # MIDNIGHT
    if h in (0, 12, 24):
        return 24
    return 24 + h if 1 <= h <= 5 else None


def _hour(t: _Time, period: _Period | None) -> int | None:
    if t.ampm is not None:
        return t.hour % 12 + (12 if t.ampm == "pm" else 0)
    if period is not None:
        return _hour_in_period(t.hour, period.kind)
    if t.literal:
        return t.hour
    # No am/pm, no period: working hours. 1-6 are afternoon, 7-12 as said.
    return t.hour + 12 if 1 <= t.hour <= 6 else t.hour


# ---------------------------------------------------------------------------------------------------------------
# Exact instants
# ---------------------------------------------------------------------------------------------------------------

_ISO_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[t ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?)?(?P<tz>z|[+-][0-9]{2}(?::?[0-9]{2})?)?(?![0-9a-z:])"
)


def _iso(m: re.Match[str], c: _Ctx) -> datetime | None:
    day = _valid_date(int(m["y"]), int(m["m"]), int(m["d"]))
    h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if day is None or h > 23 or mi > 59 or sec > 59:
        return None
    wall = datetime(day.year, day.month, day.day, h, mi, sec, int((m["f"] or "0").ljust(6, "0")))
    offset = m["tz"]
    if offset is None:
        return _localize(wall, c.tz)
    if offset == "z":
        zone = UTC
    else:
        digits = offset[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:] or 0)
        if oh > 23 or om > 59:
            return None
        delta = timedelta(hours=oh, minutes=om)
        zone = timezone(-delta if offset[0] == "-" else delta)
    return wall.replace(tzinfo=zone).astimezone(c.tz)


# ---------------------------------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"[\s,]*(?:的\s*)?")


class _Parser:
    """All readings of a normalised text at one position; results of the building blocks are memoised."""

    def __init__(self, s: str, ctx: _Ctx) -> None:
        self.s = s
        self.c = ctx
        self._dates: dict[int, list[tuple[int, _Date]]] = {}
        self._periods: dict[int, list[tuple[int, _Period]]] = {}
        self._times: dict[int, list[tuple[int, _Time]]] = {}
        self._durations: dict[int, tuple[list[tuple[int, _Date]], list[_Hit]]] = {}

    # -- building blocks --------------------------------------------------------------------------------------

    def dates(self, pos: int) -> list[tuple[int, _Date]]:
        found = self._dates.get(pos)
        if found is None:
            found = self._dates[pos] = self._find_dates(pos, allow_prefix=True)
        return found

    def _find_dates(self, pos: int, *, allow_prefix: bool) -> list[tuple[int, _Date]]:
        s = self.s
        out: list[tuple[int, _Date]] = []
        if pos >= len(s):
            return out
        for rx, handler in _DATES_BY_START[_start_kind(s[pos])]:
            m = rx.match(s, pos)
            if m is not None:
                out.extend(handler(m, self.c))
        out.extend(self.durations(pos)[0])
        if allow_prefix:
            pm = _DATE_PREFIX.match(s, pos)
            if pm is not None:
                out.extend(self._find_dates(pm.end(), allow_prefix=False))
        return [(e, d) for e, d in out if _boundary_ok(s, e)]

    def periods(self, pos: int) -> list[tuple[int, _Period]]:
        found = self._periods.get(pos)
        if found is None:
            found = []
            m = _PERIOD_EN.match(self.s, pos)
            if m is not None:
                found.append((m.end(), _PERIOD_EN_NAMES[m["w"]]))
            m = _PERIOD_ZH.match(self.s, pos)
            if m is not None:
                found.append((m.end(), _PERIOD_ZH_NAMES[m[0]]))
            self._periods[pos] = found
        return found

    def times(self, pos: int) -> list[tuple[int, _Time]]:
        found = self._times.get(pos)
        if found is None:
            found = _time_cores(self.s, pos, after_at=False)
            m = _TIME_AT.match(self.s, pos)
            if m is not None:
                found += _time_cores(self.s, m.end(), after_at=True)
            found = self._times[pos] = [(e, t) for e, t in found if _boundary_ok(self.s, e)]
        return found

    def durations(self, pos: int) -> tuple[list[tuple[int, _Date]], list[_Hit]]:
        """Relative expressions at ``pos``: whole days and more are dates, anything finer is an instant."""
        found = self._durations.get(pos)
        if found is None:
            found = self._durations[pos] = ([], [])
            for end, duration in self._find_durations(pos):
                if not _boundary_ok(self.s, end):
                    continue
                try:
                    if duration.fine:
                        at = self._after(duration)
                        if at is not None:
                            found[1].append(_Hit(end, at, True))
                    else:
                        day = _add_months(self.c.today, duration.months) + timedelta(days=duration.days)
                        found[0].append((end, _Date(day)))
                except (ValueError, OverflowError):  # beyond the calendar
                    continue
        return found

    def _find_durations(self, pos: int) -> list[tuple[int, _Duration]]:
        s = self.s
        out: list[tuple[int, _Duration]] = []
        if pos >= len(s):
            return out
        m = _EN_IN.match(s, pos)
        if m is not None:
            d = _en_duration(s, m.end())
            if d is not None:
                out.append((d[0], d[1]))
        d = _en_duration(s, pos)
        if d is not None:
            later = _EN_LATER.match(s, d[0])
            if later is not None:
                out.append((later.end(), d[1]))
            elif d[2]:
                out.append((d[0], d[1]))
        zh = _zh_duration(s, pos)
        if zh is not None:
            out.append(zh)
        return out

    def _after(self, duration: _Duration) -> datetime | None:
        """``now`` plus a duration: calendar months and days on the wall clock, then hours as elapsed time."""
        c = self.c
        base = c.now
        if duration.months or duration.days:
            day = _add_months(c.today, duration.months) + timedelta(days=duration.days)
            base = _localize(datetime.combine(day, c.now.time()), c.tz)
        if abs(duration.seconds) > _MAX_YEARS_AWAY * 366 * 86400:
            return None
        return (base.astimezone(UTC) + timedelta(seconds=duration.seconds)).astimezone(c.tz)

    # -- whole expressions ------------------------------------------------------------------------------------

    def hits(self, pos: int) -> list[_Hit]:
        s = self.s
        out: list[_Hit] = []
        if pos >= len(s) or not _boundary_ok(s, pos):
            return out
        m = _ISO_DATETIME.match(s, pos)
        if m is not None:
            at = _iso(m, self.c)
            if at is not None:
                out.append(_Hit(m.end(), at, True))
        out.extend(self.durations(pos)[1])
        self._sequence(pos, None, None, None, out, first=True)
        return [h for h in out if abs(h.at.year - self.c.today.year) <= _MAX_YEARS_AWAY]

    def _sequence(
        self, pos: int, d: _Date | None, p: _Period | None, t: _Time | None, out: list[_Hit], *, first: bool = False
    ) -> None:
        """Extend a date/period/time sequence by one more part, recording every complete reading."""
        if not first:
            hit = self._build(pos, d, p, t)
            if hit is not None:
                out.append(hit)
            sep = _SEPARATOR.match(self.s, pos)
            pos = sep.end() if sep is not None else pos
            if not _boundary_ok(self.s, pos):
                return
        if d is None:
            for end, date_ in self.dates(pos):
                self._sequence(end, date_, p, t, out)
        if p is None:
            for end, period in self.periods(pos):
                self._sequence(end, d, period, t, out)
        if t is None:
            for end, time_ in self.times(pos):
                self._sequence(end, d, p, time_, out)

    def _build(self, end: int, d: _Date | None, p: _Period | None, t: _Time | None) -> _Hit | None:
        c = self.c
        period = p
        if d is not None and d.period is not None:
            if p is not None:
                return None
            period = d.period
        if t is not None and t.bare and period is None:
            return None
        if period is not None and period.needs_time and t is None:
            return None
        if d is None and t is None and (p is None or not p.standalone):
            return None
        if t is not None:
            hour = _hour(t, period)
            if hour is None:
                return None
            offset = timedelta(hours=hour, minutes=t.minute, seconds=t.second)
        elif period is not None:
            offset = timedelta(minutes=period.default)
        else:
            dt = c.default_time
            offset = timedelta(hours=dt.hour, minutes=dt.minute, seconds=dt.second, microseconds=dt.microsecond)
        has_time = t is not None or period is not None
        wall = datetime.combine(c.today if d is None else d.day, time()) + offset
        if d is None:  # a time of day already past today means tomorrow
            at = _next_after(wall, c.now, c.tz) or _localize(wall + timedelta(days=1), c.tz)
        elif d.bare_weekday and d.day == c.today:  # today only with a time still ahead, else next week
            ahead = _next_after(wall, c.now, c.tz) if has_time else None
            at = ahead or _localize(wall + timedelta(days=7), c.tz)
        else:
            at = _localize(wall, c.tz)
        return _Hit(end, at, has_time)


def _context(now: datetime, default_time: time) -> _Ctx:
    tz = now.tzinfo
    if tz is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return _Ctx(now, tz, now.date(), default_time)


def _best(hits: list[_Hit]) -> _Hit | None:
    best: _Hit | None = None
    for hit in hits:
        if best is None or hit.end > best.end:
            best = hit
    return best


def _result(text: str, index: list[int] | None, start: int, hit: _Hit) -> ParsedWhen:
    o_start, o_end = _original_span(index, start, hit.end)
    return ParsedWhen(hit.at, hit.has_time, o_start, o_end, text[o_start:o_end])


def _safe_hits(parser: _Parser, pos: int) -> list[_Hit]:
    try:
        return parser.hits(pos)
    except (ValueError, OverflowError):  # dates beyond year 9999 and similar
        return []


def parse_when(text: str, now: datetime, *, default_time: time = time(9, 0)) -> ParsedWhen | None:
    """The whole text (stripped) must be a date/time expression; None if it is not.

    ``now`` must be aware and in the user's time zone; the result is in that zone.
    """
    ctx = _context(now, default_time)
    s, index = _normalize(text)
    start = len(s) - len(s.lstrip())
    stop = len(s.rstrip())
    if start >= stop:
        return None
    hits = [h for h in _safe_hits(_Parser(s, ctx), start) if h.end == stop]
    return _result(text, index, start, hits[0]) if hits else None


_REST_LEAD = re.compile(r"[\s,:;、，：；]+")


def parse_when_prefix(text: str, now: datetime, *, default_time: time = time(9, 0)) -> tuple[ParsedWhen, str] | None:
    """The longest date/time expression at the start of text, and the rest of the text (stripped).

    "tomorrow 3pm send the quote" gives (tomorrow 15:00, "send the quote"); "下周一上午9点打电话" gives
    (next Monday 09:00, "打电话"). Commas and colons between the two are dropped too.
    """
    ctx = _context(now, default_time)
    s, index = _normalize(text)
    start = len(s) - len(s.lstrip())
    if start >= len(s):
        return None
    hit = _best(_safe_hits(_Parser(s, ctx), start))
    if hit is None:
        return None
    found = _result(text, index, start, hit)
    rest = text[found.end :]
    lead = _REST_LEAD.match(rest)
    if lead is not None:
        rest = rest[lead.end() :]
    return found, rest.strip()


# Single words that are dates when a whole message, but too often ordinary words inside a sentence.
_WEAK_IN_RUNNING_TEXT = frozenset({"sat", "sun", "mon", "wed", "tue", "thu", "fri", "may"})
_START_CHARS = frozenset("0123456789@今明后大昨前下上本这周星礼月年早晚中午凌傍夜半" + _CN_CHARS)


def find_when(text: str, now: datetime, *, default_time: time = time(9, 0)) -> ParsedWhen | None:
    """The first date/time expression anywhere in text (the longest one starting there), or None.

    Abbreviated weekday names that are also common words ("sat", "sun", ...) are skipped here.
    """
    ctx = _context(now, default_time)
    s, index = _normalize(text)
    parser = _Parser(s, ctx)
    for pos, ch in enumerate(s):
        if not (ch in _START_CHARS or (ch.isascii() and ch.isalpha())) or not _boundary_ok(s, pos):
            continue
        hit = _best(_safe_hits(parser, pos))
        if hit is not None and s[pos : hit.end].strip(". ") not in _WEAK_IN_RUNNING_TEXT:
            return _result(text, index, pos, hit)
    return None


# Text shaped like a date or time that names none ("31 Feb", "2月31日", "in -3 days", "in 9999 years", "25:00"):
# recognised so the caller can say which words it could not read, instead of taking them for ordinary text.
_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_UNIT_WORD = r"(?:min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|d|weeks?|w|months?|years?|yrs?)"
_ZH_NUMBER = r"[-+]?(?:[0-9]+|[" + _CN_CHARS + r"]+)"
_DATE_LIKE = re.compile(
    r"(?:on\s+|by\s+)?(?:"
    r"[0-9]{1,4}(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_WORD + r"(?:,?\s*[0-9]{4})?"
    r"|" + _MONTH_WORD + r"\s+[0-9]{1,4}(?:st|nd|rd|th)?(?:,?\s*[0-9]{4})?"
    r"|[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?"
    r"|in\s+[-+]?[0-9][0-9,_]*\s*" + _UNIT_WORD +
    r"|[-+]?[0-9][0-9,_]*\s*" + _UNIT_WORD + r"\s+(?:from\s+now|later)"
    r"|[0-9]{1,2}:[0-9]{2}(?:\s*(?:am|pm))?"
    r"|[0-9]{1,3}\s*(?:am|pm)"
    r"|(?:" + _ZH_NUMBER + r"年)?" + _ZH_NUMBER + r"月" + _ZH_NUMBER + r"[日号]?"
    r"|" + _ZH_NUMBER + r"\s*个?(?:分钟|小时|钟头|天|日|周|星期|礼拜|月|年)\s*(?:之后|以后|过后|后)"
    r"|" + _ZH_NUMBER + r"[点时](?:" + _ZH_NUMBER + r"分?|半)?"
    r")(?![0-9a-z])"
)


def unreadable_when_prefix(text: str) -> tuple[str, str] | None:
    """For text that ``parse_when_prefix`` could not read: (the leading words that look like a date or time, the
    rest) — "31 Feb call" gives ("31 Feb", "call") — or None when the text does not start like one."""
    s, index = _normalize(text)
    start = len(s) - len(s.lstrip())
    match = _DATE_LIKE.match(s, start)
    if match is None:
        return None
    a, b = _original_span(index, match.start(), match.end())
    rest = text[b:]
    lead = _REST_LEAD.match(rest)
    if lead is not None:
        rest = rest[lead.end() :]
    return text[a:b], rest.strip()
