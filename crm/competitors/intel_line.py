"""One message of intel: ``/intel <competitor> <text>`` (or a photo's caption ``/intel …`` / ``#intel …``).

What is read: the competitor's name — the longest known name the text starts with (any case or width), else a
quoted name (``"Acme Corp" …``), else the first word; ``@name`` for a customer (one word: the handler looks it
up); a price (``NT$1,200``, ``1200元``, ``USD 35``) and the kind — price, promotion, activity — from words in
any of the three languages; the day it was seen, when the text names one (``yesterday``, ``上週五``, ``11/20``,
``on Monday``: crm/core/natural_dates.py, read as the latest such day not after today — a date still to come, a
promotion's end, say, is not when it was seen). The text is kept whole (minus the customer), so nothing typed is
lost.
Nothing is saved from here: the handler echoes what was understood and waits for one tap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from crm.competitors.model import IntelKind, name_key
from crm.core.names import clean
from crm.core.natural_dates import find_when

CURRENCIES = frozenset({
    "TWD", "USD", "EUR", "JPY", "CNY", "HKD", "SGD", "GBP", "KRW", "AUD", "CAD", "MYR", "THB", "VND", "PHP",
    "IDR", "INR", "CHF", "NZD", "MOP"})
_ALIASES = {"NTD": "TWD", "RMB": "CNY", "NT$": "TWD", "US$": "USD", "HK$": "HKD", "S$": "SGD", "$": ""}
_PRICE = re.compile(
    r"(?<![\w.])(?:(?P<pre>(?i:NT\$|US\$|HK\$|S\$|\$)|[A-Z]{3}\s?))?(?P<num>\d[\d,]*(?:\.\d+)?)"
    r"(?:\s?(?P<post>[A-Z]{3})\b|(?P<yuan>元|塊|块))?")
_WORDS: dict[IntelKind, tuple[str, ...]] = {
    IntelKind.PROMOTION: ("promo", "promotion", "sale", "discount", "coupon", "flyer", "bundle", "off",
                          "促銷", "促销", "折扣", "打折", "折", "優惠", "优惠", "特價", "特价", "買一送一", "买一送一",
                          "傳單", "传单"),
    IntelKind.ACTIVITY: ("event", "exhibition", "expo", "trade show", "seminar", "launch", "demo", "活動", "活动", "展",
                         "展覽", "展览", "展會", "展会", "研討會", "研讨会", "發表會", "发布会", "拜訪", "拜访"),
    IntelKind.PRICE: ("price", "priced", "quote", "quoted", "價格", "价格", "報價", "报价", "售價", "售价", "價",
                      "价", "元"),
}
CUSTOMER = re.compile(r"(?:^|\s)@(\S+)")
# Words that put a date ahead on purpose: such a date is never read as the day something was seen.
_AHEAD = re.compile(r"next|tomorrow|\bin\b|下[週周个個月星禮礼]|明|[後后]天")
_YEAR = re.compile(r"\d{4}")
_WEEKDAY = re.compile(r"mon|tue|wed|thu|fri|sat|sun|[週周][一二三四五六日天]|星期|禮拜|礼拜")


@dataclass(frozen=True)
class IntelLine:
    competitor: str
    text: str
    kind: IntelKind
    customer: str | None = None  # the name after "@", not yet looked up
    price: Decimal | None = None
    currency: str | None = None  # None: the default currency (or none at all when there is no price)
    seen_on: date | None = None  # None: no day named — the day it is sent


def seen_on(text: str, now: datetime) -> date | None:
    """The day a text says something was seen, in ``now``'s zone; None when it names none or only one to come.
    The date reader looks ahead (it serves reminders): a weekday it puts in the coming week is taken back to the
    last one, and a day without its year that it puts more than half a year ahead ("11/20" on 26 November) to
    this year's; a day named a few weeks ahead ("12月1日截止") is one still to come."""
    found = find_when(text, now)
    if found is None:
        return None
    day, today = found.at.date(), now.date()
    if day <= today:
        return day
    if _AHEAD.search(found.text.casefold()):
        return None
    said = found.text.casefold()
    if _WEEKDAY.search(said) and (day - today).days <= 7:  # "on Monday": the last Monday
        day -= timedelta(days=7)
    elif not _YEAR.search(said) and (day - today).days > 183:  # "11/20" in late November: this year's
        try:
            day = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return None
    return day if day <= today else None


