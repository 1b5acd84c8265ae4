"""Reading what is typed for a contract: the one-message form and the guided flow's single answers.

``/contract 台積電 維護合約 NT$120000 2027-01-01 to 2027-12-31``: the customer (the first word, or a quoted name:
``"Acme Trading"``, ``「台積電」``), the title (the other words), the value (``120000``, ``NT$120,000``,
``USD 5000``, ``50萬``, ``3.5万元``) and the term as two dates joined by ``to`` / ``until`` / ``~`` /
``至`` / ``到`` (each date in any form crm/core/natural_dates.py reads, in the three languages). Nothing is saved
from here: the handler echoes what was understood and waits for one tap.
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

KNOWN_CURRENCIES = frozenset({
    "TWD", "USD", "EUR", "JPY", "CNY", "HKD", "SGD", "GBP", "KRW", "AUD", "CAD", "MYR", "THB", "VND", "PHP",
    "IDR", "INR", "CHF", "NZD", "MOP"})
_ALIASES = {"NTD": "TWD", "RMB": "CNY", "NT$": "TWD", "US$": "USD", "HK$": "HKD", "S$": "SGD", "$": ""}
_AMOUNT = re.compile(r"(?P<pre>(?i:NT\$|US\$|HK\$|S\$|\$)|[A-Za-z]{3})?(?P<num>\d[\d,]*(?:\.\d+)?)"
                     r"(?P<mult>萬|万|千)?(?:元|塊|块)?(?P<post>[A-Za-z]{3})?")
_MULTIPLIERS = {"萬": 10_000, "万": 10_000, "千": 1_000}
_JOINERS = frozenset({"to", "until", "till", "through", "~", "至", "到", "-", "–", "—"})
# "2027-01-01~2027-12-31", "1月1日至12月31日": a joiner between two dates written without spaces.
_GLUED = re.compile(r"\s*~\s*|(?<=[\d日号號])\s*(?:至|到)\s*(?=\S)")
_QUOTES = (('"', '"'), ("「", "」"), ("“", "”"), ("『", "』"))
MAX_DATE_WORDS = 4


@dataclass(frozen=True)
class ContractLine:
    customer: str
    title: str
    value: Decimal
    currency: str | None
    starts_on: date
    ends_on: date


def currency_code(token: str | None) -> str | None:
    if not token:
        return None
    code = token.upper()
    code = _ALIASES.get(code, code)
    return code if code in KNOWN_CURRENCIES else None


def parse_amount(token: str) -> tuple[Decimal, str | None] | None:
    """``120000``, ``NT$120,000``, ``5000USD``, ``300元``, ``50萬``; None when the word is not an amount."""
    found = _AMOUNT.fullmatch(token.strip())
    if found is None:
        return None
    pre, post = found["pre"], found["post"]
    if (pre and pre != "$" and currency_code(pre) is None) or (post and currency_code(post) is None):
        return None
    try:
        amount = Decimal(found["num"].replace(",", ""))
    except InvalidOperation:
        return None
    if found["mult"]:
        amount *= _MULTIPLIERS[found["mult"]]
    return amount, currency_code(post) or currency_code(pre)


def parse_value(text: str) -> tuple[Decimal, str | None]:
    """One typed value: an amount with an optional currency beside it (``120000 TWD``, ``USD 5,000``)."""
    words = unicodedata.normalize("NFKC", text).split()
    if len(words) == 1 and (amount := parse_amount(words[0])) is not None:
        return amount
    if len(words) == 2:
        for number, code in ((words[0], words[1]), (words[1], words[0])):
            amount = parse_amount(number)
            if amount is not None and amount[1] is None and (currency := currency_code(code)) is not None:
                return amount[0], currency
    raise ValidationFailed("contracts.error_value")


def parse_day(text: str, now: datetime) -> date:
    """One typed date (``now`` in the reader's zone); ValidationFailed when it is not one."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    when = parse_when(cleaned, now) if cleaned and not cleaned.replace(",", "").isdigit() else None
    if when is None:
        raise ValidationFailed("contracts.error_date")
    return when.at.date()


def _date_at(words: Sequence[str], now: datetime, *, ending: bool) -> tuple[int, date] | None:
    """The longest run of words at the end (``ending``) or the start of ``words`` that is a date: (its length,
    the date)."""
    for size in range(min(MAX_DATE_WORDS, len(words)), 0, -1):
        part = words[len(words) - size:] if ending else words[:size]
        text = " ".join(part)
        if text.replace(",", "").replace(".", "").isdigit():
            continue  # a bare number is an amount, never a date
        when = parse_when(text, now)
        if when is not None:
            return size, when.at.date()
    return None


def _quoted(text: str) -> tuple[str | None, str]:
    for opening, closing in _QUOTES:
        if text.startswith(opening):
            end = text.find(closing, len(opening))
            if end > len(opening):
                return text[len(opening):end].strip(), text[end + len(closing):]
    return None, text


def parse_line(text: str, now: datetime) -> ContractLine:
    """``now`` in the reader's zone. Raises ValidationFailed naming what is missing."""
    normalized = unicodedata.normalize("NFKC", text).strip()
    customer, rest = _quoted(normalized)
    words = _GLUED.sub(" to ", rest).split()
    if customer is None:
        if not words:
            raise ValidationFailed("contracts.error_no_customer")
        customer, words = words[0], words[1:]
    term: tuple[date, date] | None = None
    for index, word in enumerate(words):
        if word.casefold() not in _JOINERS:
            continue
        left = _date_at(words[:index], now, ending=True)
        right = _date_at(words[index + 1:], now, ending=False)
        if left is not None and right is not None:
            term = (left[1], right[1])
            del words[index - left[0]: index + 1 + right[0]]
            break
    if term is None:
        raise ValidationFailed("contracts.error_no_term")
    amount: tuple[Decimal, str | None] | None = None
    for index, word in enumerate(words):
        amount = parse_amount(word)
        if amount is None:
            continue
        del words[index]
        if amount[1] is None:
            for j in (index, index - 1):
                if 0 <= j < len(words) and (code := currency_code(words[j])) is not None:
                    amount = (amount[0], code)
                    del words[j]
                    break
        break
    if amount is None:
        raise ValidationFailed("contracts.error_no_value")
    title = " ".join(words)
    if not title:
        raise ValidationFailed("contracts.error_title")
    return ContractLine(customer, title, amount[0], amount[1], term[0], term[1])
