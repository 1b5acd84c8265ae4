"""The sales module: the product catalog and price lists, the pipeline (quotes, orders and what is owed come next).

The module's services as one namespace: ``services.sales.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.sales.catalog import CatalogService
from crm.sales.discounts import DiscountService
from crm.sales.expiry import QuoteExpiryService
from crm.sales.importing import ProductImportService
from crm.sales.opportunities import OpportunityService
from crm.sales.prices import PriceService
from crm.sales.quote_sending import QuoteSending
from crm.sales.quotes import QuoteService
from crm.sales.stages import StageService
from crm.sales.stale import StaleService


@dataclass
class SalesServices:
    catalog: CatalogService
    prices: PriceService
    importing: ProductImportService
    opportunities: OpportunityService
    stale: StaleService  # stale-opportunity nudges
    quotes: QuoteService
    stages: StageService  # editing the pipeline's stages
    discounts: DiscountService  # limits and approvals; kinds of record join through ``discounts.subjects``
    quote_sending: QuoteSending  # the PDF to the customer by e-mail or fax
    expiry: QuoteExpiryService  # sent quotes past their valid-until date, and telling their owners
