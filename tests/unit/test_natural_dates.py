from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crm.core.natural_dates import ParsedWhen, find_when, parse_when, parse_when_prefix

TAIPEI = ZoneInfo("Asia/Taipei")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [TAIPEI, NEW_YORK, ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]

# Thursday 26 November 2026, 10:00 in Taipei (no DST there).
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=TAIPEI)


def tp(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TAIPEI)


def check(result: ParsedWhen | None, expected: datetime, has_time: bool) -> None:
    assert result is not None
    assert result.at == expected, result.at.isoformat()
    assert result.at.replace(tzinfo=None) == expected.replace(tzinfo=None), result.at.isoformat()
    assert result.at.utcoffset() == expected.utcoffset()
    assert result.has_time is has_time


# (text, expected, has_time); date-only results are at the default time, 09:00
CASES: list[tuple[str, datetime, bool]] = [
    # --- from the product issue
    ("tomorrow 3pm", tp(11, 27, 15), True),
    ("next tuesday", tp(12, 1), False),
    ("in 2 hours", tp(11, 26, 12), True),
    ("in 3 days", tp(11, 29), False),
    ("明天下午3點", tp(11, 27, 15), True),
    ("下週二", tp(12, 1), False),
    ("3天後", tp(11, 29), False),
    ("後天上午10點", tp(11, 28, 10), True),
    ("下周一上午9点", tp(11, 30, 9), True),
    ("12月3日 14:00", tp(12, 3, 14), True),
    ("2026-12-03", tp(12, 3), False),
    ("2026-12-03 14:00", tp(12, 3, 14), True),
    ("2026-12-03T14:00", tp(12, 3, 14), True),
    # --- ISO with seconds and offsets
    ("2026-12-03T14:00:30", datetime(2026, 12, 3, 14, 0, 30, tzinfo=TAIPEI), True),
    ("2026-12-03T06:00Z", tp(12, 3, 14), True),
    ("2026-12-03T14:00:00+00:00", tp(12, 3, 22), True),
    ("2026-12-03T14:00-0500", tp(12, 4, 3), True),
    ("2026/12/03", tp(12, 3), False),
    ("2026.12.3", tp(12, 3), False),
    ("2026-12-3 9:30", tp(12, 3, 9, 30), True),
    # --- English: days
    ("today", tp(11, 26), False),
    ("Today", tp(11, 26), False),
    ("tomorrow", tp(11, 27), False),
    ("tmr", tp(11, 27), False),
    ("tmrw 4pm", tp(11, 27, 16), True),
    ("yesterday", tp(11, 25), False),
    ("day after tomorrow", tp(11, 28), False),
    ("the day after tomorrow at 11am", tp(11, 28, 11), True),
    # --- English: periods of the day
    ("tonight", tp(11, 26, 19), True),
    ("this evening", tp(11, 26, 19), True),
    ("this afternoon", tp(11, 26, 14), True),
    ("this morning", tp(11, 26, 9), True),
    ("tomorrow morning", tp(11, 27, 9), True),
    ("tomorrow afternoon", tp(11, 27, 14), True),
    ("tomorrow evening", tp(11, 27, 19), True),
    ("tomorrow night", tp(11, 27, 19), True),
    ("tomorrow morning at 10", tp(11, 27, 10), True),
    ("tomorrow afternoon at 3", tp(11, 27, 15), True),
    ("at 3 tomorrow afternoon", tp(11, 27, 15), True),
    ("8 tonight", tp(11, 26, 20), True),
    ("tonight at 8", tp(11, 26, 20), True),
    ("tonight at 12", tp(11, 27, 0), True),
    ("11 in the morning", tp(11, 26, 11), True),
    ("friday afternoon", tp(11, 27, 14), True),
    # --- English: times
    ("tomorrow at 15:30", tp(11, 27, 15, 30), True),
    ("3pm tomorrow", tp(11, 27, 15), True),
    ("3 PM tomorrow", tp(11, 27, 15), True),
    ("tomorrow, 3 p.m.", tp(11, 27, 15), True),
    ("at 5", tp(11, 26, 17), True),
    ("at 9", tp(11, 27, 9), True),  # 09:00 has passed today: tomorrow
    ("at 10am", tp(11, 27, 10), True),  # exactly now counts as passed
    ("at 11", tp(11, 26, 11), True),
    ("@ 3pm", tp(11, 26, 15), True),
    ("by 5pm", tp(11, 26, 17), True),
    ("around 4pm", tp(11, 26, 16), True),
    ("5:30pm", tp(11, 26, 17, 30), True),
    ("5.30pm", tp(11, 26, 17, 30), True),
    ("5:30", tp(11, 26, 17, 30), True),  # no am/pm: 1-6 read as afternoon
    ("05:30", tp(11, 27, 5, 30), True),  # a leading zero is a 24-hour clock
    ("0:30", tp(11, 27, 0, 30), True),
    ("7:45", tp(11, 27, 7, 45), True),
    ("16:05", tp(11, 26, 16, 5), True),
    ("23:59:59", datetime(2026, 11, 26, 23, 59, 59, tzinfo=TAIPEI), True),
    ("5 o'clock", tp(11, 26, 17), True),
    ("five o'clock", tp(11, 26, 17), True),
    ("12am", tp(11, 27, 0), True),
    ("12pm", tp(11, 26, 12), True),
    ("noon", tp(11, 26, 12), True),
    ("12 noon", tp(11, 26, 12), True),
    ("at noon", tp(11, 26, 12), True),
    ("midday", tp(11, 26, 12), True),
    ("midnight", tp(11, 27, 0), True),
    ("tomorrow at noon", tp(11, 27, 12), True),
    ("noon tomorrow", tp(11, 27, 12), True),
    ("tomorrow midnight", tp(11, 28, 0), True),  # the midnight at the end of tomorrow
    ("tomorrow 7am", tp(11, 27, 7), True),
    # --- English: weekdays (today is Thursday)
    ("mon", tp(11, 30), False),
    ("Monday", tp(11, 30), False),
    ("tue", tp(12, 1), False),
    ("tues", tp(12, 1), False),
    ("wed", tp(12, 2), False),
    ("fri", tp(11, 27), False),
    ("friday 10am", tp(11, 27, 10), True),
    ("Friday at 10:30", tp(11, 27, 10, 30), True),
    ("on friday", tp(11, 27), False),
    ("by friday", tp(11, 27), False),
    ("10am on friday", tp(11, 27, 10), True),
    ("sat", tp(11, 28), False),
    ("sunday", tp(11, 29), False),
    ("this friday", tp(11, 27), False),
    ("next friday", tp(12, 4), False),
    ("next monday 9am", tp(11, 30, 9), True),
    ("this coming friday", tp(11, 27), False),
    ("coming monday", tp(11, 30), False),
    ("last friday", tp(11, 20), False),
    ("friday next week", tp(12, 4), False),
    ("tuesday next week at 2pm", tp(12, 1, 14), True),
    ("wednesday this week", tp(11, 25), False),
    ("thursday", tp(12, 3), False),  # today's weekday without a time: next week
    ("thursday 3pm", tp(11, 26, 15), True),  # ... with a time still ahead today: today
    ("thursday 9am", tp(12, 3, 9), True),  # ... with a time already past: next week
    ("this thursday", tp(11, 26), False),
    ("next thursday", tp(12, 3), False),
    # --- English: weeks, months, weekends
    ("next week", tp(11, 30), False),
    ("week after next", tp(12, 7), False),
    ("next month", tp(12, 1), False),
    ("end of month", tp(11, 30), False),
    ("end of the month", tp(11, 30), False),
    ("end of next month", tp(12, 31), False),
    ("end of year", tp(12, 31), False),
    ("next year", tp(1, 1, year=2027), False),
    ("this weekend", tp(11, 28), False),
    ("weekend", tp(11, 28), False),
    ("next weekend", tp(12, 5), False),
    # --- English: durations
    ("in 30 minutes", tp(11, 26, 10, 30), True),
    ("in 30 min", tp(11, 26, 10, 30), True),
    ("in 30 mins", tp(11, 26, 10, 30), True),
    ("in 45m", tp(11, 26, 10, 45), True),
    ("in an hour", tp(11, 26, 11), True),
    ("in one hour", tp(11, 26, 11), True),
    ("in half an hour", tp(11, 26, 10, 30), True),
    ("in an hour and a half", tp(11, 26, 11, 30), True),
    ("in 1.5 hours", tp(11, 26, 11, 30), True),
    ("in 1 hour and 15 minutes", tp(11, 26, 11, 15), True),
    ("in 2 hrs", tp(11, 26, 12), True),
    ("in 90 seconds", datetime(2026, 11, 26, 10, 1, 30, tzinfo=TAIPEI), True),
    ("2h", tp(11, 26, 12), True),
    ("30m", tp(11, 26, 10, 30), True),
    ("30min", tp(11, 26, 10, 30), True),
    ("1h30m", tp(11, 26, 11, 30), True),
    ("1h30", tp(11, 26, 11, 30), True),
    ("2 hours from now", tp(11, 26, 12), True),
    ("in 1 day and 2 hours", tp(11, 27, 12), True),
    ("3 days later", tp(11, 29), False),
    ("3 days from now", tp(11, 29), False),
    ("in a day", tp(11, 27), False),
    ("in a week", tp(12, 3), False),
    ("in 2 weeks", tp(12, 10), False),
    ("in a month", tp(12, 26), False),
    ("in 3 months", tp(2, 26, year=2027), False),
    ("in a year", tp(11, 26, year=2027), False),
    ("2d", tp(11, 28), False),
    ("in 2 days at 3pm", tp(11, 28, 15), True),
    ("in 3 days at 10:30", tp(11, 29, 10, 30), True),
    # --- English: calendar dates (a date already past this year is next year's)
    ("dec 3", tp(12, 3), False),
    ("Dec. 3rd", tp(12, 3), False),
    ("3 dec", tp(12, 3), False),
    ("3rd of December", tp(12, 3), False),
    ("December 3 2pm", tp(12, 3, 14), True),
    ("december 3rd at 2:30pm", tp(12, 3, 14, 30), True),
    ("december 3, 2027", tp(12, 3, year=2027), False),
    ("dec 3 2027 at 4pm", tp(12, 3, 16, year=2027), True),
    ("3 December 2027", tp(12, 3, year=2027), False),
    ("jan 5", tp(1, 5, year=2027), False),
    ("sept 1", tp(9, 1, year=2027), False),
    ("nov 26", tp(11, 26), False),
    ("12/3", tp(12, 3), False),  # month/day
    ("12/3 14:00", tp(12, 3, 14), True),
    ("1/5", tp(1, 5, year=2027), False),
    ("12/3/2027", tp(12, 3, year=2027), False),
    ("12/3/27", tp(12, 3, year=2027), False),
    ("the 3rd", tp(12, 3), False),
    ("on the 28th", tp(11, 28), False),
    ("feb 29", tp(2, 29, year=2028), False),  # the next Feb 29 is in 2028
    # --- Chinese: days
    ("今天", tp(11, 26), False),
    ("今日", tp(11, 26), False),
    ("今天晚上", tp(11, 26, 19), True),
    ("今晚", tp(11, 26, 19), True),
    ("今晚8點", tp(11, 26, 20), True),
    ("今天下午", tp(11, 26, 14), True),
    ("明天", tp(11, 27), False),
    ("明早", tp(11, 27, 9), True),
    ("明天早上", tp(11, 27, 9), True),
    ("明天早上8点", tp(11, 27, 8), True),
    ("明晚", tp(11, 27, 19), True),
    ("明天中午", tp(11, 27, 12), True),
    ("明天的下午3点", tp(11, 27, 15), True),
    ("後天", tp(11, 28), False),
    ("后天", tp(11, 28), False),
    ("大後天", tp(11, 29), False),
    ("大后天", tp(11, 29), False),
    ("昨天", tp(11, 25), False),
    ("前天", tp(11, 24), False),
    # --- Chinese: times (a time of day already past today means tomorrow)
    ("下午3點半", tp(11, 26, 15, 30), True),
    ("下午3点半", tp(11, 26, 15, 30), True),
    ("3點15分", tp(11, 26, 15, 15), True),
    ("15:30", tp(11, 26, 15, 30), True),
    ("三點", tp(11, 26, 15), True),
    ("三点钟", tp(11, 26, 15), True),
    ("十點半", tp(11, 26, 10, 30), True),
    ("九點", tp(11, 27, 9), True),
    ("兩點", tp(11, 26, 14), True),
    ("十二點", tp(11, 26, 12), True),
    ("三點零五分", tp(11, 26, 15, 5), True),
    ("三点十五", tp(11, 26, 15, 15), True),
    ("三点二十五分", tp(11, 26, 15, 25), True),
    ("十点一刻", tp(11, 26, 10, 15), True),
    ("十点三刻", tp(11, 26, 10, 45), True),
    ("3点整", tp(11, 26, 15), True),
    ("3點05", tp(11, 26, 15, 5), True),
    ("15點", tp(11, 26, 15), True),
    ("15时30分", tp(11, 26, 15, 30), True),
    ("上午9点", tp(11, 27, 9), True),
    ("上午11點", tp(11, 26, 11), True),
    ("早上7点", tp(11, 27, 7), True),
    ("早8点", tp(11, 27, 8), True),
    ("中午", tp(11, 26, 12), True),
    ("中午12点", tp(11, 26, 12), True),
    ("中午1点", tp(11, 26, 13), True),
    ("下午3:30", tp(11, 26, 15, 30), True),
    ("下午15:30", tp(11, 26, 15, 30), True),
    ("傍晚6点", tp(11, 26, 18), True),
    ("晚上8点", tp(11, 26, 20), True),
    ("晚8点", tp(11, 26, 20), True),
    ("晚上12点", tp(11, 27, 0), True),
    ("晚上1点", tp(11, 27, 1), True),
    ("凌晨12点", tp(11, 27, 0), True),
    ("凌晨2点", tp(11, 27, 2), True),
    ("明天凌晨2点", tp(11, 27, 2), True),
    ("半夜", tp(11, 27, 0), True),
    # --- Chinese: weekdays (today is 星期四)
    ("本週五", tp(11, 27), False),
    ("这周五", tp(11, 27), False),
    ("這禮拜五", tp(11, 27), False),
    ("这个星期五", tp(11, 27), False),
    ("周五", tp(11, 27), False),
    ("星期五", tp(11, 27), False),
    ("禮拜五下午", tp(11, 27, 14), True),
    ("周四", tp(12, 3), False),
    ("星期四下午3点", tp(11, 26, 15), True),
    ("周日", tp(11, 29), False),
    ("星期天", tp(11, 29), False),
    ("禮拜天", tp(11, 29), False),
    ("周7", tp(11, 29), False),
    ("週3", tp(12, 2), False),
    ("下週二", tp(12, 1), False),
    ("下周二", tp(12, 1), False),
    ("下星期二", tp(12, 1), False),
    ("下礼拜二", tp(12, 1), False),
    ("下個禮拜二", tp(12, 1), False),
    ("下周二下午3点", tp(12, 1, 15), True),
    ("下下週一", tp(12, 7), False),
    ("上周五", tp(11, 20), False),
    ("週末", tp(11, 28), False),
    ("下週末", tp(12, 5), False),
    # --- Chinese: relative
    ("3天后", tp(11, 29), False),
    ("三天後", tp(11, 29), False),
    ("3天之後", tp(11, 29), False),
    ("3天以后", tp(11, 29), False),
    ("3日後", tp(11, 29), False),
    ("3天後下午3點", tp(11, 29, 15), True),
    ("十天后", tp(12, 6), False),
    ("兩小時後", tp(11, 26, 12), True),
    ("两小时后", tp(11, 26, 12), True),
    ("2個小時後", tp(11, 26, 12), True),
    ("30分鐘後", tp(11, 26, 10, 30), True),
    ("30分钟后", tp(11, 26, 10, 30), True),
    ("半小時後", tp(11, 26, 10, 30), True),
    ("半个小时后", tp(11, 26, 10, 30), True),
    ("一個半小時後", tp(11, 26, 11, 30), True),
    ("1小时30分钟后", tp(11, 26, 11, 30), True),
    ("一個月後", tp(12, 26), False),
    ("一周后", tp(12, 3), False),
    ("兩個星期後", tp(12, 10), False),
    ("一年后", tp(11, 26, year=2027), False),
    ("下個月", tp(12, 1), False),
    ("下个月", tp(12, 1), False),
    ("下月", tp(12, 1), False),
    ("下个月3号", tp(12, 3), False),
    ("下週", tp(11, 30), False),
    ("下周", tp(11, 30), False),
    ("下个星期", tp(11, 30), False),
    ("下下周", tp(12, 7), False),
    # --- Chinese: calendar dates
    ("12月3日", tp(12, 3), False),
    ("12月3號", tp(12, 3), False),
    ("12月3号", tp(12, 3), False),
    ("12月3日14:00", tp(12, 3, 14), True),
    ("12月3日下午2點", tp(12, 3, 14), True),
    ("12月3號 下午兩點半", tp(12, 3, 14, 30), True),
    ("十二月三日", tp(12, 3), False),
    ("2026年12月3日", tp(12, 3), False),
    ("2027年1月5日下午3點", tp(1, 5, 15, year=2027), True),
    ("1月5日", tp(1, 5, year=2027), False),
    ("今年12月25日", tp(12, 25), False),
    ("明年3月1日", tp(3, 1, year=2027), False),
    ("3号", tp(12, 3), False),
    ("28號", tp(11, 28), False),
    ("二十八号", tp(11, 28), False),
    ("31号", tp(12, 31), False),  # November has no 31st
    ("2月29日", tp(2, 29, year=2028), False),
    ("月底", tp(11, 30), False),
    ("本月底", tp(11, 30), False),
    ("下个月底", tp(12, 31), False),
    ("年底", tp(12, 31), False),
    # --- fullwidth forms and mixed languages
    ("１５：３０", tp(11, 26, 15, 30), True),
    ("明天１５：３０", tp(11, 27, 15, 30), True),
    ("１２月３日", tp(12, 3), False),
    ("ＴＯＭＯＲＲＯＷ　３ＰＭ", tp(11, 27, 15), True),
    ("明天 3pm", tp(11, 27, 15), True),
    ("tomorrow 下午3点", tp(11, 27, 15), True),
    ("friday 下午", tp(11, 27, 14), True),
]


