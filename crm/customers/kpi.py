"""The customers module's measure for performance reviews (crm/organisation/kpi.py): new customers a person owns,
created in the period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.kpi import KpiPeriod


class NewCustomersKpi:
    name = "new_customers"
    title_key = "kpi.new_customers"
    position = 30
    currency = None

    async def actuals(self, uow: Any, staff_ids: Sequence[int], period: KpiPeriod) -> Mapping[int, Decimal]:
        work: CustomersUnitOfWork = uow
        counts = await work.customers.digest.new_customers_per_owner(staff_ids, period.start, period.end)
        return {who: Decimal(n) for who, n in counts.items()}
