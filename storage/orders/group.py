"""The orders module's storage: its repositories on one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.orders.report import RollupSalesFigures, SqlSalesFigures
from storage.orders.repositories import SqlOrderRepository, SqlShipmentRepository


class OrdersRepositories:
    """This module's repositories on one unit of work's connection, each built when first used."""

    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._now = now

    @cached_property
    def orders(self) -> SqlOrderRepository:
        return SqlOrderRepository(self._conn)

    @cached_property
    def shipments(self) -> SqlShipmentRepository:
        return SqlShipmentRepository(self._conn)

    @cached_property
    def figures(self) -> SqlSalesFigures:
        """The sales analysis's sums, from the rollup kept by ``orders`` (docs/orders.md, "The rollup")."""
        return RollupSalesFigures(self._conn)

    @cached_property
    def raw_figures(self) -> SqlSalesFigures:
        """The same sums from the orders and lines themselves: what the rollup is checked against."""
        return SqlSalesFigures(self._conn)