@pytest.mark.parametrize(("text", "expected", "has_time"), CASES, ids=[c[0] for c in CASES])
def test_parse_when(text: str, expected: datetime, has_time: bool) -> None:
    result = parse_when(text, NOW)
    check(result, expected, has_time)
    assert result is not None
    assert result.at.tzinfo is TAIPEI
    assert (result.start, result.end, result.text) == (0, len(text), text)


REJECTED = [
    "",
    "   ",
    "hello",
    "send the quote",
    "😀",
    "3",
    "12",
    "the",
    "in",
    "next",
    "may",
    "march",
    "morning",
    "下午",
    "傍晚",
    "凌晨",
    "星期",
    "周八",
    "3月后",
    "25點",
    "25:00",
    "24:30",
    "12:60",
    "13pm",
    "0am",
    "15:30pm",
    "上午15點",
    "下午0點",
    "2月30日",
    "13月1日",
    "32号",
    "0号",
    "2026-02-30",
    "2026-13-01",
    "2026-12-03T25:00",
    "2026-12-03T14:00+25:00",
    "13/45",
    "12/3/99999",
    "99999天後",
    "99999999999999999999天后",
    "in 99999 years",
    "in 9999999999999 hours",
    "半天后",
    "in 1.5 days",
    "tomorrow 9",
    "tomorrowland",
    "tomorrow3pm",
    "125點",
    "sometime next week",
    "明天下午3點 寄報價單",
    "1900-01-01",
    "2026week",
    "25year",
    "in 0.5 months",
]


