"""How the catalog looks in chat: the product card, the category browser, list buttons, field names.

Every button carries ids, field codes and page numbers only (handlers/core/screens.py); each press reads the
product again through the service, which hides the cost from whoever may not see it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.core.money import Money
from crm.sales.model import Category, CategoryPage, Product, ProductCard
from crm.sales.pricing import round_money
from handlers.core.common import Button, actor_of
from handlers.core.screens import EntityScreen, Rows, page_row
from views.core.text import short

LABEL_LIMIT = 48
TOP = 0  # the category id buttons carry for "the top of the tree"

FIELD_KEYS = {
    "sku": "sales.field_sku",
    "name": "sales.field_name",
    "name_zh_hant": "sales.field_name_zh_hant",
    "name_zh_hans": "sales.field_name_zh_hans",
    "category": "sales.field_category",
    "category_id": "sales.field_category",
    "unit": "sales.field_unit",
    "list_price": "sales.field_list_price",
    "currency": "sales.field_currency",
    "cost": "sales.field_cost",
    "tax_rate": "sales.field_tax_rate",
    "active": "sales.field_active",
    "photo": "sales.field_photo",
    "photo_file_id": "sales.field_photo",
}


def field_label(context: CrmContext, field: str) -> str:
    key = FIELD_KEYS.get(field)
    return context.t(key) if key else field


def error_text(context: CrmContext, error: DomainError) -> str:
    """The translated error, with the field named in the reader's language (services name fields by code)."""
    params = dict(error.params)
    if "field" in params:
        params["field"] = field_label(context, str(params["field"]))
    return context.t(error.key, **params)


def money(value: Money) -> str:
    return str(round_money(value))


def product_name(context: CrmContext, product: Product) -> str:
    return product.display_name(context.locale)


def product_button(context: CrmContext, product: Product) -> Button:
    return (short(f"📦 {product.sku} · {product_name(context, product)}", LABEL_LIMIT), f"pr:open:{product.id}")


def category_button(category: Category) -> Button:
    return (short(f"📂 {category.name}", LABEL_LIMIT), f"pc:cat:{category.id}:0")


def path_text(context: CrmContext, path: Sequence[Category]) -> str:
    return " › ".join(c.name for c in path) if path else context.t("sales.catalog_top")


def render_card(context: CrmContext, card: ProductCard) -> tuple[str, Rows]:
    p = card.product
    t = context.t
    lines = [t("sales.card_title", name=product_name(context, p))]
    if product_name(context, p) != p.name:
        lines.append(t("sales.card_main_name", name=p.name))
    lines.append(t("sales.card_sku", sku=p.sku))
    lines.append(t("sales.card_category", category=path_text(context, card.path) if card.path
                   else t("sales.no_category")))
    lines.append(t("sales.card_unit", unit=p.unit))
    lines.append(t("sales.card_price", price=money(p.price), tax=f"{p.tax_rate.normalize():f}"))
    if not p.cost_hidden:
        cost = p.cost_money
        lines.append(t("sales.card_cost", cost=money(cost)) if cost is not None else t("sales.card_no_cost"))
        if p.margin is not None:
            lines.append(t("sales.card_margin", margin=f"{p.margin:f}"))
    if not p.active:
        lines.append(t("sales.card_inactive"))
    rows: Rows = []
    if p.photo_file_id:
        rows.append([(t("sales.btn_photo"), f"pr:photo:{p.id}")])
    if actor_of(context).can("products.manage"):
        rows.append([(t("sales.btn_edit"), f"pr:edit:{p.id}"), (t("sales.btn_delete"), f"pr:del:{p.id}")])
    rows.append([(t("sales.btn_to_category"), f"pc:cat:{p.category_id or TOP}:0")])
    return "\n".join(lines), rows


async def load_card(context: CrmContext, product_id: int) -> ProductCard:
    return await context.services.sales.catalog.card(actor_of(context), product_id)


PRODUCT = EntityScreen("pr", load_card, render_card)


def render_category(context: CrmContext, page: CategoryPage) -> tuple[str, Rows]:
    t = context.t
    lines = [t("sales.browse_title", path=path_text(context, page.path))]
    if not page.children and not page.products and page.page == 0:
        lines.append(t("sales.browse_empty"))
    lines.append(t("sales.browse_hint"))
    here = page.category.id if page.category is not None else TOP
    rows: Rows = [[category_button(c)] for c in page.children]
    rows += [[product_button(context, p)] for p in page.products]
    paging = page_row(lambda n: f"pc:cat:{here}:{n}", page.page, page.has_more)
    if paging:
        rows.append(paging)
    if page.category is not None:
        up = page.category.parent_id or TOP
        rows.append([(t("sales.btn_up"), f"pc:cat:{up}:0")])
    if actor_of(context).can("products.manage"):
        rows.append([(t("sales.btn_new_category"), f"pc:new:{here}"),
                     (t("sales.btn_trash"), "pr:trash:0")])
    return "\n".join(lines), rows


def results_rows(context: CrmContext, products: Sequence[Product], more_data: str | None) -> Rows:
    rows: Rows = [[product_button(context, p)] for p in products]
    if more_data:
        rows.append([("▶️", more_data)])
    return rows
