"""The product catalog: products, their categories, and the prices particular customers get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from crm.core import locales
from crm.core.money import Money


@dataclass(frozen=True)
class Category:
    """A node of the category tree; categories are data, edited in chat like products."""

    id: int
    name: str
    parent_id: int | None = None
    created_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ProductFields:
    """What a person types about a product (and what the service validates)."""

    sku: str
    name: str
    name_zh_hant: str | None = None
    name_zh_hans: str | None = None
    category_id: int | None = None
    unit: str = "pcs"
    list_price: Decimal = Decimal(0)
    currency: str = "TWD"
    cost: Decimal | None = None  # same currency as the list price
    tax_rate: Decimal = Decimal(0)  # percent: 5 means 5 %
    active: bool = True
    photo_file_id: str | None = None  # a Telegram file id


@dataclass(frozen=True, kw_only=True)
class ProductDraft(ProductFields):
    """A product as typed, before it is checked and stored (no id yet)."""


@dataclass(frozen=True, kw_only=True)
class Product(ProductFields):
    id: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    cost_hidden: bool = False  # the reader may not see costs: ``cost`` is None for that reason, not unknown

    @property
    def price(self) -> Money:
        return Money(self.list_price, self.currency)

    @property
    def cost_money(self) -> Money | None:
        return Money(self.cost, self.currency) if self.cost is not None else None

    def display_name(self, locale: str) -> str:
        """The name in the reader's language, falling back to the main name."""
        translated = {locales.ZH_HANT: self.name_zh_hant, locales.ZH_HANS: self.name_zh_hans}.get(locale)
        return translated or self.name

    @property
    def margin(self) -> Decimal | None:
        """Gross margin in percent of the list price, when the cost is known (and may be seen)."""
        if self.cost is None or self.list_price <= 0:
            return None
        return ((self.list_price - self.cost) / self.list_price * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class CustomerPrice:
    """A price agreed with one customer for one product: it wins over the customer's tier discount."""

    id: int
    customer_id: int
    product_id: int
    amount: Decimal
    currency: str
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True)
class ProductCard:
    product: Product
    path: tuple[Category, ...]  # its category, from the top of the tree down


@dataclass(frozen=True)
class CategoryPage:
    """One screen of browsing: where we are, its sub-categories and the products directly in it."""

    category: Category | None  # None: the top of the tree
    path: tuple[Category, ...]  # from the top down to ``category``
    children: tuple[Category, ...]
    products: tuple[Product, ...]
    page: int
    has_more: bool