@pytest.mark.parametrize("text", REJECTED)
def test_not_a_date(text: str) -> None:
    assert parse_when(text, NOW) is None


def test_span_ignores_surrounding_whitespace() -> None:
    result = parse_when("  tomorrow 3pm \n", NOW)
    assert result is not None
    assert (result.start, result.end, result.text) == (2, 14, "tomorrow 3pm")


def test_default_time() -> None:
    check(parse_when("tomorrow", NOW, default_time=time(8, 30)), tp(11, 27, 8, 30), False)
    check(parse_when("下週二", NOW, default_time=time(14, 0)), tp(12, 1, 14), False)
    # an explicit time or period is not affected
    check(parse_when("tomorrow 3pm", NOW, default_time=time(8, 30)), tp(11, 27, 15), True)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow", datetime(2026, 11, 26, 10, 0))


def test_result_is_in_the_zone_of_now() -> None:
    now = NOW.astimezone(NEW_YORK)  # 2026-11-25 21:00 in New York
    result = parse_when("tomorrow 3pm", now)
    assert result is not None
    assert result.at.tzinfo is NEW_YORK
    assert result.at == datetime(2026, 11, 26, 15, 0, tzinfo=NEW_YORK)


def test_time_already_past_today_means_tomorrow() -> None:
    late = datetime(2026, 11, 26, 16, 0, tzinfo=TAIPEI)
    check(parse_when("3pm", late), tp(11, 27, 15), True)
    check(parse_when("下午3点", late), tp(11, 27, 15), True)
    check(parse_when("5pm", late), tp(11, 26, 17), True)
    check(parse_when("noon", late), tp(11, 27, 12), True)
    # an explicit day is kept even when already past
    check(parse_when("today 3pm", late), tp(11, 26, 15), True)
    check(parse_when("今天下午3点", late), tp(11, 26, 15), True)


