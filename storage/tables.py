"""The whole schema: every module's tables on one MetaData. Alembic migrations in ``storage/migrations`` create
exactly these; ``tests/integration/test_storage.py`` fails when the two drift apart. Each module defines its own
tables in ``storage/<module>/tables.py``."""

from __future__ import annotations

from storage.announcements.tables import announcement_recipients, announcements
from storage.billing.tables import (
    billing_terms,
    invoice_counters,
    invoice_lines,
    invoices,
    payment_allocations,
    payments,
)
from storage.competitors.tables import (
    competitor_intel,
    competitor_products,
    competitors,
    opportunity_competitors,
    opportunity_losses,
)
from storage.contracts.tables import contract_counters, contracts
from storage.core_tables import (
    app_kv,
    ptb_conversations,
    ptb_data,
)
from storage.customers.tables import (
    activity_counts,
    contacts,
    customers,
    followups,
    interactions,
    leads,
    search_terms,
)
from storage.digests.tables import digest_sends, digest_settings
from storage.expenses.tables import (
    expense_budget_alerts,
    expense_budgets,
    expense_categories,
    expenses,
    projects,
)
from storage.fields.tables import custom_fields, custom_values
from storage.hr.tables import hr_events, kpi_targets, reviews, staff_profiles
from storage.inbound_updates import inbound_updates
from storage.messaging.tables import (
    outbox,
    outbox_attachments,
    outbox_early_reports,
    sms_campaigns,
    sms_consents,
    sms_templates,
    sms_topics,
)
from storage.metadata import metadata
from storage.office.tables import (
    office_calendar_feeds,
    office_document_terms,
    office_documents,
    office_event_attendees,
    office_event_reminders,
    office_events,
)
from storage.orders.tables import order_counters, order_lines, orders, shipment_lines, shipments
from storage.organisation.tables import (
    audit_log,
    departments,
    invites,
    org_state,
    roles,
    staff,
)
from storage.sales.tables import (
    customer_prices,
    opportunities,
    opportunity_stages,
    product_categories,
    product_search_terms,
    products,
    quote_counters,
    quote_lines,
    quotes,
)
from storage.segments.tables import (
    segments,
)
from storage.service.tables import ticket_entries, tickets

__all__ = [
    "activity_counts",
    "announcement_recipients",
    "announcements",
    "app_kv",
    "audit_log",
    "billing_terms",
    "competitor_intel",
    "competitor_products",
    "competitors",
    "contacts",
    "contract_counters",
    "contracts",
    "custom_fields",
    "custom_values",
    "customer_prices",
    "customers",
    "departments",
    "digest_sends",
    "digest_settings",
    "expense_budget_alerts",
    "expense_budgets",
    "expense_categories",
    "expenses",
    "followups",
    "hr_events",
    "inbound_updates",
    "interactions",
    "invites",
    "invoice_counters",
    "invoice_lines",
    "invoices",
    "kpi_targets",
    "leads",
    "metadata",
    "office_calendar_feeds",
    "office_document_terms",
    "office_documents",
    "office_event_attendees",
    "office_event_reminders",
    "office_events",
    "opportunities",
    "opportunity_competitors",
    "opportunity_losses",
    "opportunity_stages",
    "order_counters",
    "order_lines",
    "orders",
    "org_state",
    "outbox",
    "outbox_attachments",
    "outbox_early_reports",
    "payment_allocations",
    "payments",
    "product_categories",
    "product_search_terms",
    "products",
    "projects",
    "ptb_conversations",
    "ptb_data",
    "quote_counters",
    "quote_lines",
    "quotes",
    "reviews",
    "roles",
    "search_terms",
    "segments",
    "shipment_lines",
    "shipments",
    "sms_campaigns",
    "sms_consents",
    "sms_templates",
    "sms_topics",
    "staff",
    "staff_profiles",
    "ticket_entries",
    "tickets",
]
