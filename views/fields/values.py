"""A custom field's value as people read it, in their language (cards, the fields screen, the flows' echo)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crm.core.money import Money
from crm.customers import phones
from crm.fields.model import FieldDef, FieldType, FieldValue

Translate = Callable[..., str]


def value_text(t: Translate, field: FieldDef, value: FieldValue, *, phone_region: str = "TW") -> str:
    """Plain text (not escaped)."""
    if value.is_empty:
        return ""
    if field.type is FieldType.MULTI:
        return ", ".join(value.items)
    if field.type is FieldType.MONEY and value.number is not None and value.currency:
        return str(Money(value.number, value.currency))
    if value.number is not None:
        return f"{value.number:,}"
    if value.day is not None:
        return value.day.isoformat()
    if field.type is FieldType.YESNO:
        return t("fields.value_yes") if value.text == "yes" else t("fields.value_no")
    if field.type is FieldType.PHONE and value.text:
        return phones.display(value.text, phone_region)
    return value.text or ""


def card_lines(t: Translate, locale: str, rows: Sequence[Any], *, phone_region: str = "TW") -> str:
    """The card's section: one ``label: value`` line per field that has a value."""
    lines = [t("fields.card_line", label=field.label(locale),
               value=value_text(t, field, value, phone_region=phone_region))
             for field, value in rows if not value.is_empty]
    return "\n".join(lines)


__all__ = ["card_lines", "value_text"]
