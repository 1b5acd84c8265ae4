"""The sales pipeline: opportunities on customers, moving through stages that are data (docs/sales.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core import locales
from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.fields.model import FieldDef, FieldValue

REASON_LIMIT = 500


class Outcome(StrEnum):
    """What being in a stage means: still being worked, or closed one way or the other."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True)
class Stage:
    """A step of the pipeline. Stages are rows (an admin may rename or re-weigh them), seeded by migration 0010."""

    id: int
    key: str
    name: str
    sequence: int
    probability: Decimal  # percent: 25 means 25 %
    outcome: Outcome
    name_zh_hant: str | None = None
    name_zh_hans: str | None = None

    def display_name(self, locale: str) -> str:
        translated = {locales.ZH_HANT: self.name_zh_hant, locales.ZH_HANS: self.name_zh_hans}.get(locale)
        return translated or self.name

    @property
    def is_open(self) -> bool:
        return self.outcome is Outcome.OPEN


@dataclass(frozen=True, kw_only=True)
class OpportunityFields:
    """What a person types about an opportunity."""

    customer_id: int
    title: str
    amount: Decimal = Decimal(0)
    currency: str = "TWD"
    close_date: date | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Opportunity(OpportunityFields):
    id: int
    owner_id: int
    stage_id: int
    created_at: datetime
    updated_at: datetime
    lost_reason: str | None = None
    # competitor names typed as free text before competitors were linked records, which no competitor in the
    # archive had (migration 0031): kept to be read, never edited; the links are the competitors module's
    competitors_typed: str | None = None
    closed_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


def typed_names(kept: str | None) -> tuple[str, ...]:
    """The names in ``Opportunity.competitors_typed`` (kept comma-separated by migration 0031)."""
    return tuple(name.strip() for name in (kept or "").split(",") if name.strip())


@dataclass(frozen=True)
class OpportunityCard:
    opportunity: Opportunity
    stage: Stage
    customer_name: str
    owner_name: str
    stages: tuple[Stage, ...]  # every stage, in order: the card's "move" buttons
    custom: tuple[tuple[FieldDef, FieldValue], ...] = ()  # the custom fields with a value, in their order


def weighted(amount: Money, probability: Decimal) -> Money:
    """The amount times the stage's probability: what the pipeline is expected to bring in. Exact (Decimal);
    rounding is left to the display, so a sum of many is not a sum of rounded parts."""
    return Money(amount.amount * probability / Decimal(100), amount.currency)


def totals(amounts: Iterable[Money]) -> tuple[Money, ...]:
    """Sums per currency, in the order currencies were first met: amounts in different currencies never mix."""
    sums: dict[str, Money] = {}
    for money in amounts:
        sums[money.currency] = sums[money.currency] + money if money.currency in sums else money
    return tuple(sums.values())


def lost_reason(target: Stage, reason: str | None) -> str | None:
    """Moving to a lost stage needs a typed reason (what we learn from losing); other stages take none."""
    if target.outcome is not Outcome.LOST:
        return None
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("sales.opp_error_reason")
    if len(text) > REASON_LIMIT:
        raise ValidationFailed("error.field_too_long", field="lost_reason", limit=REASON_LIMIT)
    return text


@dataclass(frozen=True)
class StageSummary:
    stage: Stage
    count: int
    amounts: tuple[Money, ...]  # per currency
    weighted: tuple[Money, ...]  # per currency


@dataclass(frozen=True)
class Pipeline:
    stages: tuple[StageSummary, ...]  # the open stages, in order, also those with nothing in them
    team: bool  # everyone in the reader's sales scope, not only their own

    @property
    def count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def weighted(self) -> tuple[Money, ...]:
        return totals(m for s in self.stages for m in s.weighted)


def summarise(stages: Iterable[Stage], rows: Iterable[tuple[int, Money]], team: bool) -> Pipeline:
    """The open stages with how many opportunities are in each and their (weighted) value per currency."""
    by_stage: dict[int, list[Money]] = {}
    for stage_id, money in rows:
        by_stage.setdefault(stage_id, []).append(money)
    shown = []
    for stage in sorted((s for s in stages if s.is_open), key=lambda s: (s.sequence, s.id)):
        amounts = by_stage.get(stage.id, [])
        shown.append(StageSummary(stage, len(amounts), totals(amounts),
                                  totals(weighted(m, stage.probability) for m in amounts)))
    return Pipeline(tuple(shown), team)


@dataclass(frozen=True)
class StaleOpportunities:
    """An owner's open opportunities nobody changed for ``days`` days, the oldest first."""

    day: date
    days: int
    items: tuple[tuple[Opportunity, str], ...]  # with the customer's name
    total: int


DEFAULT_STAGES: tuple[Mapping[str, object], ...] = (
    {"key": "new", "name": "New", "name_zh_hant": "新機會", "name_zh_hans": "新机会", "sequence": 10,
     "probability": Decimal(10), "outcome": "open"},
    {"key": "qualified", "name": "Qualified", "name_zh_hant": "已確認需求", "name_zh_hans": "已确认需求",
     "sequence": 20, "probability": Decimal(25), "outcome": "open"},
    {"key": "proposal", "name": "Proposal", "name_zh_hant": "提案", "name_zh_hans": "提案", "sequence": 30,
     "probability": Decimal(50), "outcome": "open"},
    {"key": "negotiation", "name": "Negotiation", "name_zh_hant": "議價", "name_zh_hans": "议价", "sequence": 40,
     "probability": Decimal(75), "outcome": "open"},
    {"key": "won", "name": "Won", "name_zh_hant": "贏單", "name_zh_hans": "赢单", "sequence": 50,
     "probability": Decimal(100), "outcome": "won"},
    {"key": "lost", "name": "Lost", "name_zh_hant": "輸單", "name_zh_hans": "输单", "sequence": 60,
     "probability": Decimal(0), "outcome": "lost"},
)
