"""The billing module's storage: invoices, payments and payment terms."""
