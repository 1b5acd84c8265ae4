"""One message to an opportunity: ``台積電 Line upgrade 1.2M TWD close next month``.

What is read: the customer's name and the title (the words before the amount, split by the handler once it knows
which leading words name a customer), the amount with an optional multiplier (k, M, 萬/万, 億/亿) and currency,
and the expected close date after "close" / "by" / 結案 / 成交 / 預計 (or, without such a word, the date the
message ends with), in any of the three languages (crm/core/natural_dates.py). Nothing is saved from here: the
handler echoes what was understood and waits for one tap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm.core.errors import ValidationFailed
from crm.core.natural_dates import parse_when

_MULTIPLIERS = {"k": Decimal(1_000), "m": Decimal(1_000_000), "萬": Decimal(10_000), "万": Decimal(10_000),
                "億": Decimal(100_000_000), "亿": Decimal(100_000_000)}
# Currencies people type in lower case too; any other code counts only in capitals ("new" is not a currency).
_KNOWN = {"twd", "ntd", "usd", "eur", "jpy", "cny", "rmb", "hkd", "sgd", "gbp", "krw", "aud", "cad"}
_ALIASES = {"NTD": "TWD", "RMB": "CNY", "NT$": "TWD", "US$": "USD"}
_AMOUNT = re.compile(
    r"(?:(?P<pre>(?i:NT\$|US\$)|[A-Za-z]{3})\s*)?(?<![\w.])(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<mul>[kKmM萬万億亿])?元?"
    r"(?:\s*(?P<post>[A-Za-z]{3}))?(?![\w.])")
_CLOSE = re.compile(r"(?:(?<![A-Za-z])(?:close[sd]?|closing|by)(?![A-Za-z])|結案|结案|成交|預計|预计)\s*[:：]?",
                    re.IGNORECASE)


@dataclass(frozen=True)
class OpportunityLine:
    head: str  # the customer's name and the title, still together
    amount: Decimal | None
    currency: str | None
    close_date: date | None


def _currency(token: str | None) -> str | None:
    if not token:
        return None
    if token.lower() in _KNOWN or token.upper() in _ALIASES or (token.isupper() and token.isalpha()):
        code = token.upper()
        return _ALIASES.get(code, code)
    return None


def parse_amount(text: str) -> tuple[Decimal, str | None] | None:
    """``1.2M TWD``, ``120萬``, ``NT$ 50,000``, ``50k``: the amount and the currency if one was given."""
    found = _AMOUNT.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if found is None:
        return None
    return _read(found)


def _read(found: re.Match[str]) -> tuple[Decimal, str | None] | None:
    try:
        amount = Decimal(found["num"].replace(",", ""))
    except InvalidOperation:
        return None
    if found["mul"]:
        amount *= _MULTIPLIERS[found["mul"].lower()]
    if amount == amount.to_integral():
        amount = amount.quantize(Decimal(1))
    return amount, _currency(found["post"]) or _currency(found["pre"])


def _close_date(text: str, now: datetime) -> date | None:
    when = parse_when(text, now)
    return when.at.date() if when is not None else None


def parse_line(text: str, now: datetime) -> OpportunityLine:
    """``now`` in the reader's zone, so "next month" is theirs. Raises ValidationFailed for a close word not
    followed by a date (the user meant one: better to say so than to drop it)."""
    line = " ".join(unicodedata.normalize("NFKC", text).split())
    close: date | None = None
    keyword = _CLOSE.search(line)
    if keyword is not None:
        rest = line[keyword.end():].strip()
        close = _close_date(rest, now) if rest else None
        if close is None:
            raise ValidationFailed("sales.opp_error_date")
        line = line[:keyword.start()].strip()
    else:
        words = line.split(" ")
        for start in range(1, len(words)):  # the longest date the message ends with
            close = _close_date(" ".join(words[start:]), now)
            if close is not None:
                line = " ".join(words[:start])
                break
    amount: Decimal | None = None
    currency: str | None = None
    matches = [m for m in _AMOUNT.finditer(line) if m.start() > 0]
    if matches:
        found = matches[-1]
        read = _read(found)
        if read is not None:
            amount, currency = read
            # A currency before the amount counts only when none follows it: "ERP 50k usd" keeps "ERP".
            before = found["pre"] is not None and _currency(found["pre"]) and not _currency(found["post"])
            start = found.start() if before else found.start("num")
            end = found.end() if found["post"] is None or _currency(found["post"]) else found.start("post")
            line = (line[:start] + " " + line[end:]).strip()
    return OpportunityLine(" ".join(line.split()), amount, currency, close)
