"""The sales module's storage: the product catalog and customer prices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.sales.discounts import SqlDiscountApprovalRepository, SqlDiscountLimitRepository
from storage.sales.opportunities import SqlOpportunityRepository, SqlStageRepository
from storage.sales.quotes import SqlQuoteRepository
from storage.sales.repositories import SqlCategoryRepository, SqlCustomerPriceRepository, SqlProductRepository


class SalesRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def categories(self) -> SqlCategoryRepository:
        return SqlCategoryRepository(self._conn)

    @cached_property
    def products(self) -> SqlProductRepository:
        return SqlProductRepository(self._conn)

    @cached_property
    def customer_prices(self) -> SqlCustomerPriceRepository:
        return SqlCustomerPriceRepository(self._conn)

    @cached_property
    def stages(self) -> SqlStageRepository:
        return SqlStageRepository(self._conn)

    @cached_property
    def opportunities(self) -> SqlOpportunityRepository:
        return SqlOpportunityRepository(self._conn)

    @cached_property
    def quotes(self) -> SqlQuoteRepository:
        return SqlQuoteRepository(self._conn)

    @cached_property
    def discount_limits(self) -> SqlDiscountLimitRepository:
        return SqlDiscountLimitRepository(self._conn)

    @cached_property
    def discount_approvals(self) -> SqlDiscountApprovalRepository:
        return SqlDiscountApprovalRepository(self._conn)
