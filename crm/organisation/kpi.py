"""What a performance review measures: KPI sources that modules contribute (docs/hr.md).

A review compares targets with what a person actually did in a period: interactions logged and visits made
(follow-ups), new customers (customers), revenue and orders (orders), collections (billing), tickets resolved
within their SLA (service). Each module adds a ``KpiSource`` to ``services.organisation.kpi_sources`` while the
services are wired (``bot/modules/<module>.py``), as they add digest sections; the HR module lists the sources,
keeps targets per source and computes actuals for the people an actor may review, in a worker off the event loop.

The point lives here, in the module every other one requires, so any module can contribute a measure without
depending on the HR module, and the HR module needs to know none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class KpiPeriod:
    """Half-open ``[start, end)`` in UTC, from the reviewed period's local days ``first``..``last`` (inclusive),
    for sources whose data is kept by date (a payment's received-on day)."""

    start: datetime
    end: datetime
    first: date
    last: date


class KpiSource(Protocol):
    """One measure. ``name`` is stored with targets and reviews (never rename one); ``title_key`` translates it;
    ``money`` figures are amounts in ``currency``, the others counts. ``position`` orders the measures."""

    @property
    def name(self) -> str: ...

    @property
    def title_key(self) -> str: ...

    @property
    def position(self) -> int: ...

    @property
    def currency(self) -> str | None: ...

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        """What each of ``staff_ids`` did in the period (people with nothing may be left out). The caller has
        already checked that the actor may review these people. ``uow`` is an open read-only unit of work of the
        worker (every module's repositories): one SQL aggregate grouped by person, on an indexed time column —
        a team's quarter over 1,000,000 interactions has to take well under a second."""
        ...
