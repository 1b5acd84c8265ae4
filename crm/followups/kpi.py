"""The follow-ups module's measures for performance reviews (crm/organisation/kpi.py): interactions logged and
visits made by a person, and their follow-ups done on time (completed in the period, no later than due)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crm.customers.model import InteractionKind
from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.kpi import KpiPeriod


def _decimal(counts: Mapping[int, int]) -> dict[int, Decimal]:
    return {who: Decimal(n) for who, n in counts.items()}


class InteractionsKpi:
    name = "interactions"
    title_key = "kpi.interactions"
    position = 10
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: CustomersUnitOfWork = uow
        return _decimal(await work.customers.digest.interactions_per_author(staff_ids, period.start, period.end))


class VisitsKpi:
    name = "visits"
    title_key = "kpi.visits"
    position = 20
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: CustomersUnitOfWork = uow
        return _decimal(await work.customers.digest.interactions_per_author(
            staff_ids, period.start, period.end, kinds=(InteractionKind.VISIT.value,)))


class FollowUpsOnTimeKpi:
    name = "followups_on_time"
    title_key = "kpi.followups_on_time"
    position = 40
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: CustomersUnitOfWork = uow
        return _decimal(await work.customers.digest.followups_on_time_per_owner(staff_ids, period.start,
                                                                                 period.end))
