"""The icons customers, contacts and leads are shown with, wherever a list of them is rendered."""

from __future__ import annotations

from crm.customers.model import Customer, CustomerKind, EntityKind, SearchHit

ENTITY_ICONS = {EntityKind.CUSTOMER: "🏢", EntityKind.CONTACT: "👤", EntityKind.LEAD: "🌱"}
KIND_ICONS = {CustomerKind.COMPANY: "🏢", CustomerKind.PERSON: "👤"}


def hit_icon(hit: SearchHit) -> str:
    """A customer who is a person is a 👤 like a contact, not a 🏢: the rep looks for a face, not a company."""
    if hit.entity is EntityKind.CUSTOMER and hit.customer_kind is not None:
        return KIND_ICONS[hit.customer_kind]
    return ENTITY_ICONS[hit.entity]


def customer_icon(customer: Customer) -> str:
    """🏢 for a company, 👤 for a customer who is a person."""
    return KIND_ICONS[CustomerKind(customer.kind)]


__all__ = ["ENTITY_ICONS", "KIND_ICONS", "customer_icon", "hit_icon"]
