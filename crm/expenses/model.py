"""Expenses: what a staff member spent (amount and currency, category, date, note, receipt, optionally on a
customer or a project), the approval it goes through, projects, and budgets with their alerts (docs/expenses.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.core import locales
from crm.core.money import Money
from crm.fields.model import FieldDef, FieldValue
from crm.organisation.model import Staff

NOTE_LIMIT = 500
REASON_LIMIT = 500


class Status(StrEnum):
    SUBMITTED = "submitted"  # waiting for an approver
    APPROVED = "approved"  # locked: no edit, no delete
    REJECTED = "rejected"


@dataclass(frozen=True)
class Category:
    """Categories are rows seeded by migration 0012 (an admin may add or rename them later); ``words`` are the
    other words people type for one ("taxi" is transport), in any of the three languages."""

    id: int
    key: str
    name: str
    name_zh_hant: str | None = None
    name_zh_hans: str | None = None
    words: str = ""
    sequence: int = 0

    def display_name(self, locale: str) -> str:
        translated = {locales.ZH_HANT: self.name_zh_hant, locales.ZH_HANS: self.name_zh_hans}.get(locale)
        return translated or self.name

    def vocabulary(self) -> set[str]:
        """Every word that names this category, folded for comparison."""
        names = (self.key, self.name, self.name_zh_hant or "", self.name_zh_hans or "", *self.words.split())
        return {fold(n) for n in names if n.strip()}


def fold(word: str) -> str:
    return word.strip().casefold()


@dataclass(frozen=True, kw_only=True)
class ExpenseFields:
    """What a person states about an expense."""

    amount: Decimal
    currency: str
    category_id: int
    spent_on: date
    note: str | None = None
    customer_id: int | None = None
    receipt_file_id: str | None = None  # the Telegram file id of the receipt photo
    project_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Expense(ExpenseFields):
    id: int
    staff_id: int  # who spent it: the owner for the ``expenses`` query scope
    status: Status
    created_at: datetime
    updated_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None
    reject_reason: str | None = None
    deleted_at: datetime | None = None
    receipt_path: str | None = None  # the receipt's copy, relative to DATA_DIR

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def locked(self) -> bool:
        return self.status is Status.APPROVED


@dataclass(frozen=True)
class ExpenseCard:
    expense: Expense
    category: Category
    staff_name: str
    customer_name: str | None
    decided_by_name: str | None = None
    project_name: str | None = None
    custom: tuple[tuple[FieldDef, FieldValue], ...] = ()  # the custom fields with a value, in their order


@dataclass(frozen=True)
class Submitted:
    """A new expense and whom to ask for approval."""

    card: ExpenseCard
    approvers: tuple[Staff, ...]


@dataclass(frozen=True)
class Decided:
    """An approval or rejection and whom to tell: the submitter."""

    card: ExpenseCard
    submitter: Staff | None
    alerts: tuple[int, ...] = ()  # budget alerts the approval raised (crm/expenses/budgets.py), to be told


@dataclass(frozen=True)
class MonthView:
    first_day: date
    items: tuple[ExpenseCard, ...]
    totals: tuple[Money, ...]  # per currency; rejected expenses are not counted
    team: bool


def totals(amounts: Iterable[Money]) -> tuple[Money, ...]:
    """Sums per currency, in the order currencies were first met: amounts in different currencies never mix."""
    sums: dict[str, Money] = {}
    for money in amounts:
        sums[money.currency] = sums[money.currency] + money if money.currency in sums else money
    return tuple(sums.values())


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"


PROJECT_NAME_LIMIT = 100


@dataclass(frozen=True, kw_only=True)
class Project:
    id: int
    name: str
    owner_id: int  # the owner for the query scope: a project is seen where its owner's expenses are
    status: ProjectStatus
    customer_id: int | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class ProjectCard:
    project: Project
    owner_name: str
    customer_name: str | None
    totals: tuple[Money, ...]  # the expenses on it the reader may see, not counting rejected ones
    count: int


@dataclass(frozen=True, kw_only=True)
class Budget:
    id: int
    department_id: int
    category_id: int
    year: int
    amount: Decimal
    currency: str
    project_id: int | None = None
    set_by: int = 0

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True)
class BudgetLine:
    """One budget with what is used of it: approved expenses of the people in its department, in its category,
    year and currency (and project, for a project's budget); ``pending`` is what still waits for approval."""

    budget: Budget
    department_name: str
    category: Category
    project_name: str | None
    used: Decimal
    pending: Decimal

    @property
    def percent(self) -> int:
        return int(self.used * 100 / self.budget.amount) if self.budget.amount else 0


ALERT_THRESHOLDS = (80, 100)


@dataclass(frozen=True)
class BudgetAlert:
    """A threshold crossed by an approval, to be told to the managers of the budget's department."""

    id: int
    threshold: int
    line: BudgetLine
    managers: tuple[Staff, ...]


@dataclass(frozen=True)
class ProposalRow:
    department: str
    category: Category
    currency: str
    actual: Decimal  # approved this year
    budget: Decimal | None  # this year's budget, when there is one
    proposal: Decimal


@dataclass(frozen=True)
class ReportRow:
    label: str
    currency: str
    total: Decimal
    count: int


DEFAULT_CATEGORIES: tuple[Mapping[str, object], ...] = (
    {"key": "travel", "name": "Travel", "name_zh_hant": "差旅", "name_zh_hans": "差旅", "sequence": 10,
     "words": "trip flight airfare 出差 機票 机票"},
    {"key": "meals", "name": "Meals", "name_zh_hant": "餐費", "name_zh_hans": "餐费", "sequence": 20,
     "words": "meal lunch dinner breakfast food 餐 午餐 晚餐 早餐 餐飲 餐饮 吃飯 吃饭"},
    {"key": "gifts", "name": "Gifts", "name_zh_hant": "禮品", "name_zh_hans": "礼品", "sequence": 30,
     "words": "gift present 禮物 礼物 送禮 送礼"},
    {"key": "transport", "name": "Transport", "name_zh_hant": "交通", "name_zh_hans": "交通", "sequence": 40,
     "words": "taxi uber cab bus train mrt metro parking fuel gas toll 計程車 计程车 出租車 出租车 高鐵 高铁 捷運 "
              "捷运 地鐵 地铁 停車 停车 油資 油费 交通費 交通费"},
    {"key": "lodging", "name": "Lodging", "name_zh_hant": "住宿", "name_zh_hans": "住宿", "sequence": 50,
     "words": "hotel accommodation 飯店 饭店 酒店 旅館 旅馆"},
    {"key": "other", "name": "Other", "name_zh_hant": "其他", "name_zh_hans": "其他", "sequence": 90,
     "words": "misc 雜支 杂支"},
)
