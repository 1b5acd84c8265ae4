"""Hot read statements, compiled once and run straight on the SQLite driver.

Every Telegram update reads a handful of rows (who is asking, the customer card). SQLAlchemy spends ~90 µs of
CPU per execution of even a cached statement — building its cache key, binding parameters, wrapping the cursor
and the rows — against ~15 µs for SQLite to find the rows, and the bot's budget per update is a few
milliseconds all told. A ``Prepared`` statement is compiled once per dialect; on SQLite it then goes to the
driver's cursor directly, with the same bind and result conversions SQLAlchemy would apply (so a datetime comes
back timezone-aware, JSON decoded), and rows are plain named tuples. Other databases take the normal path.

Only for constant statements with named bind parameters (no "expanding" IN lists), read inside a unit of work
whose transaction SQLAlchemy has begun — the driver connection is then the one in that transaction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, literal, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameters in positional order
    constants: Mapping[str, Any]  # values fixed in the statement itself
    binds: Mapping[str, Callable[[Any], Any]]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, converter) where one is needed
    row: type


class Prepared:
    def __init__(self, statement: Executable, *, memo: int = 0) -> None:
        """``memo``: keep up to this many converted rows, keyed by the driver's row — for a statement that
        returns the same few rows over and over (who is asking), whose conversions (datetimes parsed, JSON
        decoded) cost more than the read itself. Memoised rows are shared: callers must not change what they
        hold (a decoded JSON list, say)."""
        self.statement = statement
        self._compiled: _Compiled | None = None
        self._dialect: Dialect | None = None
        self._memo_size = memo
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        binds = {name: p for name, p in compiled._bind_processors.items() if p is not None}
        results = []
        keys = []
        for index, entry in enumerate(compiled._result_columns):
            keys.append(entry.keyname)
            process = entry.type._cached_result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        return _Compiled(compiled.string, tuple(compiled.positiontup or ()),
                         {k: v for k, v in compiled.params.items() if v is not None}, binds, tuple(results),
                         namedtuple("Row", keys, rename=True))

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows, each with attribute access by column label (SQLAlchemy Rows outside SQLite)."""
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return (await conn.execute(self.statement, dict(params or {}))).all()
        compiled = self._compiled
        if compiled is None or self._dialect is not dialect:
            compiled = self._compiled = self._compile(dialect)
            self._dialect = dialect
            self._memo.clear()
        values = {**compiled.constants, **(params or {})}
        args = []
        for name in compiled.names:
            value = values.get(name)
            process = compiled.binds.get(name)
            args.append(process(value) if process is not None and value is not None else value)
        raw = conn.sync_connection.connection.driver_connection._conn  # type: ignore[union-attr]
        fetched = raw.execute(compiled.sql, args).fetchall()
        if self._memo_size:
            return [self._memoised(compiled, r) for r in fetched]
        return [self._convert(compiled, r) for r in fetched]

    @staticmethod
    def _convert(compiled: _Compiled, fetched: tuple[Any, ...]) -> Any:
        make = compiled.row._make  # type: ignore[attr-defined]
        if not compiled.results:
            return make(fetched)
        row = list(fetched)
        for index, process in compiled.results:
            row[index] = process(row[index])
        return make(row)

    def _memoised(self, compiled: _Compiled, fetched: tuple[Any, ...]) -> Any:
        # The driver gives tuples of str, int, float, bytes and None: equal tuples convert to equal rows.
        row = self._memo.get(fetched)
        if row is None:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()
            row = self._memo[fetched] = self._convert(compiled, fetched)
        return row

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any] | None = None) -> Any | None:
        found = await self.rows(conn, params)
        return found[0] if found else None


class Probe:
    """Whether a table has any row for a key, by an index — to skip a scoped read that could find nothing.

    The customer card asks four modules for their sections (quotes, orders, what is owed, contracts); each read
    carries the reader's query scope, so it is built and compiled per call (~0.5 ms of CPU), and for most
    customers it finds nothing. A prepared ``SELECT 1 … LIMIT 1`` on the key costs a few tens of µs; the scoped
    read only runs when there is something it might show. Deleted rows count as rows: the probe only ever skips
    a read that would have found nothing."""

    def __init__(self, column: ColumnElement[Any]) -> None:
        self._prepared = Prepared(select(literal(1)).where(column == bindparam("key")).limit(1))

    async def any(self, conn: AsyncConnection, key: Any) -> bool:
        return bool(await self._prepared.rows(conn, {"key": key}))
