"""The sales module: the product catalog and price lists, the pipeline (quotes, orders and receivables build on
it)."""

from __future__ import annotations

import argparse
import html
import re
import sys
from typing import Any

from bot.module import Module, Wiring
from bot.settings import Settings
from crm.customers.module import CustomersServices
from crm.fields.module import FieldsServices
from crm.messaging.module import MessagingServices
from crm.organisation.module import OrganisationServices
from crm.sales import subscribers
from crm.sales.catalog import CatalogService
from crm.sales.digest import PipelineDigestSection
from crm.sales.discounts import DiscountService
from crm.sales.expiry import QuoteExpiryService
from crm.sales.importing import ProductImportService
from crm.sales.module import SalesServices
from crm.sales.opportunities import OPPORTUNITY_KIND, OpportunityService
from crm.sales.prices import PriceService
from crm.sales.quote_sending import QuoteSending
from crm.sales.quotes import OpenQuotesSection, QuoteDiscounts, QuoteService
from crm.sales.stages import StageService
from crm.sales.stale import StaleService
from handlers.core.menu import Command
from handlers.sales import registration
from outbound.quote_pdf import ReportlabQuoteRenderer
from scheduler.sales import expiry, stale
from storage.customers.spreadsheets import SpreadsheetFiles
from storage.offloop import worker_beside
from storage.sales import tables


def build(wiring: Wiring) -> SalesServices:
    settings = wiring.settings
    # Nobody with open opportunities is deactivated: they are handed over first (they move with the customers).
    wiring.need(OrganisationServices).staff.open_work.add(subscribers.OpenOpportunities())
    wiring.need(OrganisationServices).digest_sections.add(PipelineDigestSection())
    wiring.need(CustomersServices).customers.card_sections.add(OpenQuotesSection())
    quotes = QuoteService(wiring.uow, wiring.clock, ReportlabQuoteRenderer(), prefix=settings.quote_prefix,
                          company_name=settings.company_name,
                          company_address=_address_lines(settings.company_address))
    discounts = DiscountService(wiring.uow, wiring.clock)
    # Quotes are the first kind of record whose discount may need approval; orders add theirs the same way.
    discounts.subjects.add(QuoteDiscounts())
    fields = wiring.need(FieldsServices).fields
    fields.kinds[OPPORTUNITY_KIND.entity] = OPPORTUNITY_KIND  # custom fields on opportunities (docs/fields.md)
    opportunities = OpportunityService(wiring.uow, wiring.clock, currency=settings.default_currency)
    opportunities.fields = fields
    return SalesServices(
        catalog=CatalogService(wiring.uow, wiring.clock, currency=wiring.settings.default_currency),
        prices=PriceService(wiring.uow, wiring.clock),
        importing=ProductImportService(wiring.uow, wiring.clock, SpreadsheetFiles(),
                                       currency=wiring.settings.default_currency,
                                       worker=worker_beside(wiring.uow, wiring.clock)),
        opportunities=opportunities,
        stale=StaleService(wiring.uow, wiring.clock, days=settings.stale_opportunity_days,
                           default_timezone=settings.default_timezone),
        stages=StageService(wiring.uow, wiring.clock),
        quotes=quotes,
        discounts=discounts,
        quote_sending=QuoteSending(quotes, wiring.need(MessagingServices).messaging),
        expiry=QuoteExpiryService(wiring.uow, wiring.clock, default_timezone=settings.default_timezone),
    )


def _address_lines(address: str) -> list[str]:
    """COMPANY_ADDRESS lines are separated by "|" or a newline (as on the envelopes' sender block)."""
    return [line.strip() for line in re.split(r"\||\n", address.replace("\\n", "\n")) if line.strip()]


MODULE = Module(
    name="sales",
    requires=("organisation", "customers", "segments", "fields", "followups", "messaging"),
    build=build,
    operations=("sales.view", "sales.create", "sales.edit", "products.manage", "prices.view_cost", "quotes.create",
                "discounts.approve", "stages.manage"),
    commands=(
        Command("products", "sales.cmd_products"),
        Command("product", "sales.cmd_product"),
        Command("newproduct", "sales.cmd_newproduct", "products.manage"),
        Command("opportunity", "sales.cmd_opportunity", "sales.create"),
        Command("pipeline", "sales.cmd_pipeline", "sales.view"),
        Command("stages", "sales.cmd_stages", "stages.manage"),
        Command("quote", "sales.cmd_quote", "quotes.create"),
        Command("quotes", "sales.cmd_quotes", "sales.view"),
        Command("discounts", "sales.cmd_discounts", "discounts.approve"),
        Command("discountlimit", "sales.cmd_discountlimit", "roles.manage"),
    ),
    handlers=(registration.register,),
    jobs=(stale.register, expiry.register),
    tables=(tables.product_categories, tables.products, tables.product_search_terms, tables.customer_prices,
            tables.opportunity_stages, tables.opportunities, tables.quotes, tables.quote_lines, tables.quote_counters,
            tables.role_discount_limits, tables.discount_approvals),
    subscribe=subscribers.subscribe,
)


async def import_products(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot import products FILE [--dry-run]`: the per-row report, then every row in one transaction or none.
    Done as the first admin (or ``--as-staff``, a staff id); the audit log names them."""
    from bot.app import build_runtime, prepare_database
    from bot.i18n import Html
    from crm.core.errors import DomainError

    runtime = build_runtime(settings)
    services, locale = runtime.services, settings.default_locale

    def say(key: str, *, err: bool = False, **params: object) -> None:
        print(html.unescape(runtime.catalogs.t(locale, key, **params)), file=sys.stderr if err else sys.stdout)

    try:
        if not args.file.is_file():
            say("importing.cli_no_file", err=True, path=str(args.file))
            return 2
        await prepare_database(runtime.engine, services, settings)
        actor = None
        if args.as_staff and args.as_staff.isdigit():
            actor = await services.organisation.identity.actor_by_staff_id(int(args.as_staff))
        else:
            for staff_id in await _admins(services):
                if actor := await services.organisation.identity.actor_by_staff_id(staff_id):
                    break
        if actor is None:
            say("importing.cli_no_staff" if args.as_staff else "importing.cli_no_admin", err=True,
                name=args.as_staff or "")
            return 2
        locale = actor.locale
        data = args.file.read_bytes()
        plan = await services.sales.importing.plan_file(actor, data, args.file.name)
        say("sales.import_summary", name=args.file.name, rows=plan.total, valid=plan.valid, invalid=plan.invalid)
        for error in plan.errors[:20]:
            problem = Html(runtime.catalogs.t(locale, error.key, **error.params))
            say("importing.row_error" if error.column else "importing.row_error_no_column", row=error.row,
                column=error.column or "", problem=problem)
        if len(plan.errors) > 20:
            say("importing.cli_more", count=len(plan.errors) - 20)
        if args.dry_run:
            say("importing.cli_dry_run")
            return 1 if plan.errors else 0
        created = await services.sales.importing.run_file(actor, data, args.file.name)
        say("sales.import_done", created=created)
        return 0
    except DomainError as exc:
        say(exc.key, err=True, **exc.params)
        return 1
    finally:
        await runtime.engine.dispose()


async def _admins(services: Any) -> list[int]:
    from crm.organisation.permissions import ScopeFilter

    async with services.uow(write=False) as uow:
        admin = await uow.organisation.roles.get_by_name("admin")
        everyone = await uow.organisation.staff.list(ScopeFilter(everything=True, owner_id=0), limit=100_000)
    return sorted(s.id for s in everyone if admin is not None and s.role_id == admin.id)
