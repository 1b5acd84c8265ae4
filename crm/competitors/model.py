"""Competitors, what is seen of them in the field (intel), the opportunities they are met on, and who won."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core.money import Money
from crm.customers.search_terms import fold

NAME_LIMIT = 200
FACT_LIMIT = 1000
TEXT_LIMIT = 1000
REASON_LIMIT = 500
FACTS = ("brands", "regions", "strengths", "weaknesses", "sources")


def name_key(name: str) -> str:
    """What makes two competitor names the same one: case, width, invisible characters and spacing aside (as
    customer names, crm/core/names.py)."""
    return fold(name)


class IntelKind(StrEnum):
    PRICE = "price"
    PROMOTION = "promotion"
    ACTIVITY = "activity"
    OTHER = "other"


class LossAnswer(StrEnum):
    """What the owner of a lost opportunity answered to "who won?"."""

    COMPETITOR = "competitor"
    OTHER = "other"  # a competitor not linked to the opportunity (or not in the archive)
    NONE = "none"  # nobody won: the customer did not buy


@dataclass(frozen=True, kw_only=True)
class Competitor:
    id: int
    name: str
    created_by: int
    created_at: datetime
    updated_at: datetime
    brands: str | None = None
    regions: str | None = None
    strengths: str | None = None
    weaknesses: str | None = None
    sources: str | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CompetitorProduct:
    id: int
    competitor_id: int
    name: str
    price: Decimal
    currency: str
    seen_on: date
    category_id: int | None = None
    created_at: datetime | None = None

    @property
    def money(self) -> Money:
        return Money(self.price, self.currency)


@dataclass(frozen=True, kw_only=True)
class IntelDraft:
    competitor_id: int
    text: str
    kind: IntelKind = IntelKind.OTHER
    seen_on: date
    customer_id: int | None = None
    price: Decimal | None = None
    currency: str | None = None
    file_id: str | None = None  # a Telegram file id of the photo


@dataclass(frozen=True, kw_only=True)
class Intel(IntelDraft):
    id: int
    staff_id: int
    created_at: datetime
    file_path: str | None = None  # the copy under DATA_DIR
    deleted_at: datetime | None = None

    @property
    def money(self) -> Money | None:
        return Money(self.price, self.currency) if self.price is not None and self.currency else None


@dataclass(frozen=True)
class IntelItem:
    intel: Intel
    staff_name: str
    customer_name: str | None


@dataclass(frozen=True)
class WinLoss:
    """Opportunities linked to the competitor closed in ``[since, before)`` (a quarter), within the reader's
    sales scope: won by us, lost, and of the lost those the owner said the competitor won."""

    since: date
    before: date
    won: int
    lost: int
    lost_to_them: int

    @property
    def win_rate(self) -> int | None:
        """Whole percent of the closed ones we won; None when none closed."""
        closed = self.won + self.lost
        return None if closed == 0 else (self.won * 100 + closed // 2) // closed


@dataclass(frozen=True)
class PriceSide:
    name: str
    money: Money
    seen_on: date | None = None


@dataclass(frozen=True)
class PriceComparison:
    """One product category: their products' prices beside our catalog's list prices."""

    category: str
    theirs: tuple[PriceSide, ...]
    ours: tuple[PriceSide, ...]


@dataclass(frozen=True)
class CompetitorCard:
    competitor: Competitor
    products: tuple[CompetitorProduct, ...]
    intel: tuple[IntelItem, ...]
    more_intel: bool
    win_loss: tuple[WinLoss, ...]  # this quarter, then the last
    prices: tuple[PriceComparison, ...]


@dataclass(frozen=True)
class OpportunityLinks:
    opportunity_id: int
    title: str
    linked: tuple[Competitor, ...]
    others: tuple[Competitor, ...]  # every other live competitor, to link
    typed: tuple[str, ...] = ()  # names typed as free text before links, not in the archive (migration 0031)


@dataclass(frozen=True)
class LossQuestion:
    """What the owner of a lost opportunity is asked: which competitor won and why."""

    opportunity_id: int
    title: str
    customer_name: str
    owner_id: int
    owner_telegram_id: int | None
    owner_locale: str | None
    linked: tuple[Competitor, ...]
    answer: LossAnswer | None = None
    winner_id: int | None = None
    why: str | None = None