# --- "next <weekday>" is the weekday of next Monday-to-Sunday week, the same as 下週X


MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TAIPEI)
SUNDAY = datetime(2026, 11, 29, 10, 0, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (MONDAY, "next tuesday", tp(12, 1)),
        (MONDAY, "下週二", tp(12, 1)),
        (MONDAY, "下周二", tp(12, 1)),
        (MONDAY, "tuesday", tp(11, 24)),
        (MONDAY, "週二", tp(11, 24)),
        (MONDAY, "this tuesday", tp(11, 24)),
        (MONDAY, "本週二", tp(11, 24)),
        (MONDAY, "coming tuesday", tp(11, 24)),
        (MONDAY, "next monday", tp(11, 30)),
        (MONDAY, "monday", tp(11, 30)),
        (MONDAY, "next week", tp(11, 30)),
        (SUNDAY, "next tuesday", tp(12, 1)),
        (SUNDAY, "下周二", tp(12, 1)),
        (SUNDAY, "this sunday", tp(11, 29)),
        (SUNDAY, "本周日", tp(11, 29)),
        (SUNDAY, "next sunday", tp(12, 6)),
        (SUNDAY, "下周日", tp(12, 6)),
        (SUNDAY, "this weekend", tp(11, 29)),
        (SUNDAY, "周末", tp(11, 29)),
        (SUNDAY, "this monday", tp(11, 23)),
        (SUNDAY, "next week", tp(11, 30)),
        (SUNDAY, "下周", tp(11, 30)),
    ],
)
def test_week_semantics(now: datetime, text: str, expected: datetime) -> None:
    check(parse_when(text, now), expected, False)


