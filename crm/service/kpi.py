"""The service module's measure for performance reviews (crm/organisation/kpi.py): tickets a person resolved in the
period before they were due (their SLA); a ticket counts for its assignee, or its owner when nobody was assigned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crm.organisation.kpi import KpiPeriod
from crm.service.ports import ServiceUnitOfWork


class TicketsInSlaKpi:
    name = "tickets_in_sla"
    title_key = "kpi.tickets_in_sla"
    position = 80
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: ServiceUnitOfWork = uow
        counts = await work.service.tickets.resolved_in_time(staff_ids, period.start, period.end)
        return {who: Decimal(n) for who, n in counts.items()}
