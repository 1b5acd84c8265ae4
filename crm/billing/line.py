"""One message to an invoice or a payment, read before anything is saved (the chat echoes it for one tap).

``台積電 A-100 x3, B-20 x12 due next friday``: the customer's name, then SKU × quantity items (``x``, ``×``,
``*``), then optionally a due date. ``台積電 NT$50000 transfer yesterday #TX-991``: the customer's name, the
amount (with ``NT$``/``US$`` or a currency code next to it), a method word in any of the three languages, an
optional date and an optional ``#reference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm.billing.model import PaymentMethod
from crm.core.errors import ValidationFailed
from crm.core.natural_dates import parse_when

MAX_ITEMS = 100
_ITEM = re.compile(r"(?P<sku>[^\s,，、x×*＊]+(?:[-_./][^\s,，、x×*＊]+)*)\s*[x×*＊]\s*(?P<qty>\d+(?:\.\d+)?)",
                   re.IGNORECASE)
_AMOUNT = re.compile(r"(?P<pre>NT\$|US\$|HK\$|\$|[A-Z]{3})?\s?(?P<num>\d[\d,]*(?:\.\d+)?)(?:元)?"
                     r"(?P<post>\s?[A-Z]{3}(?![A-Za-z]))?", re.IGNORECASE)
_PREFIXES = {"NT$": "TWD", "US$": "USD", "HK$": "HKD"}
_METHODS: dict[str, PaymentMethod] = {}
for _method, _words in ((PaymentMethod.TRANSFER, "transfer wire bank 匯款 汇款 轉帳 转账 轉賬 電匯 电汇"),
                        (PaymentMethod.CASH, "cash 現金 现金"),
                        (PaymentMethod.CHEQUE, "cheque check 支票"),
                        (PaymentMethod.CARD, "card credit 刷卡 信用卡")):
    for _word in _words.split():
        _METHODS[_word] = _method


def method_of(word: str) -> PaymentMethod | None:
    return _METHODS.get(word.strip().lower())


@dataclass(frozen=True)
class InvoiceLine:
    customer: str
    items: tuple[tuple[str, Decimal], ...]  # (SKU as typed, quantity)
    due: date | None


@dataclass(frozen=True)
class PaymentLine:
    customer: str
    amount: Decimal
    currency: str | None
    method: PaymentMethod | None
    received_on: date | None
    reference: str | None


def read_date(text: str, now: datetime) -> date | None:
    text = text.strip()
    if not text:
        return None
    found = parse_when(text, now)
    if found is None:
        raise ValidationFailed("billing.error_date", text=text[:40])
    return found.at.date()


def parse_invoice(text: str, now: datetime) -> InvoiceLine:
    text = " ".join(text.split())
    items = list(_ITEM.finditer(text))
    if not items:
        raise ValidationFailed("billing.error_items")
    customer = text[:items[0].start()].strip(" ,，、:：")
    if not customer:
        raise ValidationFailed("billing.error_customer_missing")
    between = text[items[0].start():items[-1].end()]
    if _ITEM.sub("", between).strip(" ,，、"):
        raise ValidationFailed("billing.error_items")  # words between items: not one we understood
    if len(items) > MAX_ITEMS:
        raise ValidationFailed("sales.quote_error_too_many", limit=MAX_ITEMS)
    rest = text[items[-1].end():].strip(" ,，、")
    rest = re.sub(r"^(due|到期|到期日)\s*[:：]?\s*", "", rest, flags=re.IGNORECASE)
    return InvoiceLine(customer, tuple((m["sku"], Decimal(m["qty"])) for m in items), read_date(rest, now))


def parse_items(text: str) -> tuple[tuple[str, Decimal], ...]:
    """Only items (the guided flow's step): ``A-100 x3, B-20 x12``."""
    text = " ".join(text.split())
    items = list(_ITEM.finditer(text))
    if not items or _ITEM.sub("", text).strip(" ,，、"):
        raise ValidationFailed("billing.error_items")
    if len(items) > MAX_ITEMS:
        raise ValidationFailed("sales.quote_error_too_many", limit=MAX_ITEMS)
    return tuple((m["sku"], Decimal(m["qty"])) for m in items)


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    found = _AMOUNT.fullmatch(text.strip())
    if found is None:
        raise ValidationFailed("billing.error_amount")
    try:
        amount = Decimal(found["num"].replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed("billing.error_amount") from None
    code = (found["pre"] or found["post"] or "").strip().upper()
    currency = _PREFIXES.get(code, None if code in ("", "$") else code)
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise ValidationFailed("billing.error_amount")
    return amount, currency


def parse_payment(text: str, now: datetime) -> PaymentLine:
    words = text.split()
    reference = None
    rest: list[str] = []
    for word in words:
        if word.startswith("#") and len(word) > 1 and reference is None:
            reference = word[1:]
        else:
            rest.append(word)
    at = next((n for n, w in enumerate(rest) if n > 0 and re.fullmatch(r"(NT\$|US\$|HK\$|\$)?\d[\d,]*(\.\d+)?元?",
                                                                    w, re.IGNORECASE)), None)
    if at is None:
        raise ValidationFailed("billing.error_amount" if rest else "billing.error_customer_missing")
    customer = " ".join(rest[:at])
    token = rest[at]
    after = rest[at + 1:]
    if after and re.fullmatch(r"[A-Za-z]{3}", after[0]) and method_of(after[0]) is None:
        token, after = f"{token} {after[0].upper()}", after[1:]
    amount, currency = parse_amount(token)
    method = None
    remaining: list[str] = []
    for word in after:
        found = method_of(word)
        if found is not None and method is None:
            method = found
        else:
            remaining.append(word)
    return PaymentLine(customer, amount, currency, method, read_date(" ".join(remaining), now), reference)