def test_english_and_chinese_next_weekday_agree() -> None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    chinese = "一二三四五六日"
    for offset in range(7):
        now = MONDAY + timedelta(days=offset)
        for wd in range(7):
            en = parse_when(f"next {names[wd]}", now)
            zh = parse_when(f"下週{chinese[wd]}", now)
            assert en is not None and zh is not None
            assert en.at == zh.at
            assert en.at.weekday() == wd
            assert 1 <= (en.at.date() - now.date()).days <= 13


# --- daylight saving time (America/New_York: 2026-03-08 springs forward, 2026-11-01 falls back)


@pytest.mark.parametrize(
    ("now", "text", "expected_iso"),
    [
        # spring forward: 02:00-03:00 does not exist on 8 March
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "tomorrow 10am", "2026-03-08T10:00:00-04:00"),
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "tomorrow 2:30am", "2026-03-08T03:30:00-04:00"),
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "明天凌晨2点半", "2026-03-08T03:30:00-04:00"),
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "in 1 day", "2026-03-08T09:00:00-04:00"),
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "in 24 hours", "2026-03-08T11:00:00-04:00"),
        (datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK), "next monday 9am", "2026-03-09T09:00:00-04:00"),
        (datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK), "in 1 hour", "2026-03-08T03:30:00-04:00"),
        (datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK), "2:15am", "2026-03-08T03:15:00-04:00"),
        # fall back: 01:00-02:00 happens twice on 1 November; a wall-clock time takes the first
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), "tomorrow 1:30am", "2026-11-01T01:30:00-04:00"),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), "tomorrow 9am", "2026-11-01T09:00:00-05:00"),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), "明天上午9點", "2026-11-01T09:00:00-05:00"),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), "in 24 hours", "2026-11-01T11:00:00-05:00"),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), "3天后", "2026-11-03T09:00:00-05:00"),
        (datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), "in 1 hour", "2026-11-01T01:30:00-04:00"),
        (datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), "in 2 hours", "2026-11-01T01:30:00-05:00"),
        (datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), "兩小時後", "2026-11-01T01:30:00-05:00"),
        (datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), "3am", "2026-11-01T03:00:00-05:00"),
        # during the repeated hour, a time of day is the next instant with that wall-clock time
        (datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK), "1:30am", "2026-11-01T01:30:00-04:00"),
        (datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK), "1:30am", "2026-11-01T01:30:00-05:00"),
        (datetime(2026, 11, 1, 1, 45, fold=1, tzinfo=NEW_YORK), "1:30am", "2026-11-02T01:30:00-05:00"),
    ],
)
def test_daylight_saving(now: datetime, text: str, expected_iso: str) -> None:
    result = parse_when(text, now)
    assert result is not None
    assert result.at.tzinfo is NEW_YORK
    assert result.at.isoformat() == expected_iso
    # instants compared in UTC: aware comparisons involving a repeated wall-clock hour are never equal (PEP 495)
    assert result.at.astimezone(UTC) == datetime.fromisoformat(expected_iso).astimezone(UTC)


