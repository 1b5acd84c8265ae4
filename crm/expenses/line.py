"""One message to an expense: ``350 taxi @台積電 yesterday`` (the words after ``/expense``, or a receipt photo's
caption).

What is read, in any order and in any of the three languages: the amount (``350``, ``1,200.50``, ``NT$350``,
``350元``) with an optional currency code next to it, one word naming a category (its key, its name in any
language, or one of its other words: "taxi", 計程車), ``@name`` for the customer and ``#name`` for the
project (one word each: the handler looks the names up), and a date (crm/core/natural_dates.py; today when
none is given). The other words are the note.
Nothing is saved from here: the handler echoes what was understood and waits for one tap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm.core.errors import ValidationFailed
from crm.core.natural_dates import parse_when
from crm.expenses.model import Category, fold

# Only codes people actually pay in count as a currency: "MRT" or "BUS" typed in capitals are words of the note.
KNOWN_CURRENCIES = frozenset({
    "TWD", "USD", "EUR", "JPY", "CNY", "HKD", "SGD", "GBP", "KRW", "AUD", "CAD", "MYR", "THB", "VND", "PHP",
    "IDR", "INR", "CHF", "NZD", "MOP"})
_ALIASES = {"NTD": "TWD", "RMB": "CNY", "NT$": "TWD", "US$": "USD", "HK$": "HKD", "S$": "SGD"}
_AMOUNT = re.compile(r"(?P<pre>(?i:NT\$|US\$|HK\$|S\$)|[A-Za-z]{3})?(?P<num>\d[\d,]*(?:\.\d+)?)(?:元|塊)?"
                     r"(?P<post>[A-Za-z]{3})?")
_YEAR = re.compile(r"\d{4}")
MAX_DATE_WORDS = 4  # "last friday", "2026 年 11 月 3 日": how many words one date may take


@dataclass(frozen=True)
class ExpenseLine:
    amount: Decimal
    currency: str | None
    category: Category | None
    customer: str | None  # the name after "@", not yet looked up
    spent_on: date
    note: str | None
    project: str | None = None  # the name after "#", not yet looked up


def currency_code(token: str | None) -> str | None:
    if not token:
        return None
    code = token.upper()
    code = _ALIASES.get(code, code)
    return code if code in KNOWN_CURRENCIES else None


def amount_of(token: str) -> tuple[Decimal, str | None] | None:
    found = _AMOUNT.fullmatch(token)
    if found is None:
        return None
    pre, post = found["pre"], found["post"]
    if (pre and currency_code(pre) is None) or (post and currency_code(post) is None):
        return None  # "abc350" is a word, not an amount
    try:
        amount = Decimal(found["num"].replace(",", ""))
    except InvalidOperation:
        return None
    return amount, currency_code(post) or currency_code(pre)


def _date_span(words: Sequence[str], now: datetime) -> tuple[int, int, date] | None:
    """The longest run of words that is a date as a whole (the later one when two are as long)."""
    best: tuple[int, int, date] | None = None
    for size in range(min(MAX_DATE_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size, -1, -1):
            text = " ".join(words[start:start + size])
            if text.replace(",", "").replace(".", "").isdigit():
                continue  # a bare number is an amount or part of the note, never a date
            when = parse_when(text, now)
            if when is not None:
                best = (start, start + size, _in_the_past(when.at.date(), now.date(), text))
                break
        if best is not None:
            break
    return best


def _in_the_past(day: date, today: date, text: str) -> date:
    """An expense was spent already: "11/3" typed on 5 November is this year's 3 November, not next year's.
    Only a date without a year moves; anything else still in the future is refused by the service."""
    if day > today and not _YEAR.search(text):
        try:
            earlier = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day
        if earlier <= today:
            return earlier
    return day


def parse_line(text: str, now: datetime, categories: Sequence[Category]) -> ExpenseLine:
    """``now`` in the reader's zone, so "yesterday" is theirs. Raises ValidationFailed when no amount is found."""
    words = unicodedata.normalize("NFKC", text).split()
    customer: str | None = None
    for i, word in enumerate(words):
        if word.startswith("@") and len(word) > 1:
            customer = word[1:]
            del words[i]
            break
    project: str | None = None
    for i, word in enumerate(words):
        if word.startswith("#") and len(word) > 1:
            project = word[1:]
            del words[i]
            break
    amount: tuple[Decimal, str | None] | None = None
    for i, word in enumerate(words):
        amount = amount_of(word)
        if amount is None:
            continue
        del words[i]
        if amount[1] is None:
            # "350 USD" or "USD 350": the code next to the amount is its currency.
            for j in (i, i - 1):
                if 0 <= j < len(words) and (code := currency_code(words[j])) is not None:
                    amount = (amount[0], code)
                    del words[j]
                    break
        break
    if amount is None:
        raise ValidationFailed("expenses.error_no_amount")
    spent_on = now.date()
    span = _date_span(words, now)
    if span is not None:
        start, end, spent_on = span
        del words[start:end]
    category: Category | None = None
    for i, word in enumerate(words):
        folded = fold(word)
        category = next((c for c in categories if folded in c.vocabulary()), None)
        if category is not None:
            del words[i]
            break
    note = " ".join(words) or None
    return ExpenseLine(amount[0], amount[1], category, customer, spent_on, note, project)
