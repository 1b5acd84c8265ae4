"""Contacts (people at a customer) and leads (captured fast, then qualified, converted or dropped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.customers.customers import (
    PartyService,
    clean_email,
    clean_text,
    customer_terms,
    in_scope,
    page_of,
    visible_customer,
)
from crm.customers.model import Contact, Customer, CustomerKind, EntityKind, Lead, LeadStatus
from crm.customers.ports import CustomersUnitOfWork, Records
from crm.customers.search_terms import record_terms
from crm.organisation import audit
from crm.organisation.permissions import Actor


def contact_terms(contact: Contact) -> set[str]:
    return record_terms(names=(contact.name,), phones=contact.phones, emails=(contact.email,))


def lead_terms(lead: Lead) -> set[str]:
    return record_terms(names=(lead.name, lead.company_name), phones=lead.phones, emails=(lead.email,))


async def visible_lead(uow: CustomersUnitOfWork, actor: Actor, lead_id: int) -> Lead:
    return await in_scope(uow, actor, await uow.customers.leads.get(lead_id))


async def visible_contact(uow: CustomersUnitOfWork, actor: Actor, contact_id: int) -> tuple[Contact, Customer]:
    contact = await uow.customers.contacts.get(contact_id)
    if contact is None:
        raise NotFound()
    return contact, await visible_customer(uow, actor, contact.customer_id)


class ContactService(PartyService[Contact]):
    entity = EntityKind.CONTACT

    def _records(self, uow: CustomersUnitOfWork) -> Records[Contact]:
        return uow.customers.contacts

    def _terms(self, record: Contact) -> set[str]:
        return contact_terms(record)

    async def add(self, actor: Actor, customer_id: int, name: str, *, title: str | None = None,
                  phone_list: tuple[str, ...] = (), email: str | None = None, birthday: date | None = None,
                  notes: str | None = None) -> Contact:
        actor.require("customers.edit")
        contact = Contact(
            id=0, customer_id=customer_id, name=clean_text(name, "name", required=True) or "",
            title=clean_text(title, "short_name"), phones=self.clean_phones(phone_list, actor),
            email=clean_email(email), birthday=birthday, notes=clean_text(notes, "notes"),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await visible_customer(uow, actor, customer_id)
            contact = await uow.customers.contacts.add(contact)
            await uow.customers.search.replace(EntityKind.CONTACT, contact.id, contact_terms(contact))
            await audit.record(uow, actor.staff_id, "create", "contact", contact.id, {},
                               {"customer_id": customer_id, "name": contact.name, "phones": contact.phones})
            await uow.commit()
        return contact

    async def get(self, actor: Actor, contact_id: int) -> tuple[Contact, Customer]:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            return await visible_contact(uow, actor, contact_id)

    async def update(self, actor: Actor, contact_id: int, changes: dict[str, Any]) -> Contact:
        actor.require("customers.edit")
        async with self._uow() as uow:
            before, _ = await visible_contact(uow, actor, contact_id)
            fields: dict[str, Any] = {}
            for key, value in changes.items():
                if key == "name":
                    fields[key] = clean_text(value, "name", required=True)
                elif key == "title":
                    fields[key] = clean_text(value, "short_name")
                elif key == "phones":
                    fields[key] = self.clean_phones(value, actor)
                elif key == "email":
                    fields[key] = clean_email(value)
                elif key in ("birthday", "notes"):
                    fields[key] = value
                else:
                    raise ValidationFailed("error.invalid")
            after = await self._write_edit(uow, actor, before, fields)
            await uow.commit()
        return after

    async def delete(self, actor: Actor, contact_id: int) -> None:
        actor.require("customers.edit")
        async with self._uow() as uow:
            await visible_contact(uow, actor, contact_id)
            await self._write_delete(uow, actor, contact_id)
            await uow.commit()


class LeadService(PartyService[Lead]):
    entity = EntityKind.LEAD

    def _records(self, uow: CustomersUnitOfWork) -> Records[Lead]:
        return uow.customers.leads

    def _terms(self, record: Lead) -> set[str]:
        return lead_terms(record)

    async def create(self, actor: Actor, name: str, *, phone_list: tuple[str, ...] = (),
                     company_name: str | None = None, email: str | None = None, source: str | None = None,
                     notes: str | None = None) -> Lead:
        """Name and a phone are enough: capture first, qualify later."""
        actor.require("customers.create")
        now = self._clock.now()
        lead = Lead(
            id=0, name=clean_text(name, "name", required=True) or "", owner_id=actor.staff_id,
            company_name=clean_text(company_name, "name"), phones=self.clean_phones(phone_list, actor),
            email=clean_email(email), source=clean_text(source, "source"), notes=clean_text(notes, "notes"),
            created_at=now,
        )
        async with self._uow() as uow:
            lead = await uow.customers.leads.add(lead)
            await uow.customers.search.replace(EntityKind.LEAD, lead.id, lead_terms(lead))
            await audit.record(uow, actor.staff_id, "create", "lead", lead.id, {},
                               {"name": lead.name, "phones": lead.phones, "company_name": lead.company_name})
            await uow.commit()
        return lead

    async def get(self, actor: Actor, lead_id: int) -> Lead:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            return await visible_lead(uow, actor, lead_id)

    async def list_open(self, actor: Actor, page: int = 0, size: int = 8) -> tuple[Sequence[Lead], bool]:
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            rows = list(await uow.customers.leads.list(actor.scope_filter("customers"), offset=page * size,
                                                       limit=size + 1))
        return page_of(rows, size)

    async def qualify(self, actor: Actor, lead_id: int) -> Lead:
        return await self._set_status(actor, lead_id, LeadStatus.QUALIFIED)

    async def drop(self, actor: Actor, lead_id: int, reason: str) -> Lead:
        text = clean_text(reason, "notes", required=True)
        return await self._set_status(actor, lead_id, LeadStatus.DROPPED, drop_reason=text)

    async def _set_status(self, actor: Actor, lead_id: int, status: LeadStatus, **extra: Any) -> Lead:
        actor.require("customers.edit")
        async with self._uow() as uow:
            lead = await visible_lead(uow, actor, lead_id)
            if lead.status in (LeadStatus.CONVERTED,):
                raise Conflict("leads.already_converted")
            await uow.customers.leads.update(lead_id, status=status.value, updated_at=self._clock.now(), **extra)
            await audit.record(uow, actor.staff_id, status.value, "lead", lead_id, {"status": lead.status.value},
                               {"status": status.value, **extra})
            await uow.commit()
        return replace(lead, status=status, **extra)

    async def convert(self, actor: Actor, lead_id: int, *, customer_name: str | None = None
                      ) -> tuple[Customer, Contact]:
        """Lead → customer + contact in one transaction; its interactions and follow-ups move along."""
        actor.require("customers.create")
        now = self._clock.now()
        async with self._uow() as uow:
            lead = await visible_lead(uow, actor, lead_id)
            if lead.status is LeadStatus.CONVERTED:
                raise Conflict("leads.already_converted")
            name = clean_text(customer_name or lead.company_name or lead.name, "name", required=True) or ""
            kind = CustomerKind.COMPANY if (customer_name or lead.company_name) else CustomerKind.PERSON
            customer = await uow.customers.customers.add(Customer(
                id=0, name=name, owner_id=lead.owner_id, kind=kind, phones=lead.phones, email=lead.email,
                source=lead.source, notes=lead.notes, created_at=now, updated_at=now,
                last_contact_at=lead.last_contact_at,
            ))
            await uow.customers.search.replace(EntityKind.CUSTOMER, customer.id, customer_terms(customer))
            contact = await uow.customers.contacts.add(Contact(id=0, customer_id=customer.id, name=lead.name,
                                                     phones=lead.phones, email=lead.email, created_at=now))
            await uow.customers.search.replace(EntityKind.CONTACT, contact.id, contact_terms(contact))
            await uow.customers.interactions.move_lead_to_customer(lead_id, customer.id)
            await uow.customers.followups.move_lead_to_customer(lead_id, customer.id)
            await uow.customers.leads.update(lead_id, status=LeadStatus.CONVERTED.value,
                                             converted_customer_id=customer.id,
                                   converted_contact_id=contact.id, updated_at=now)
            await uow.customers.search.remove(EntityKind.LEAD, lead_id)
            await audit.record(uow, actor.staff_id, "convert", "lead", lead_id, {"status": lead.status.value},
                               {"status": "converted", "customer_id": customer.id, "contact_id": contact.id})
            await audit.record(uow, actor.staff_id, "create", "customer", customer.id, {},
                               {"name": name, "from_lead": lead_id})
            await uow.commit()
        return customer, contact
