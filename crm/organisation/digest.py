"""What a manager's digest is made of: sections that modules contribute (docs/digests.md).

The digest belongs to no single module: customers count new customers and leads, follow-ups count what is done,
due and overdue, expenses what waits for approval and what is spent against budget, sales the orders and revenue.
Each module adds a ``DigestSection`` to ``services.organisation.digest_sections`` while the services are wired
(``bot/modules/<module>.py``); the digests module decides who gets a digest and when, computes every section for
that manager's query scope in the worker's separate process (``crm.core.offloop.Worker.run_apart``), and renders
them. Sections and trends cross to that process by pickling: module-level classes whose attributes pickle
(tests/unit/test_digest_pickle.py pickles every one the modules register).

The point lives here, in the module every other one requires, so a module can contribute a section without
depending on the digests module, and the digests module needs to know none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from crm.organisation.permissions import Actor


@dataclass(frozen=True)
class DigestPeriod:
    """Half-open ``[start, end)`` in UTC, computed from the manager's own time zone (a day is their day)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DigestFigure:
    """One number with the same number for the period before it. ``key`` is a translation key; ``params`` fill it
    (a currency, a stage name). Money figures carry their currency in ``params["currency"]``."""

    key: str
    value: int | Decimal
    previous: int | Decimal | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DigestRow:
    """A named line under a section (a rep with overdue follow-ups, a stage of the pipeline): ``label`` is data
    (a person's or stage's name), shown escaped."""

    label: str
    figures: tuple[DigestFigure, ...]


@dataclass(frozen=True)
class DigestSectionResult:
    name: str
    title_key: str
    figures: tuple[DigestFigure, ...] = ()
    rows: tuple[DigestRow, ...] = ()


class DigestSection(Protocol):
    """A module's part of the digest. ``position`` orders the sections (lower first)."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> int: ...

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        """The section for ``actor``'s query scope (``actor.scope_filter(area)``), or ``None`` when the actor may
        not see the area at all. ``uow`` is an open read-only unit of work of the worker running the digest (the
        storage unit of work, which has every module's repositories): use SQL aggregates, not row loops — a
        digest over 100,000 customers and 1,000,000 interactions has to take well under a second."""
        ...


@dataclass(frozen=True)
class DigestSeries:
    """One line of a weekly or monthly digest's trend chart: a count per bucket (oldest first). ``key`` is the
    translation key of the line's name."""

    key: str
    values: tuple[int, ...]


class DigestTrend(Protocol):
    """A module's line on the trend chart (``services.organisation.digest_trends``), counted in the same worker
    as the sections. ``position`` orders the lines; ``key`` is the translation key of the line's name (its
    series' ``key``), known beforehand: the chart is drawn in the worker's process, where only the words
    translated before it started are at hand."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> int: ...

    @property
    def key(self) -> str: ...

    async def series(self, uow: Any, actor: Actor, buckets: Sequence[DigestPeriod]) -> DigestSeries | None:
        """A count for each bucket in ``actor``'s query scope, or ``None`` when the actor may not see the area."""
        ...
