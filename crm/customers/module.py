"""The customers module: customers, contacts and leads, search, import and export.

The module's services as one namespace: ``services.customers.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.customers.contacts_leads import ContactService, LeadService
from crm.customers.customers import CustomerService
from crm.customers.exporting import ExportService
from crm.customers.importing import ImportService


@dataclass
class CustomersServices:
    customers: CustomerService
    contacts: ContactService
    leads: LeadService
    importing: ImportService
    exporting: ExportService