def _currency(token: str | None) -> str | None:
    if not token:
        return None
    code = token.strip().upper()
    code = _ALIASES.get(code, code)
    return code if code in CURRENCIES else None


def price_of(text: str) -> tuple[Decimal, str | None] | None:
    """The first amount in the text with the currency next to it (None: the default one)."""
    for found in _PRICE.finditer(text):
        pre, post = found["pre"], found["post"]
        if pre and pre.strip().upper() not in _ALIASES and _currency(pre) is None:
            pre = None  # a word in capitals before the number ("MRT 20"), not its currency
        if text[found.end("num"):].lstrip().startswith(("%", "％", "折", "off")):
            continue  # "20% off", "8折": a discount, not a price
        if post and _currency(post) is None:
            post = None
        try:
            amount = Decimal(found["num"].replace(",", ""))
        except InvalidOperation:
            continue
        if amount <= 0 or not amount.is_finite():
            continue
        if not (pre or post or found["yuan"]) and amount == amount.to_integral() and 1900 <= amount <= 2100:
            continue  # a year, not a price
        currency = _currency(pre) or _currency(post)
        return amount, currency or None
    return None


def _says(folded: str, word: str) -> bool:
    """Latin words count whole ("sales" is not "sale"); Chinese ones wherever they stand (no spaces)."""
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", folded) is not None
    return word in folded


def kind_of(text: str, has_price: bool) -> IntelKind:
    folded = name_key(text)
    for kind in (IntelKind.PROMOTION, IntelKind.ACTIVITY, IntelKind.PRICE):
        if any(_says(folded, word) for word in _WORDS[kind]):
            return kind
    return IntelKind.PRICE if has_price else IntelKind.OTHER


def _competitor(text: str, known: Sequence[str]) -> tuple[str, str]:
    """(the competitor's name, the rest of the text)."""
    folded = name_key(text)
    best = ""
    for name in known:
        key = name_key(name)
        if key and folded.startswith(key) and len(key) > len(best):
            rest = folded[len(key):]
            if not rest or rest[0] == " " or not key[-1].isascii() or not rest[0].isascii():
                best = key
    if best:
        # the folded and the typed text have the same length where it matters: cut by the folded key's length
        # in the cleaned text (clean() and fold() differ only by case).
        name = next(n for n in known if name_key(n) == best)
        return name, text[len(best):].strip()
    if text.startswith(("\"", "“", "「")):
        closing = {"\"": "\"", "“": "”", "「": "」"}[text[0]]
        end = text.find(closing, 1)
        if end > 1:
            return text[1:end].strip(), text[end + 1:].strip()
    head, _, rest = text.partition(" ")
    return head, rest.strip()


def parse_intel(line: str, known: Sequence[str], now: datetime | None = None) -> IntelLine | None:
    """None when there is no competitor name or nothing said about them. With ``now`` (aware, in the sender's
    zone), a day named in the text is read as the day it was seen."""
    text = clean(line)
    customer: str | None = None
    found = CUSTOMER.search(text)
    if found is not None:
        customer = found[1]
        text = clean(text[:found.start()] + " " + text[found.end():])
    if not text:
        return None
    competitor, rest = _competitor(text, known)
    if not competitor or not rest:
        return None
    price = price_of(rest)
    return IntelLine(competitor=competitor, text=rest, kind=kind_of(rest, price is not None), customer=customer,
                     price=price[0] if price else None, currency=price[1] if price else None,
                     seen_on=seen_on(rest, now) if now is not None else None)
