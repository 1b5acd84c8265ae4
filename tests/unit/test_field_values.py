"""Reading custom field answers: each type typed the ways people type it, wrong ones refused with what was
expected, ``as_text`` read back the same, and ``label op value`` filters in the three languages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm.core.errors import ValidationFailed
from crm.fields.model import FieldDef, FieldEntity, FieldType, FieldValue
from crm.fields.values import as_text, parse_conditions, parse_value

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # a Thursday


def _field(kind: FieldType, choices: tuple[str, ...] = (), field_id: int = 1, labels: dict[str, str] | None = None,
           **more: str) -> FieldDef:
    return FieldDef(field_id, FieldEntity.CUSTOMER, kind, {**(labels or {}), **more} or {"en": "F"}, choices)


def _read(field: FieldDef, raw: str) -> FieldValue:
    return parse_value(field, raw, currency="TWD", phone_region="TW", now=NOW)


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    (FieldType.NUMBER, "1,200.50", FieldValue(number=Decimal("1200.50"))),
    (FieldType.NUMBER, "－5".replace("－", "-"), FieldValue(number=Decimal("-5"))),
    (FieldType.MONEY, "1200", FieldValue(number=Decimal("1200"), currency="TWD")),
    (FieldType.MONEY, "usd 99.5", FieldValue(number=Decimal("99.5"), currency="USD")),
    (FieldType.MONEY, "99.5 EUR", FieldValue(number=Decimal("99.5"), currency="EUR")),
    (FieldType.DATE, "2025-3-31", FieldValue(day=date(2025, 3, 31))),
    (FieldType.DATE, "next friday", FieldValue(day=date(2026, 12, 4))),
    (FieldType.YESNO, "是", FieldValue(text="yes")),
    (FieldType.YESNO, "No", FieldValue(text="no")),
    (FieldType.PHONE, "0912-345-678", FieldValue(text="+886912345678")),
    (FieldType.EMAIL, "a@b.example.com", FieldValue(text="a@b.example.com")),
    (FieldType.TEXT, "  two   words ", FieldValue(text="two words")),
    (FieldType.NUMBER, "   ", FieldValue()),
])
def test_each_type_is_read_typed(kind: FieldType, raw: str, expected: FieldValue) -> None:
    assert _read(_field(kind), raw) == expected


def test_choices_by_text_or_number_and_multi_in_the_fields_order() -> None:
    field = _field(FieldType.CHOICE, ("Retail", "Food"))
    assert _read(field, "ＦＯＯＤ") == FieldValue(text="Food")
    assert _read(field, "1") == FieldValue(text="Retail")
    multi = _field(FieldType.MULTI, ("Retail", "Food", "Tech"))
    assert _read(multi, "tech、retail") == FieldValue(items=("Retail", "Tech"))


@pytest.mark.parametrize(("kind", "raw"), [
    (FieldType.NUMBER, "many"), (FieldType.MONEY, "USD"), (FieldType.DATE, "someday"), (FieldType.DATE, "2025-2-30"),
    (FieldType.YESNO, "maybe"), (FieldType.PHONE, "12"), (FieldType.EMAIL, "nobody"), (FieldType.NUMBER, "1e400"),
])
def test_wrong_answers_say_what_was_expected(kind: FieldType, raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _read(_field(kind), raw)
    assert caught.value.key == f"fields.invalid_{kind.value}"


@pytest.mark.parametrize(("kind", "raw"), [
    (FieldType.NUMBER, "1200.50"), (FieldType.MONEY, "USD 99.50"), (FieldType.DATE, "2025-03-31"),
    (FieldType.YESNO, "yes"), (FieldType.PHONE, "+886912345678"), (FieldType.TEXT, "a = b"),
])
def test_as_text_reads_back_the_same(kind: FieldType, raw: str) -> None:
    field = _field(kind)
    value = _read(field, raw)
    assert _read(field, as_text(field, value)) == value


def test_conditions_name_a_field_in_any_language() -> None:
    staff = _field(FieldType.NUMBER, field_id=1, en="Staff", labels={"zh-Hant": "員工數", "zh-Hans": "员工数"})
    sector = _field(FieldType.CHOICE, ("Retail", "Food"), field_id=2, en="Sector")
    fields = [staff, sector]
    read = parse_conditions(fields, "員工數＞10; sector = food", currency="TWD", phone_region="TW", now=NOW)
    assert [(c.field_id, c.op, c.value) for c in read] == [(1, ">", FieldValue(number=Decimal(10))),
                                                           (2, "=", FieldValue(text="Food"))]
    for wrong, key in (("colour=red", "fields.unknown_field"), ("sector>food", "fields.invalid_operator"),
                       ("staff", "fields.invalid_condition"), ("staff>", "fields.invalid_condition")):
        with pytest.raises(ValidationFailed) as caught:
            parse_conditions(fields, wrong, currency="TWD", phone_region="TW", now=NOW)
        assert caught.value.key == key, wrong