def test_elapsed_hours_across_fall_back_are_real_hours() -> None:
    now = datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)
    result = parse_when("in 2 hours", now)
    assert result is not None
    assert result.at.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=2)
    assert result.at - now == timedelta(hours=1)  # on the wall clock (same tzinfo) it looks like one
    assert result.at.fold == 1  # the second 01:30


# --- parse_when_prefix


@pytest.mark.parametrize(
    ("text", "expected", "has_time", "matched", "rest"),
    [
        ("tomorrow 3pm send the quote", tp(11, 27, 15), True, "tomorrow 3pm", "send the quote"),
        ("明天下午3點 寄報價單", tp(11, 27, 15), True, "明天下午3點", "寄報價單"),
        ("下周一上午9点打电话", tp(11, 30, 9), True, "下周一上午9点", "打电话"),
        ("下週二下午三點半回電給王經理", tp(12, 1, 15, 30), True, "下週二下午三點半", "回電給王經理"),
        ("3天后跟进", tp(11, 29), False, "3天后", "跟进"),
        ("明天，寄樣品", tp(11, 27), False, "明天", "寄樣品"),
        ("next tuesday: demo", tp(12, 1), False, "next tuesday", "demo"),
        ("in 2 hours call back", tp(11, 26, 12), True, "in 2 hours", "call back"),
        ("friday, call back", tp(11, 27), False, "friday", "call back"),
        ("tomorrow at the office", tp(11, 27), False, "tomorrow", "at the office"),
        ("tomorrow 9 people", tp(11, 27), False, "tomorrow", "9 people"),
        ("12/3 14:00 meeting", tp(12, 3, 14), True, "12/3 14:00", "meeting"),
        ("dec 3 2pm demo day", tp(12, 3, 14), True, "dec 3 2pm", "demo day"),
        ("明天三点三个人开会", tp(11, 27, 15), True, "明天三点", "三个人开会"),
        ("２０２６－１２－０３　１４：００ 報價", tp(12, 3, 14), True, "２０２６－１２－０３　１４：００", "報價"),
        ("  tomorrow 3pm  ", tp(11, 27, 15), True, "tomorrow 3pm", ""),
    ],
)
def test_prefix(text: str, expected: datetime, has_time: bool, matched: str, rest: str) -> None:
    found = parse_when_prefix(text, NOW)
    assert found is not None
    when, remainder = found
    check(when, expected, has_time)
    assert when.text == matched
    assert text[when.start : when.end] == matched
    assert remainder == rest


