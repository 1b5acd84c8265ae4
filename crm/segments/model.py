"""Saved customer segments and what a handover moves: plain data shared by services, ports and storage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crm.customers.model import Classification, Tier
from crm.organisation.permissions import ScopeFilter

MAX_VALUES = 20  # per field: a filter is a few choices, not a list of customers
MAX_VALUE_LENGTH = 100
MAX_NO_CONTACT_DAYS = 3650


def _texts(values: Iterable[Any]) -> frozenset[str]:
    out = set()
    for value in values:
        text = " ".join(str(value).split())[:MAX_VALUE_LENGTH]
        if text:
            out.add(text)
    return frozenset(out)


def _ints(values: Iterable[Any]) -> frozenset[int]:
    out = set()
    for value in values:
        try:
            out.add(int(value))
        except (TypeError, ValueError):
            continue
    return frozenset(out)


@dataclass(frozen=True)
class SegmentFilter:
    """Which customers belong to a segment.

    Within one field the values are alternatives (classification potential *or* general); the fields are
    combined with AND. An empty field does not filter. ``no_contact_days``: nobody talked to the customer for
    at least that many days (a customer never contacted counts from when it was created, so a new customer is
    not "neglected" on day one). Services always add the viewer's own customers scope on top.
    """

    classifications: frozenset[Classification] = frozenset()
    tiers: frozenset[Tier] = frozenset()
    regions: frozenset[str] = frozenset()
    industries: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    no_contact_days: int | None = None
    owner_ids: frozenset[int] = frozenset()
    custom: tuple[CustomCondition, ...] = ()
    """Conditions on custom fields (the fields module reads and describes them): all must hold."""

    @property
    def is_empty(self) -> bool:
        return not (self.classifications or self.tiers or self.regions or self.industries or self.tags
                    or self.no_contact_days or self.owner_ids or self.custom)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (sorted lists), stable so the same filter is always stored the same way."""
        return {
            "classifications": sorted(c.value for c in self.classifications),
            "tiers": sorted(t.value for t in self.tiers),
            "regions": sorted(self.regions),
            "industries": sorted(self.industries),
            "tags": sorted(self.tags),
            "no_contact_days": self.no_contact_days,
            "owner_ids": sorted(self.owner_ids),
            **({"custom": [list(c) for c in self.custom]} if self.custom else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SegmentFilter:
        """Tolerant: unknown keys and values that no longer exist (a renamed tier) are dropped, never fatal."""
        if not isinstance(data, Mapping):
            return cls()
        known_classes = {c.value for c in Classification}
        known_tiers = {t.value for t in Tier}
        days = data.get("no_contact_days")
        try:
            no_contact = int(days) if days is not None else None
        except (TypeError, ValueError):
            no_contact = None
        if no_contact is not None and not 0 < no_contact <= MAX_NO_CONTACT_DAYS:
            no_contact = None
        return cls(
            classifications=frozenset(Classification(v) for v in _list(data, "classifications") if v in known_classes),
            tiers=frozenset(Tier(v) for v in _list(data, "tiers") if v in known_tiers),
            regions=_texts(_list(data, "regions")),
            industries=_texts(_list(data, "industries")),
            tags=_texts(str(v).lstrip("#") for v in _list(data, "tags")),
            no_contact_days=no_contact,
            owner_ids=_ints(_list(data, "owner_ids")),
            custom=_custom(_list(data, "custom")),
        )

    def with_values(self, field_name: str, values: frozenset[Any]) -> SegmentFilter:
        """Replace one set-valued field (typed regions, industries or tags replace the earlier ones)."""
        changed: dict[str, Any] = {field_name: values}
        return replace(self, **changed)

    def toggled(self, field_name: str, value: Any) -> SegmentFilter:
        """Add ``value`` to a set-valued field, or remove it when it is there (what a filter button does)."""
        current: frozenset[Any] = getattr(self, field_name)
        changed: dict[str, Any] = {field_name: current - {value} if value in current else current | {value}}
        return replace(self, **changed)


# A condition on a custom field, as stored: (field id, operator, typed column "text" / "number" / "date", the
# value as text: folded text, a decimal, an ISO date). The segment keeps working when the field is removed: a
# condition on a removed field matches nothing until it is restored.
CustomCondition = tuple[int, str, str, str]
CUSTOM_OPERATORS = ("=", "!=", ">", "<", ">=", "<=")
CUSTOM_COLUMNS = ("text", "number", "date")


def _custom(values: Iterable[Any]) -> tuple[CustomCondition, ...]:
    out: list[CustomCondition] = []
    for value in values:
        if isinstance(value, list | tuple) and len(value) == 4:
            field_id, op, column, text = value
            if (isinstance(field_id, int) and op in CUSTOM_OPERATORS and column in CUSTOM_COLUMNS
                    and isinstance(text, str) and len(text) <= MAX_VALUE_LENGTH * 5):
                out.append((field_id, op, column, text))
    return tuple(out)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return list(value)[:MAX_VALUES] if isinstance(value, list | tuple) else []


@dataclass(frozen=True)
class Segment:
    id: int
    name: str
    owner_id: int
    filter: SegmentFilter
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class SegmentQuery:
    """A filter as one viewer sees it: their customers scope, and "now" for the no-contact cut-off."""

    scope: ScopeFilter
    filter: SegmentFilter
    now: datetime


@dataclass(frozen=True)
class OwnedCounts:
    """What a person owns that would be left without an active owner if they left."""

    customers: int = 0
    leads: int = 0
    followups: int = 0
    trashed: int = 0  # soft-deleted customers: restorable, so they need an owner too

    @property
    def total(self) -> int:
        return self.customers + self.leads + self.followups + self.trashed


@dataclass(frozen=True)
class MovedItems:
    customer_ids: tuple[int, ...] = ()
    lead_ids: tuple[int, ...] = ()
    followup_ids: tuple[int, ...] = ()
    trashed_customer_ids: tuple[int, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> OwnedCounts:
        return OwnedCounts(len(self.customer_ids), len(self.lead_ids), len(self.followup_ids),
                           len(self.trashed_customer_ids))
