"""Repositories for orders (with their lines and shipped quantities), the number counter, and shipments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.orders.model import Order, OrderRow, OrderStatus, Shipment, ShipmentRow
from crm.organisation.permissions import ScopeFilter
from crm.sales.quote_model import QuoteLine
from storage.customers import tables as ct
from storage.orders import rollup
from storage.orders import tables as t
from storage.organisation.repositories import scope_clause
from storage.prepared import Probe

_CUSTOMER_HAS_ORDERS = Probe(t.orders.c.customer_id)  # the customer card's last orders (storage/prepared.py)

_LINE_FIELDS = ("product_id", "sku", "name", "quantity", "unit_price", "discount", "tax_rate", "position",
                "name_zh_hant", "name_zh_hans")


def _order(row: Row[Any], lines: Sequence[Row[Any]]) -> Order:
    return Order(id=row.id, number=row.number, customer_id=row.customer_id, owner_id=row.owner_id,
                 currency=row.currency, status=OrderStatus(row.status), order_discount=row.order_discount,
                 delivery_date=row.delivery_date, created_at=row.created_at, updated_at=row.updated_at,
                 quote_id=row.quote_id, cancel_reason=row.cancel_reason, deleted_at=row.deleted_at,
                 lines=tuple(QuoteLine(**{name: getattr(line, name) for name in _LINE_FIELDS}) for line in lines),
                 shipped=tuple(line.shipped for line in lines))


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def next_number(self, year: int) -> int:
        """As quotations' (storage/sales/quotes.py): the UPDATE takes the row's lock, or runs under SQLite's
        write lock, so two orders taken at once get consecutive numbers."""
        q = t.order_counters
        first = (pg_insert(q) if self._c.dialect.name == "postgresql" else sqlite_insert(q))
        await self._c.execute(first.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
        bumped = await self._c.execute(update(q).where(q.c.year == year).values(last=q.c.last + 1)
                                       .returning(q.c.last))
        return int(bumped.scalar_one())

    async def add(self, order: Order) -> Order:
        o = t.orders
        new_id = int((await self._c.execute(insert(o).values(
            number=order.number, customer_id=order.customer_id, owner_id=order.owner_id, quote_id=order.quote_id,
            currency=order.currency, status=order.status.value, order_discount=order.order_discount,
            total=order.totals.total, delivery_date=order.delivery_date, cancel_reason=order.cancel_reason,
            created_at=order.created_at, updated_at=order.updated_at,
        ).returning(o.c.id))).scalar_one())
        if order.lines:
            await self._c.execute(insert(t.order_lines), [
                {**{name: getattr(line, name) for name in _LINE_FIELDS}, "order_id": new_id, "position": i,
                 "shipped": Decimal(0)} for i, line in enumerate(order.lines)])
        await rollup.refresh(self._c, [(rollup.day_of(order.created_at), order.owner_id)])
        result = await self.get(new_id)
        assert result is not None
        return result

    async def replace_lines(self, order_id: int, lines: Sequence[QuoteLine]) -> None:
        """Only before anything was shipped; the caller updates the order's row after, which refreshes the
        sales rollup."""
        await self._c.execute(delete(t.order_lines).where(t.order_lines.c.order_id == order_id))
        if lines:
            await self._c.execute(insert(t.order_lines), [
                {**{name: getattr(line, name) for name in _LINE_FIELDS}, "order_id": order_id, "position": i,
                 "shipped": Decimal(0)} for i, line in enumerate(lines)])

    async def get(self, order_id: int) -> Order | None:
        o, ol = t.orders, t.order_lines
        row = (await self._c.execute(select(o).where(o.c.id == order_id, o.c.deleted_at.is_(None)))).first()
        if row is None:
            return None
        lines = (await self._c.execute(select(ol).where(ol.c.order_id == order_id).order_by(ol.c.position))).all()
        return _order(row, lines)

    async def id_of(self, number: str) -> int | None:
        o = t.orders.c
        found = (await self._c.execute(select(o.id).where(o.number == number, o.deleted_at.is_(None)))).scalar()
        return int(found) if found is not None else None

    async def lock(self, order_id: int) -> None:
        """Hold the order's row until the transaction ends (PostgreSQL; SQLite's write transaction already
        serialises writers), so two shipments read what the other shipped."""
        await self._c.execute(select(t.orders.c.id).where(t.orders.c.id == order_id).with_for_update())

    async def update(self, order_id: int, **fields: Any) -> None:
        """Change the order's row; the sales rollup's day of the order (and owner, before and after) is
        recomputed in the same transaction."""
        before = await self._rollup_key(order_id)
        await self._c.execute(update(t.orders).where(t.orders.c.id == order_id).values(**fields))
        await self.refresh_rollup(order_id, before)

    async def _rollup_key(self, order_id: int) -> rollup.Key | None:
        o = t.orders.c
        row = (await self._c.execute(select(o.created_at, o.owner_id).where(o.id == order_id))).first()
        return (rollup.day_of(row.created_at), int(row.owner_id)) if row is not None else None

    async def refresh_rollup(self, order_id: int, before: rollup.Key | None = None) -> None:
        """Recompute the rollup where the order counts now (and counted before, when that was elsewhere): after
        any change to the order or its lines."""
        keys = [key for key in (before, await self._rollup_key(order_id)) if key is not None]
        await rollup.refresh(self._c, keys)

    async def add_shipped(self, order_id: int, quantities: Mapping[int, Decimal]) -> None:
        ol = t.order_lines
        for position, quantity in quantities.items():
            line = (await self._c.execute(select(ol.c.id, ol.c.shipped).where(
                ol.c.order_id == order_id, ol.c.position == position))).one()
            # Read and written as Decimal here: ExactDecimal is text on SQLite, so SQL arithmetic would not do.
            await self._c.execute(update(ol).where(ol.c.id == line.id).values(shipped=line.shipped + quantity))

    async def listed(self, scope: ScopeFilter, *, customer_id: int | None = None, offset: int,
                     limit: int) -> Sequence[OrderRow]:
        o, c = t.orders, ct.customers
        where = [o.c.deleted_at.is_(None), scope_clause(scope, o.c.owner_id)]
        if customer_id is not None:
            if not await _CUSTOMER_HAS_ORDERS.any(self._c, customer_id):
                return []
            where.append(o.c.customer_id == customer_id)
        rows = await self._c.execute(
            select(o.c.id, o.c.number, o.c.status, c.c.name, o.c.total, o.c.currency, o.c.created_at)
            .join(c, c.c.id == o.c.customer_id).where(*where).order_by(o.c.id.desc()).offset(offset).limit(limit))
        return [OrderRow(int(r.id), r.number, OrderStatus(r.status), r.name, r.total, r.currency, r.created_at)
                for r in rows]

    async def last_of(self, customer_id: int, scope: ScopeFilter) -> Order | None:
        o = t.orders
        found = (await self._c.execute(
            select(o.c.id).where(o.c.customer_id == customer_id, o.c.deleted_at.is_(None),
                                 o.c.status != OrderStatus.CANCELLED.value, scope_clause(scope, o.c.owner_id))
            .order_by(o.c.id.desc()).limit(1))).scalar()
        return await self.get(int(found)) if found is not None else None

    async def count_owned(self, owner_id: int, statuses: Sequence[OrderStatus]) -> int:
        o = t.orders
        return int((await self._c.execute(select(func.count()).select_from(o).where(
            o.c.owner_id == owner_id, o.c.deleted_at.is_(None),
            o.c.status.in_([s.value for s in statuses])))).scalar_one())

    async def by_quote(self, quote_id: int) -> Order | None:
        o = t.orders
        found = (await self._c.execute(select(o.c.id).where(o.c.quote_id == quote_id, o.c.deleted_at.is_(None))
                                       .limit(1))).scalar()
        return await self.get(int(found)) if found is not None else None


class SqlShipmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, shipment: Shipment) -> Shipment:
        s = t.shipments
        new_id = int((await self._c.execute(insert(s).values(
            order_id=shipment.order_id, carrier=shipment.carrier, tracking=shipment.tracking,
            shipped_at=shipment.shipped_at, by_staff_id=shipment.by_staff_id).returning(s.c.id))).scalar_one())
        if shipment.quantities:
            await self._c.execute(insert(t.shipment_lines), [
                {"shipment_id": new_id, "position": p, "quantity": q} for p, q in sorted(shipment.quantities.items())])
        return Shipment(id=new_id, order_id=shipment.order_id, carrier=shipment.carrier, tracking=shipment.tracking,
                        shipped_at=shipment.shipped_at, by_staff_id=shipment.by_staff_id,
                        quantities=dict(shipment.quantities))

    async def get(self, shipment_id: int) -> Shipment | None:
        s = t.shipments
        order_id = (await self._c.execute(select(s.c.order_id).where(s.c.id == shipment_id))).scalar()
        if order_id is None:
            return None
        return next((x for x in await self.of_order(int(order_id)) if x.id == shipment_id), None)

    async def of_customer(self, scope: ScopeFilter, customer_id: int, *, limit: int) -> Sequence[ShipmentRow]:
        if not await _CUSTOMER_HAS_ORDERS.any(self._c, customer_id):
            return []
        s, o = t.shipments, t.orders
        rows = await self._c.execute(
            select(s.c.id, o.c.number, s.c.shipped_at, s.c.carrier, s.c.tracking).join(o, o.c.id == s.c.order_id)
            .where(o.c.customer_id == customer_id, o.c.deleted_at.is_(None), scope_clause(scope, o.c.owner_id))
            .order_by(s.c.id.desc()).limit(limit))
        return [ShipmentRow(int(r.id), r.number, r.shipped_at, r.carrier, r.tracking) for r in rows]

    async def of_order(self, order_id: int) -> Sequence[Shipment]:
        s, sl = t.shipments, t.shipment_lines
        rows = (await self._c.execute(select(s).where(s.c.order_id == order_id).order_by(s.c.id))).all()
        if not rows:
            return []
        lines = (await self._c.execute(select(sl).where(sl.c.shipment_id.in_([r.id for r in rows]))
                                       .order_by(sl.c.position))).all()
        by_shipment: dict[int, dict[int, Decimal]] = {}
        for line in lines:
            by_shipment.setdefault(line.shipment_id, {})[line.position] = line.quantity
        return [Shipment(id=r.id, order_id=r.order_id, carrier=r.carrier, tracking=r.tracking,
                         shipped_at=r.shipped_at, by_staff_id=r.by_staff_id, quantities=by_shipment.get(r.id, {}))
                for r in rows]
