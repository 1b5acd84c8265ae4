"""Reading a typed answer into a field's value, writing it back as text, and reading ``label op value`` filters.

Pure functions: the guided flows, the one-line forms, the import, the search and the segments all read values
here, so a value is checked the same way wherever it comes from. A wrong answer raises ``ValidationFailed`` with
a key that names the type, so the reply says what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.core.natural_dates import parse_when
from crm.customers import phones
from crm.customers.customers import clean_email
from crm.customers.search_terms import fold
from crm.fields.model import (
    CHOICE_LIMIT,
    OPERATORS,
    TEXT_LIMIT,
    Condition,
    FieldDef,
    FieldType,
    FieldValue,
)

YES = frozenset({"yes", "y", "true", "1", "是", "有", "對", "对", "✅"})
NO = frozenset({"no", "n", "false", "0", "否", "沒有", "没有", "無", "无", "不是", "❌"})
_SPLIT = re.compile(r"\s*[,，、;；|]\s*")
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_CURRENCY = re.compile(r"^([A-Za-z]{3})\s*(.+)$|^(.+?)\s*([A-Za-z]{3})$")
_CONDITION = re.compile(r"^(?P<label>.+?)\s*(?P<op>!=|>=|<=|=|>|<|＝|＞|＜)\s*(?P<value>.*)$")
MAX_NUMBER = Decimal("1e15")


def _invalid(field: FieldDef, raw: str) -> ValidationFailed:
    return ValidationFailed(f"fields.invalid_{field.type.value}", value=raw[:60], choices=", ".join(field.choices))


def _decimal(field: FieldDef, raw: str) -> Decimal:
    try:
        number = Decimal(raw.replace(",", "").replace("，", "").replace(" ", ""))
    except InvalidOperation as exc:
        raise _invalid(field, raw) from exc
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        raise _invalid(field, raw)
    return number


def _choice(field: FieldDef, raw: str) -> str:
    """A choice by its text (case and width aside) or by its number in the list."""
    wanted = fold(raw)
    for choice in field.choices:
        if fold(choice) == wanted:
            return choice
    if raw.isdigit() and 1 <= int(raw) <= len(field.choices):
        return field.choices[int(raw) - 1]
    raise _invalid(field, raw)


def parse_value(field: FieldDef, raw: str, *, currency: str, phone_region: str, now: datetime) -> FieldValue:
    """The typed value of ``raw`` for ``field``; an empty answer is an empty value (the caller decides whether
    the field may be left empty)."""
    text = " ".join(raw.split())
    if not text:
        return FieldValue()
    kind = field.type
    if kind is FieldType.TEXT:
        if len(text) > TEXT_LIMIT:
            raise ValidationFailed("fields.invalid_too_long", limit=TEXT_LIMIT)
        return FieldValue(text=text)
    if kind is FieldType.NUMBER:
        return FieldValue(number=_decimal(field, text))
    if kind is FieldType.MONEY:
        return _money(field, text, currency)
    if kind is FieldType.DATE:
        return FieldValue(day=_date(field, text, now))
    if kind is FieldType.CHOICE:
        return FieldValue(text=_choice(field, text))
    if kind is FieldType.MULTI:
        picked = tuple(dict.fromkeys(_choice(field, part) for part in _SPLIT.split(text) if part))
        return FieldValue(items=tuple(c for c in field.choices if c in picked))
    if kind is FieldType.PHONE:
        number = phones.try_normalize(text, phone_region)
        if number is None:
            raise _invalid(field, text)
        return FieldValue(text=number)
    if kind is FieldType.EMAIL:
        try:
            return FieldValue(text=clean_email(text))
        except ValidationFailed as exc:
            raise _invalid(field, text) from exc
    folded = fold(text)
    if folded in YES:
        return FieldValue(text="yes")
    if folded in NO:
        return FieldValue(text="no")
    raise _invalid(field, text)


def _money(field: FieldDef, text: str, currency: str) -> FieldValue:
    """``1200``, ``1,200.50``, ``USD 1200`` or ``1200 usd``: a Decimal with its currency (the team's by default)."""
    code = currency
    amount = text
    match = _CURRENCY.match(text)
    if match:
        if match.group(1):
            code, amount = match.group(1).upper(), match.group(2)
        else:
            amount, code = match.group(3), match.group(4).upper()
    try:
        money = Money.parse(amount, code)
    except ValueError as exc:
        raise _invalid(field, text) from exc
    if abs(money.amount) >= MAX_NUMBER:
        raise _invalid(field, text)
    return FieldValue(number=money.amount, currency=money.currency)


def _date(field: FieldDef, text: str, now: datetime) -> date:
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
        except ValueError as exc:
            raise _invalid(field, text) from exc
    found = parse_when(text, now)
    if found is None or found.text.strip() != text.strip():
        raise _invalid(field, text)
    return found.at.date()


def as_text(field: FieldDef, value: FieldValue) -> str:
    """The value written out so that ``parse_value`` reads it back the same (export, the edit prompt)."""
    if value.is_empty:
        return ""
    if field.type is FieldType.MULTI:
        return ", ".join(value.items)
    if field.type is FieldType.MONEY and value.number is not None:
        return f"{value.currency} {value.number}"
    if value.number is not None:
        return str(value.number)
    if value.day is not None:
        return value.day.isoformat()
    return value.text or ""


def check_choices(raw: str) -> tuple[str, ...]:
    """The choices an admin typed (comma or new-line separated), in their order, without repeats."""
    items = tuple(dict.fromkeys(" ".join(p.split())[:CHOICE_LIMIT] for p in re.split(r"[\n,，、;；]+", raw)
                                if p.strip()))
    return items


def find_field(fields: Sequence[FieldDef], label: str) -> FieldDef | None:
    """The live field whose label in any of the three languages is ``label`` (case and width aside)."""
    wanted = fold(label)
    for candidate in fields:
        if any(fold(text) == wanted for text in candidate.labels.values() if text):
            return candidate
    return None


def parse_conditions(fields: Sequence[FieldDef], text: str, *, currency: str, phone_region: str, now: datetime
                     ) -> list[Condition]:
    """``size>5; region=north`` (or one per line): each part a field label, an operator and a value. Text,
    choice, phone, e-mail and yes/no compare for (in)equality only; numbers, money and dates also order."""
    conditions: list[Condition] = []
    for part in re.split(r"[;；\n]+|\s+&\s+", text):
        part = part.strip()
        if not part:
            continue
        match = _CONDITION.match(part)
        if match is None:
            raise ValidationFailed("fields.invalid_condition", value=part[:60])
        op = match.group("op").replace("＝", "=").replace("＞", ">").replace("＜", "<")
        field = find_field(fields, match.group("label"))
        if field is None:
            raise ValidationFailed("fields.unknown_field", value=match.group("label")[:60])
        if op not in ("=", "!=") and field.type.column == "text":
            raise ValidationFailed("fields.invalid_operator", label=field.label("en"), op=op)
        value = parse_value(field, match.group("value"), currency=currency, phone_region=phone_region, now=now)
        if field.type is FieldType.MULTI and len(value.items) == 1:
            value = FieldValue(text=value.items[0])
        if value.is_empty or value.items:
            raise ValidationFailed("fields.invalid_condition", value=part[:60])
        assert op in OPERATORS
        conditions.append(Condition(field.id, op, value))
    if not conditions:
        raise ValidationFailed("fields.invalid_condition", value=text[:60])
    return conditions


def text_key(text: str) -> str:
    """How a text value is compared in a filter: case and width aside (indexed as ``value_key``)."""
    return fold(text)[:TEXT_LIMIT]


def stored_condition(condition: Condition) -> tuple[int, str, str, str]:
    """A condition as a saved segment keeps it (``SegmentFilter.custom``): field, operator, typed column, value."""
    value = condition.value
    if value.day is not None:
        return (condition.field_id, condition.op, "date", value.day.isoformat())
    if value.number is not None:
        return (condition.field_id, condition.op, "number", str(value.number))
    return (condition.field_id, condition.op, "text", text_key(value.text or ""))
