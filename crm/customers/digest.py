"""The customers module's part of a manager's digest: new customers and leads in the period, and the new-customers
line of the trend chart (crm/organisation/digest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestSectionResult, DigestSeries
from crm.organisation.permissions import Actor


class NewCustomersSection:
    name = "customers"
    position = 10

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("customers.view"):
            return None
        work: CustomersUnitOfWork = uow
        counts, scope = work.customers.digest, actor.scope_filter("customers")
        return DigestSectionResult(self.name, "customers.digest_title", figures=(
            DigestFigure("customers.digest_new_customers", await counts.new_customers(scope, period.start, period.end),
                         await counts.new_customers(scope, previous.start, previous.end)),
            DigestFigure("customers.digest_new_leads", await counts.new_leads(scope, period.start, period.end),
                         await counts.new_leads(scope, previous.start, previous.end)),
        ))


class NewCustomersTrend:
    name = "customers"
    position = 10
    key = "customers.digest_new_customers"

    async def series(self, uow: Any, actor: Actor, buckets: Sequence[DigestPeriod]) -> DigestSeries | None:
        if not actor.can("customers.view"):
            return None
        work: CustomersUnitOfWork = uow
        scope = actor.scope_filter("customers")
        return DigestSeries(self.key, tuple(
            [await work.customers.digest.new_customers(scope, b.start, b.end) for b in buckets]))
