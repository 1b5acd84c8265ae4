"""Custom fields: definitions an admin adds per kind of record, and the typed values stored against records.

A definition is data (``custom_fields``), a value is a row (``custom_values``) with typed columns, so adding or
removing a field never needs a migration, a restart or a deploy (docs/fields.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.locales import SUPPORTED

LANGUAGES = SUPPORTED  # "en", "zh-Hant", "zh-Hans": the users' locales
LABEL_LIMIT = 60
TEXT_LIMIT = 500
CHOICE_LIMIT = 60
MAX_CHOICES = 30
MAX_FIELDS = 50  # per kind of record: a card and a guided flow stay readable


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    CHOICE = "choice"
    MULTI = "multi"
    PHONE = "phone"
    EMAIL = "email"
    YESNO = "yesno"

    @property
    def column(self) -> str:
        """Which typed column holds a value of this type (and is indexed for filtering)."""
        if self in (FieldType.NUMBER, FieldType.MONEY):
            return "number"
        if self is FieldType.DATE:
            return "date"
        return "text"

    @property
    def has_choices(self) -> bool:
        return self in (FieldType.CHOICE, FieldType.MULTI)


class FieldEntity(StrEnum):
    """The kinds of record a field can be defined for (the issue's list; a module wires its own kind in)."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    ORDER = "order"
    TICKET = "ticket"
    EXPENSE = "expense"


@dataclass(frozen=True)
class FieldDef:
    id: int
    entity: FieldEntity
    type: FieldType
    labels: Mapping[str, str]
    """Language code → label; English is always there, the others fall back to it."""
    choices: tuple[str, ...] = ()
    required: bool = False
    position: int = 0
    created_at: datetime | None = None
    deleted_at: datetime | None = None

    def label(self, locale: str | None) -> str:
        return self.labels.get(locale or "en") or self.labels.get("en") or next(iter(self.labels.values()), "?")


@dataclass(frozen=True)
class FieldDraft:
    entity: FieldEntity
    type: FieldType
    labels: Mapping[str, str]
    choices: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class FieldValue:
    """One value, typed: text (text, choice, phone, e-mail, yes/no), a number (number, money with its currency) or
    a date. A multi-choice value is its choices (``items``), one stored row each so each one is indexed."""

    text: str | None = None
    number: Decimal | None = None
    day: date | None = None
    currency: str | None = None
    items: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        return self.text is None and self.number is None and self.day is None and not self.items


@dataclass(frozen=True)
class Condition:
    """``label op value`` from a search or a segment: the field, the operator and the typed value compared."""

    field_id: int
    op: str  # one of OPERATORS
    value: FieldValue


OPERATORS = ("=", "!=", ">=", "<=", ">", "<")
