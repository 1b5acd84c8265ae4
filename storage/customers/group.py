"""The customers module's storage: customers, contacts, leads, their activity (interactions and follow-ups), the
search index, bulk writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.customers.bulk import SqlBulkCustomerWriter
from storage.customers.digest import SqlCustomerDigestRepository
from storage.customers.repositories import (
    SqlContactRepository,
    SqlCustomerRepository,
    SqlFollowUpRepository,
    SqlInteractionRepository,
    SqlLeadRepository,
    SqlSearchIndex,
)


class CustomerRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def customers(self) -> SqlCustomerRepository:
        return SqlCustomerRepository(self._conn)

    @cached_property
    def contacts(self) -> SqlContactRepository:
        return SqlContactRepository(self._conn)

    @cached_property
    def leads(self) -> SqlLeadRepository:
        return SqlLeadRepository(self._conn)

    @cached_property
    def interactions(self) -> SqlInteractionRepository:
        return SqlInteractionRepository(self._conn)

    @cached_property
    def followups(self) -> SqlFollowUpRepository:
        return SqlFollowUpRepository(self._conn)

    @cached_property
    def search(self) -> SqlSearchIndex:
        return SqlSearchIndex(self._conn)

    @cached_property
    def bulk(self) -> SqlBulkCustomerWriter:
        return SqlBulkCustomerWriter(self._conn)

    @cached_property
    def digest(self) -> SqlCustomerDigestRepository:
        return SqlCustomerDigestRepository(self._conn)
