"""Bulk paths for customers: importing and exporting tens of thousands of rows in a few statements.

Row-by-row repository calls cost one round trip each (~0.1 ms on aiosqlite, more on a network database), which
is fine for a rep's one customer and far too slow for a 100,000-row spreadsheet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from crm.customers.model import Customer
from crm.organisation.model import AuditEntry
from crm.organisation.permissions import ScopeFilter


@dataclass(frozen=True)
class ExistingCustomer:
    """A stored customer sharing a phone or e-mail with an imported row, with what scope checks need."""

    id: int
    name: str
    owner_id: int
    owner_department_id: int | None
    phones: tuple[str, ...]
    email: str | None


@dataclass(frozen=True)
class ExportedCustomer:
    customer: Customer
    owner_name: str


class BulkCustomerWriter(Protocol):
    async def customers_with_keys(self, phones: Collection[str], emails: Collection[str]
                                  ) -> Sequence[ExistingCustomer]:
        """Live customers (any owner) having one of these E.164 phones or e-mail addresses (case-insensitive)."""
        ...

    async def insert_customers(self, rows: Sequence[tuple[Customer, Collection[str]]], *,
                               progress: Callable[[int], Awaitable[None]] | None = None) -> Sequence[int]:
        """Insert customers (``id`` ignored), each with its search terms; returns the new ids in input order.

        Written in rounds; after each one ``progress`` is awaited with the number of customers written so far
        (other tasks get to run there either way)."""
        ...

    async def insert_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    async def customers_for_export(self, scope: ScopeFilter) -> Sequence[ExportedCustomer]:
        """Every live customer in the scope, by name, with the owner's name."""
        ...
