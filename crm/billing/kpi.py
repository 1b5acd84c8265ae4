"""The billing module's measure for performance reviews (crm/organisation/kpi.py): collections — payments received
in the period (by their received-on day) on the invoices a person owns, in the organisation's currency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from crm.billing.ports import BillingUnitOfWork
from crm.organisation.kpi import KpiPeriod


class CollectionsKpi:
    name = "collections"
    title_key = "kpi.collections"
    position = 70

    def __init__(self, currency: str) -> None:
        self.currency: str | None = currency

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: BillingUnitOfWork = uow
        assert self.currency is not None
        return await work.billing.payments.received_per_owner(staff_ids, period.first,
                                                              period.last + timedelta(days=1), self.currency)
