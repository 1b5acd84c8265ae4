"""Bulk reads and writes for importing and exporting customers: many rows per statement, few round trips.

A 100,000-row import writes 100,000 customers, ~1.9 million search terms and 100,000 audit rows. At that size
SQLAlchemy's per-row parameter processing and SQLite's RETURNING cost more than the inserts themselves, so rows
go to the driver as plain tuples, converted once by the columns' own bind processors (the same conversion
SQLAlchemy applies, so stored values are identical to the normal path's): SQLite's executemany, PostgreSQL's
COPY (asyncpg ``copy_records_to_table``, ~10x fewer server round trips than executemany's row-by-row binds).

Work is done in rounds of ``BATCH`` customers with a yield to the event loop between rounds: SQLite runs
inline on the loop thread (storage/sqlite_inline.py), so one huge statement would stall every other update.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.customers.bulk import ExistingCustomer, ExportedCustomer
from crm.customers.model import Customer, EntityKind
from crm.customers.phones import search_suffixes
from crm.customers.search_terms import MAX_TERM, fold
from crm.organisation.model import AuditEntry
from crm.organisation.permissions import ScopeFilter
from storage import tables as t
from storage.customers.repositories import _customer
from storage.organisation.repositories import scope_clause

# Customers per round: ~20,000 search terms, ~0.1 s of SQLite work on the loop thread before other tasks run.
BATCH = 1_000
LOOKUP_CHUNK = 10_000  # terms per lookup: below SQLite's 32,766 parameters; ~20 ms of SQLite work
ID_CHUNK = 2_000  # ids per IN (...) when fetching the customers found
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
# Values worth converting once per round rather than once per row: an import's single timestamp, the few
# distinct tag lists. Keyed by value, so only types whose equal values convert equally (tuples of text here).
_MEMO_TYPES = (tuple, datetime)
_MEMO_LIMIT = 10_000
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def phone_term(e164: str) -> str:
    return "p:" + search_suffixes(e164)


def email_term(email: str) -> str:
    return "@" + fold(email)[:MAX_TERM - 1]


def _customer_row(c: Customer) -> tuple[Any, ...]:
    # _value_ rather than .value: Enum.value is a descriptor call, 0.5 µs each, three per row.
    return (c.kind._value_, c.name, c.short_name, c.phones, c.email, c.address, c.region, c.industry, c.source,
            c.owner_id, c.classification._value_, c.tier._value_ if c.tier else None, c.tags, c.notes,
            c.created_at, c.updated_at, c.last_contact_at)


class SqlBulkCustomerWriter:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._sqlite = conn.dialect.name == "sqlite"
        self._postgres = conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg"

    async def customers_with_keys(self, phones: Collection[str], emails: Collection[str]
                                  ) -> Sequence[ExistingCustomer]:
        # The search index already holds every customer's phones and e-mail as exact terms (primary key
        # lookups), which a JSON phones column and an unindexed lower(email) could not give us.
        # Not sorted: SQLite orders an IN list itself, and sorting 300,000 terms is one C call holding the GIL
        # (measured: 25 ms for a 20,000-row file, the bot's loop stalled meanwhile).
        terms = list({phone_term(p) for p in phones} | {email_term(e) for e in emails})
        ids: set[int] = set()
        for chunk in _chunks(terms, LOOKUP_CHUNK):
            ids.update(await self._customers_with_terms(chunk))
            await asyncio.sleep(0)  # inline SQLite never suspends by itself
        found: list[ExistingCustomer] = []
        cu = t.customers.c
        for id_chunk in _chunks(sorted(ids), ID_CHUNK):
            q = (select(cu.id, cu.name, cu.owner_id, cu.phones, cu.email, t.staff.c.department_id)
                 .join(t.staff, t.staff.c.id == cu.owner_id)
                 .where(cu.id.in_(id_chunk), cu.deleted_at.is_(None)))
            for row in await self._c.execute(q):
                found.append(ExistingCustomer(row.id, row.name, row.owner_id, row.department_id,
                                              tuple(row.phones or ()), row.email))
        return found

    async def _customers_with_terms(self, terms: Sequence[str]) -> list[int]:
        """Ids of customers having one of these terms, as raw SQL: a 100,000-row file looks up ~300,000 terms,
        and building and rendering an IN of thousands of values through SQLAlchemy cost more than the lookups.
        PostgreSQL gets one array parameter (= ANY): with thousands of IN parameters it plans every query
        afresh (~0.2 s each, measured)."""
        entity = EntityKind.CUSTOMER.value
        if self._postgres:
            sql = "SELECT entity_id FROM search_terms WHERE entity = $1 AND term = ANY($2::varchar[])"
            return list((await self._c.exec_driver_sql(sql, (entity, list(terms)))).scalars())
        if self._sqlite:
            sql = f"SELECT entity_id FROM search_terms WHERE entity = ? AND term IN ({', '.join('?' * len(terms))})"
            return list((await self._c.exec_driver_sql(sql, (entity, *terms))).scalars())
        st = t.search_terms.c
        q = select(st.entity_id).where(st.entity == entity, st.term.in_(terms))
        return list((await self._c.execute(q)).scalars())

    async def insert_customers(self, rows: Sequence[tuple[Customer, Collection[str]]], *,
                               progress: Callable[[int], Awaitable[None]] | None = None) -> Sequence[int]:
        ids: list[int] = []
        entity = EntityKind.CUSTOMER.value
        async with self._sqlite_cache():
            for batch in _chunks(rows, BATCH):
                customers = [c for c, _ in batch]
                new_ids = await (self._insert_sqlite(customers) if self._sqlite
                                 else self._insert_postgres(customers) if self._postgres
                                 else self._insert_returning(customers))
                # In input order, not sorted by term: measured on SQLite, sorting cost more (~1 µs a term in
                # Python) than the index locality it bought.
                await self._insert_rows(t.search_terms, _TERM_COLUMNS, [
                    (term, entity, new_id) for new_id, (_, terms) in zip(new_ids, batch, strict=True)
                    for term in terms])
                ids.extend(new_ids)
                if progress is not None:
                    await progress(len(ids))
                await asyncio.sleep(0)  # progress() need not suspend; other tasks get their turn here
        return ids

    async def _insert_sqlite(self, batch: Sequence[Customer]) -> list[int]:
        """SQLite gives a new row the largest rowid plus one, and this transaction holds the write lock
        (BEGIN IMMEDIATE), so the batch's ids are the next len(batch) numbers, in order — checked, not assumed.
        RETURNING would make SQLAlchemy send the rows one statement at a time to keep them in order."""
        last = select(func.coalesce(func.max(t.customers.c.id), 0))
        before = int((await self._c.execute(last)).scalar_one())
        await self._insert_rows(t.customers, _CUSTOMER_COLUMNS, [_customer_row(c) for c in batch])
        after = int((await self._c.execute(last)).scalar_one())
        if after - before != len(batch):
            raise RuntimeError(f"expected ids {before + 1}..{before + len(batch)}, the table ends at {after}")
        return list(range(before + 1, after + 1))

    async def _insert_postgres(self, batch: Sequence[Customer]) -> list[int]:
        """Ids are drawn from the table's own sequence first (other sessions may draw in between, so they need
        not be consecutive), then the rows are copied in with them."""
        ids_query = (select(func.nextval(func.pg_get_serial_sequence(t.customers.name, "id")))
                     .select_from(func.generate_series(1, len(batch))))
        ids = sorted(int(i) for i in (await self._c.execute(ids_query)).scalars())
        await self._insert_rows(t.customers, ("id", *_CUSTOMER_COLUMNS),
                                [(new_id, *_customer_row(c)) for new_id, c in zip(ids, batch, strict=True)])
        return ids

    async def _insert_returning(self, batch: Sequence[Customer]) -> list[int]:
        """Any other database: the database says which id each row got (in input order: SQLAlchemy's
        insertmanyvalues keeps it)."""
        rows = [dict(zip(_CUSTOMER_COLUMNS, _customer_row(c), strict=True)) for c in batch]
        statement = insert(t.customers).returning(t.customers.c.id, sort_by_parameter_order=True)
        return [int(row[0]) for row in await self._c.execute(statement, rows)]

    def _converted(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
                   ) -> list[tuple[Any, ...]]:
        """Each value through its column's bind processor, as SQLAlchemy would convert it."""
        dialect = self._c.dialect
        processors = [(i, p) for i, name in enumerate(columns)
                      if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
        if not processors:
            return rows
        memos: list[dict[Any, Any]] = [{} for _ in columns]
        last: list[tuple[Any, Any]] = [(None, None)] * len(columns)  # the same object as the row before's
        converted = []
        for row in rows:
            values = list(row)
            for i, process in processors:
                value = values[i]
                if value is None:
                    continue
                if isinstance(value, _MEMO_TYPES):
                    memo = memos[i]
                    done = memo.get(value)
                    if done is None:
                        done = process(value)
                        if len(memo) < _MEMO_LIMIT:
                            memo[value] = done
                elif value is last[i][0]:
                    done = last[i][1]
                else:
                    done = process(value)
                    last[i] = (value, done)
                values[i] = done
            converted.append(tuple(values))
        return converted

    async def _insert_rows(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self._postgres:
            await self._copy(table, columns, self._converted(table, columns, rows))
            return
        marks = _PLACEHOLDERS.get(self._c.dialect.paramstyle)
        if marks is None:  # another driver: the portable, slower way
            await self._c.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
            return
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join(marks(n) for n in range(1, len(columns) + 1))})")
        await self._c.exec_driver_sql(sql, self._converted(table, columns, rows))

    async def _copy(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """COPY into the table on this unit of work's own connection, inside its transaction (which the
        queries before it have started): if anything fails later, the rollback takes these rows too."""
        raw = await self._c.get_raw_connection()
        driver: Any = raw.driver_connection
        if not driver.is_in_transaction():
            raise RuntimeError("bulk COPY outside a transaction would commit on its own")
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))

    @asynccontextmanager
    async def _sqlite_cache(self) -> AsyncIterator[None]:
        """SQLite's default 2 MiB page cache spills a large write transaction's index pages to the WAL again
        and again (measured: 345k search terms took 9.7 s, 5.8 s with a bigger cache). Raised for this
        connection while writing, then put back, since pooled connections live on."""
        if not self._sqlite:
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
            await self._insert_rows(t.audit_log, _AUDIT_COLUMNS, [
                (e.at, e.actor_id, e.action, e.entity, e.entity_id, _plain(e.before), _plain(e.after))
                for e in chunk])
            await asyncio.sleep(0)

    async def customers_for_export(self, scope: ScopeFilter) -> Sequence[ExportedCustomer]:
        cu = t.customers.c
        q = (select(t.customers, t.staff.c.name.label("owner_name"))
             .join(t.staff, t.staff.c.id == cu.owner_id)
             .where(cu.deleted_at.is_(None), scope_clause(scope, cu.owner_id, t.staff.c.department_id))
             .order_by(cu.name, cu.id))
        return [ExportedCustomer(_customer(row), row.owner_name) for row in await self._c.execute(q)]


def _plain(values: Any) -> dict[str, Any]:
    """A JSON column wants a dict; an audit entry may hold any mapping (most often a dict already)."""
    return values if type(values) is dict else dict(values)
