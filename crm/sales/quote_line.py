"""The one-message quote: ``/quote 台積電 A-100 x3, B-20 x12`` — a customer, then product codes with quantities.

A quantity follows its SKU after x, X, ×, * (or their full-width forms: the text is NFKC-normalised first);
items are separated by commas, semicolons, 、 or ， or just spaces. Whatever comes before the first item names the
customer. Anything else left over is refused with what was not understood, so a typo never quietly drops a line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from crm.core.errors import ValidationFailed
from crm.sales.quote_model import MAX_LINES, clean_quantity

_ITEM = re.compile(r"(?<![\w.\-/])(?P<sku>[A-Za-z0-9][A-Za-z0-9._/\-]*)\s*[xX×✕✖*]\s*(?P<qty>\d+(?:\.\d+)?)(?!\w)")
_SEPARATORS = re.compile(r"[\s,;、，；]+")


@dataclass(frozen=True)
class QuoteRequest:
    customer: str
    items: tuple[tuple[str, Decimal], ...]  # (SKU as typed, upper-cased; quantity)


def parse_quote_line(text: str) -> QuoteRequest:
    normal = unicodedata.normalize("NFKC", text).strip()
    matches = list(_ITEM.finditer(normal))
    if not matches:
        raise ValidationFailed("sales.quote_line_no_items")
    customer = normal[:matches[0].start()].strip(" ,;、，；:")
    if not customer:
        raise ValidationFailed("sales.quote_line_no_customer")
    leftovers = [normal[a.end():b.start()] for a, b in pairwise(matches)]
    leftovers.append(normal[matches[-1].end():])
    for gap in leftovers:
        extra = _SEPARATORS.sub(" ", gap).strip()
        if extra:
            raise ValidationFailed("sales.quote_line_unclear", text=extra[:40])
    if len(matches) > MAX_LINES:
        raise ValidationFailed("sales.quote_error_too_many", limit=MAX_LINES)
    items = tuple((m.group("sku").upper(), clean_quantity(m.group("qty"))) for m in matches)
    return QuoteRequest(customer, items)
