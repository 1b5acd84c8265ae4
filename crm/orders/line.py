"""One message to an order: ``台積電 A-100 x3, B-20 x12``.

Items are separated by commas (also ，、；;) and each is a SKU with a quantity: ``A-100 x3``, ``A-100×3``,
``A-100*3``, ``A-100 3`` (full-width ＊ and × too); a SKU alone is one. The words before the first item name
the customer. Nothing is looked up or saved here: the handler finds the customer and the products, echoes what
was understood with prices and totals, and waits for one tap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm.core.errors import ValidationFailed

MAX_ITEMS = 100
_SEPARATORS = re.compile(r"[,，、;；]")
# Quantity after ×/* (any spacing), after x only when it cannot be part of the SKU (a space before it, or a
# digit before and a digit after: A-100x3), or after a space.
_ITEM = re.compile(
    r"(?P<sku>[A-Za-z0-9][A-Za-z0-9._/\-]*?)"
    r"(?:\s*[×*]\s*|\s+[xX]\s*|(?<=\d)[xX]|\s+)(?P<qty>\d+(?:\.\d+)?)")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/\-]*")


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: Decimal


@dataclass(frozen=True)
class OrderLine:
    customer: str  # the words naming the customer ("" when the text is items only)
    items: tuple[Item, ...]


def _normal(text: str) -> str:
    # NFKC turns full-width ＊，Ａ１ into *,A1; × stays × and is accepted as it is.
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _quantity(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValidationFailed("orders.error_item", item=text[:40]) from None


def parse_item(text: str) -> Item:
    """One item on its own: ``A-100 x3``, ``A-100``."""
    part = _normal(text)
    found = _ITEM.fullmatch(part)
    if found is not None:
        return Item(found["sku"].upper(), _quantity(found["qty"]))
    if _SKU.fullmatch(part):
        return Item(part.upper(), Decimal(1))
    raise ValidationFailed("orders.error_item", item=part[:40])


def parse_items(text: str) -> tuple[Item, ...]:
    """Items only (what is typed at the products step of ``/order``)."""
    parts = [p.strip() for p in _SEPARATORS.split(_normal(text)) if p.strip()]
    if not parts:
        raise ValidationFailed("orders.error_no_items")
    if len(parts) > MAX_ITEMS:
        raise ValidationFailed("orders.error_too_many", limit=MAX_ITEMS)
    return tuple(parse_item(p) for p in parts)


def _first(part: str) -> tuple[str, Item]:
    """The first comma-separated part: the customer's words, then one item at its end."""
    words = part.split(" ")
    # The item is the last word, or the last two (SKU and quantity) when the last is a quantity.
    for take in (3, 2, 1):
        if len(words) > take:
            try:
                return " ".join(words[:-take]), parse_item(" ".join(words[-take:]))
            except ValidationFailed:
                continue
    raise ValidationFailed("orders.error_no_items")


def parse_order_line(text: str) -> OrderLine:
    parts = [p.strip() for p in _SEPARATORS.split(_normal(text)) if p.strip()]
    if not parts:
        raise ValidationFailed("orders.error_no_items")
    if len(parts) > MAX_ITEMS:
        raise ValidationFailed("orders.error_too_many", limit=MAX_ITEMS)
    customer, first = _first(parts[0])
    return OrderLine(customer, (first, *(parse_item(p) for p in parts[1:])))