@pytest.mark.parametrize(
    "text",
    ["", "send the quote tomorrow", "25點 開會", "2月30日 開會", "tomorrowland trip", "ACME next week", "下午茶時間"],
)
def test_prefix_none(text: str) -> None:
    assert parse_when_prefix(text, NOW) is None


# --- find_when


@pytest.mark.parametrize(
    ("text", "matched", "expected"),
    [
        ("follow up with ACME next tuesday at 3pm please", "next tuesday at 3pm", tp(12, 1, 15)),
        ("客户说下周二下午再联系", "下周二下午", tp(12, 1, 14)),
        ("約在１２月３日下午２點見面", "１２月３日下午２點", tp(12, 3, 14)),
        ("call them on sat 3pm", "on sat 3pm", tp(11, 28, 15)),
        ("quote expires 2026-12-03", "2026-12-03", tp(12, 3)),
    ],
)
def test_find_when(text: str, matched: str, expected: datetime) -> None:
    found = find_when(text, NOW)
    assert found is not None
    assert found.text == matched
    assert text[found.start : found.end] == matched
    assert found.at == expected


@pytest.mark.parametrize(
    "text", ["nothing here", "I sat with them for an hour", "sun is out", "打了3個電話", "good morning team", "下午茶"]
)
def test_find_when_none(text: str) -> None:
    assert find_when(text, NOW) is None


# --- properties

nows = st.builds(
    lambda zone, offset: (datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=offset)).astimezone(zone),
    st.sampled_from(ZONES),
    st.integers(min_value=0, max_value=60 * 24 * 366 * 80),
)

