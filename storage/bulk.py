"""Bulk reads and writes for importing and exporting customers: many rows per statement, few round trips.

A 100,000-row import writes 100,000 customers, ~1.7 million search terms and 100,000 audit rows. At that size
SQLAlchemy's per-row parameter processing and SQLite's RETURNING cost more than the inserts themselves, so rows
go to the driver's executemany as plain tuples, converted once by the columns' own bind processors (the same
conversion SQLAlchemy applies, so stored values are identical to the normal path's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.customer_model import Customer, EntityKind
from crm.model import AuditEntry
from crm.permissions import ScopeFilter
from crm.phones import search_suffixes
from crm.ports.bulk import ExistingCustomer, ExportedCustomer
from crm.search_terms import MAX_TERM, fold
from storage import tables as t
from storage.customer_repositories import _customer
from storage.org_repositories import scope_clause

BATCH = 5_000  # customers per executemany, then their search terms
LOOKUP_CHUNK = 2_000  # values per IN (...): far below SQLite's and asyncpg's 32,767 parameter limit
SQLITE_BULK_CACHE_KIB = 256 * 1024
_PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "qmark": lambda n: "?",
    "numeric_dollar": lambda n: f"${n}",
    "format": lambda n: "%s",
    "numeric": lambda n: f":{n}",
}
_CUSTOMER_COLUMNS = ("kind", "name", "short_name", "phones", "email", "address", "region", "industry", "source",
                     "owner_id", "classification", "tier", "tags", "notes", "created_at", "updated_at",
                     "last_contact_at")
_AUDIT_COLUMNS = ("at", "actor_id", "action", "entity", "entity_id", "before", "after")
_TERM_COLUMNS = ("term", "entity", "entity_id")
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def phone_term(e164: str) -> str:
    return "p:" + search_suffixes(e164)


def email_term(email: str) -> str:
    return "@" + fold(email)[:MAX_TERM - 1]


def _customer_row(c: Customer) -> tuple[Any, ...]:
    return (c.kind.value, c.name, c.short_name, list(c.phones), c.email, c.address, c.region, c.industry, c.source,
            c.owner_id, c.classification.value, c.tier.value if c.tier else None, list(c.tags), c.notes,
            c.created_at, c.updated_at, c.last_contact_at)


class SqlBulkCustomerWriter:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def customers_with_keys(self, phones: Collection[str], emails: Collection[str]
                                  ) -> Sequence[ExistingCustomer]:
        # The search index already holds every customer's phones and e-mail as exact terms (primary key
        # lookups), which a JSON phones column and an unindexed lower(email) could not give us.
        terms = sorted({phone_term(p) for p in phones} | {email_term(e) for e in emails})
        st = t.search_terms.c
        ids: set[int] = set()
        for chunk in _chunks(terms, LOOKUP_CHUNK):
            q = select(st.entity_id).where(st.entity == EntityKind.CUSTOMER.value, st.term.in_(chunk))
            ids.update((await self._c.execute(q)).scalars())
        found: list[ExistingCustomer] = []
        cu = t.customers.c
        for chunk in _chunks(sorted(ids), LOOKUP_CHUNK):
            q = (select(cu.id, cu.name, cu.owner_id, cu.phones, cu.email, t.staff.c.department_id)
                 .join(t.staff, t.staff.c.id == cu.owner_id)
                 .where(cu.id.in_(chunk), cu.deleted_at.is_(None)))
            for row in await self._c.execute(q):
                found.append(ExistingCustomer(row.id, row.name, row.owner_id, row.department_id,
                                              tuple(row.phones or ()), row.email))
        return found

    async def insert_customers(self, rows: Sequence[tuple[Customer, Collection[str]]]) -> Sequence[int]:
        ids: list[int] = []
        entity = EntityKind.CUSTOMER.value
        async with self._sqlite_cache():
            for batch in _chunks(rows, BATCH):
                customers = [c for c, _ in batch]
                new_ids = await (self._insert_sqlite(customers) if self._c.dialect.name == "sqlite"
                                 else self._insert_returning(customers))
                # In key order: the primary-key index then fills page by page (measured: -20% time).
                await self._raw_insert(t.search_terms, _TERM_COLUMNS, sorted(
                    (term, entity, new_id) for new_id, (_, terms) in zip(new_ids, batch, strict=True)
                    for term in terms))
                ids.extend(new_ids)
        return ids

    async def _insert_sqlite(self, batch: Sequence[Customer]) -> list[int]:
        """SQLite gives a new row the largest rowid plus one, and this transaction holds the write lock
        (BEGIN IMMEDIATE), so the batch's ids are the next len(batch) numbers, in order — checked, not assumed.
        RETURNING would make SQLAlchemy send the rows one statement at a time to keep them in order."""
        last = select(func.coalesce(func.max(t.customers.c.id), 0))
        before = int((await self._c.execute(last)).scalar_one())
        await self._raw_insert(t.customers, _CUSTOMER_COLUMNS, [_customer_row(c) for c in batch])
        after = int((await self._c.execute(last)).scalar_one())
        if after - before != len(batch):
            raise RuntimeError(f"expected ids {before + 1}..{before + len(batch)}, the table ends at {after}")
        return list(range(before + 1, after + 1))

    async def _insert_returning(self, batch: Sequence[Customer]) -> list[int]:
        """PostgreSQL sequences may interleave with other sessions: the database says which id each row got
        (in input order: SQLAlchemy's insertmanyvalues keeps it, still ~1,000 rows per statement)."""
        rows = [dict(zip(_CUSTOMER_COLUMNS, _customer_row(c), strict=True)) for c in batch]
        statement = insert(t.customers).returning(t.customers.c.id, sort_by_parameter_order=True)
        return [int(row[0]) for row in await self._c.execute(statement, rows)]

    async def _raw_insert(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Tuples straight to the driver's executemany, each value converted by its column's bind processor."""
        if not rows:
            return
        dialect = self._c.dialect
        marks = _PLACEHOLDERS.get(dialect.paramstyle)
        if marks is None:  # another driver: the portable, slower way
            await self._c.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
            return
        processors = [(i, p) for i, name in enumerate(columns)
                      if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
        if processors:
            # An import stamps every row with the same moment: convert a value once, not once per row.
            memo: list[tuple[Any, Any]] = [(None, None)] * len(columns)
            converted = []
            for row in rows:
                values = list(row)
                for i, process in processors:
                    value = values[i]
                    if value is None:
                        continue
                    seen, done = memo[i]
                    if value is not seen:
                        done = process(value)
                        memo[i] = (value, done)
                    values[i] = done
                converted.append(tuple(values))
            rows = converted
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join(marks(n) for n in range(1, len(columns) + 1))})")
        await self._c.exec_driver_sql(sql, rows)

    @asynccontextmanager
    async def _sqlite_cache(self) -> AsyncIterator[None]:
        """SQLite's default 2 MiB page cache spills a large write transaction's index pages to the WAL again
        and again (measured: 345k search terms took 9.7 s, 5.8 s with a bigger cache). Raised for this
        connection while writing, then put back, since pooled connections live on."""
        if self._c.dialect.name != "sqlite":
            yield
            return
        before = (await self._c.exec_driver_sql("PRAGMA cache_size")).scalar()
        await self._c.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            await self._c.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")

    async def insert_audit(self, entries: Sequence[AuditEntry]) -> None:
        if any(e.at is None for e in entries):
            raise ValueError("bulk audit entries carry their time")  # one import, one moment
        for chunk in _chunks(entries, BATCH):
            await self._raw_insert(t.audit_log, _AUDIT_COLUMNS, [
                (e.at, e.actor_id, e.action, e.entity, e.entity_id, dict(e.before), dict(e.after)) for e in chunk])

    async def customers_for_export(self, scope: ScopeFilter) -> Sequence[ExportedCustomer]:
        cu = t.customers.c
        q = (select(t.customers, t.staff.c.name.label("owner_name"))
             .join(t.staff, t.staff.c.id == cu.owner_id)
             .where(cu.deleted_at.is_(None), scope_clause(scope, cu.owner_id, t.staff.c.department_id))
             .order_by(cu.name, cu.id))
        return [ExportedCustomer(_customer(row), row.owner_name) for row in await self._c.execute(q)]