FRAGMENTS = [
    "tomorrow", "today", "tonight", "next", "this", "last", "coming", "tuesday", "fri", "sat", "week", "month",
    "year", "weekend", "end", "of", "the", "in", "at", "on", "by", "@", "a", "an", "half", "and", "hour", "hours",
    "min", "days", "h", "m", "pm", "am", "a.m.", "noon", "midnight", "morning", "evening", "o'clock", "dec",
    "december", "3rd", "later", "from now", ",", " ", "  ", ":", "/", "-", ".", "t", "z", "+08:00",
    "0", "00", "1", "2", "3", "5", "9", "12", "13", "15", "24", "25", "29", "30", "31", "59", "60", "99",
    "2026", "2027", "99999", "9" * 40,
    "明天", "今天", "今晚", "明早", "後天", "大后天", "昨天", "下", "下下", "上", "本", "這", "这个", "個", "週", "周",
    "星期", "禮拜", "一", "二", "三", "十", "十五", "兩", "两", "零", "日", "天", "号", "號", "月", "年", "底",
    "點", "点", "時", "半", "一刻", "分", "分鐘", "小時", "钟头", "後", "之后", "以後", "上午", "下午", "中午",
    "晚上", "凌晨", "傍晚", "半夜", "早", "晚", "的", "周末", "今年", "明年",
    "１５", "：", "３", "　", "😀", "ﬁ", "㏠", "İ", "\u0301", "\x00",
]  # fmt: skip
fragment_text = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join)
any_text = st.one_of(st.text(max_size=60), fragment_text)


def _assert_sane(text: str, now: datetime, found: ParsedWhen | None) -> None:
    if found is None:
        return
    assert found.at.tzinfo is now.tzinfo
    assert found.at.utcoffset() is not None
    assert 0 <= found.start < found.end <= len(text)
    assert text[found.start : found.end] == found.text
    assert found.text.strip() == found.text
    assert abs(found.at.year - now.year) <= 100


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text, now=nows)
def test_never_raises_and_results_are_aware(text: str, now: datetime) -> None:
    whole = parse_when(text, now)
    _assert_sane(text, now, whole)
    prefix = parse_when_prefix(text, now)
    if prefix is not None:
        found, rest = prefix
        _assert_sane(text, now, found)
        assert text[: found.start].strip() == ""
        assert text[found.end :].strip().endswith(rest)
    anywhere = find_when(text, now)
    _assert_sane(text, now, anywhere)
    if whole is not None:
        # the whole-text reading is also the longest prefix, with nothing left over
        assert prefix is not None
        assert prefix[0].at == whole.at
        assert prefix[1] == ""


@given(days=st.integers(min_value=0, max_value=20000), now=nows)
def test_days_later_is_calendar_days(days: int, now: datetime) -> None:
    expected = now.date() + timedelta(days=days)
    for text in (f"{days}天後", f"{days}天后", f"in {days} days"):
        found = parse_when(text, now)
        assert found is not None
        assert found.at.date() == expected
        assert not found.has_time


@given(hours=st.integers(min_value=0, max_value=50000), now=nows)
def test_hours_later_is_elapsed_time(hours: int, now: datetime) -> None:
    for text in (f"in {hours} hours", f"{hours}小時後", f"{hours}h"):
        found = parse_when(text, now)
        assert found is not None
        assert found.at.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=hours)


@given(now=nows)
def test_tomorrow_3pm_anywhere(now: datetime) -> None:
    for text in ("tomorrow 3pm", "明天下午3點", "明天下午3点", "3pm tomorrow", "明天15:00"):
        found = parse_when(text, now)
        assert found is not None
        assert found.at.date() == now.date() + timedelta(days=1)
        assert found.at.hour == 15  # no zone in the list has a DST change at 15:00


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[units] if units else "")


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), now=nows)
def test_calendar_dates_round_trip(day: date, now: datetime) -> None:
    assume(abs(day.year - now.year) < 100)
    texts = [
        day.isoformat(),
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}年{day.month}月{day.day}號",
        f"{day.month}/{day.day}/{day.year}",
        f"{day:%B} {day.day}, {day.year}",
    ]
    for text in texts:
        found = parse_when(text, now)
        assert found is not None, text
        assert found.at.date() == day
        assert not found.has_time
    # without a year: the next occurrence, today included
    found = parse_when(f"{_chinese_number(day.month)}月{_chinese_number(day.day)}日", now)
    assert found is not None
    assert (found.at.month, found.at.day) == (day.month, day.day)
    assert found.at.date() >= now.date()
    assert (found.at.date() - now.date()).days < 366 * 8


@given(hour=st.integers(0, 23), minute=st.integers(0, 59), now=nows)
def test_24_hour_times(hour: int, minute: int, now: datetime) -> None:
    found = parse_when(f"{hour:02d}:{minute:02d}", now)
    assert found is not None
    elapsed = found.at.astimezone(UTC) - now.astimezone(UTC)
    assert timedelta(0) < elapsed <= timedelta(days=1, hours=2)  # the next such time, up to a DST shift
    if found.at.utcoffset() == now.utcoffset():
        assert (found.at.hour, found.at.minute) == (hour, minute)
