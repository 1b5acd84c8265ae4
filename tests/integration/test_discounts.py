"""Discount approval over a real database: the limit per role (defaults, set by an admin, audited), the effective
discount (line and order discounts, not the customer's tier), who is asked and who may decide (discounts.approve
within the sales scope covering the owner, never one's own), a quote held back until approved, a rejection and
asking again, and another kind of record plugged in through ``DiscountService.subjects``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.money import Money
from crm.customers.customers import CustomerDraft
from crm.customers.model import Tier
from crm.organisation.permissions import Actor
from crm.sales.discount_model import Discounted
from crm.sales.discounts import Clearance
from crm.sales.model import Product, ProductDraft
from crm.sales.quote_model import LineDraft, Quote, QuoteStatus
from storage import tables as t
from tests.support.org import Org, make_org


@dataclass
class Team:
    org: Org
    mia: Actor  # manager, North: covers North-East
    ned: Actor  # rep, North-East
    sam: Actor  # manager, South: does not cover Ned
    sue: Actor  # rep, South
    widget: Product


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 5001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 5002, "Ned", "rep", org.north_east)
    sam = await org.join(org.admin, 5003, "Sam", "manager", org.south)
    sue = await org.join(org.admin, 5004, "Sue", "rep", org.south)
    widget = await org.services.sales.catalog.create(mia, ProductDraft(
        sku="A-100", name="Widget", list_price=Decimal(100), currency="TWD", tax_rate=Decimal(5)))
    return Team(org, mia, ned, sam, sue, widget)


async def _quote(team: Team, actor: Actor, *, line: str = "0", order: str = "0", tier: Tier | None = None) -> Quote:
    customer = await team.org.services.customers.customers.create(actor, CustomerDraft(name="Acme", tier=tier),
                                                                   force=True)
    quote: Quote = await team.org.services.sales.quotes.create(
        actor, customer.id, [LineDraft(product_id=team.widget.id, quantity=Decimal(3), discount=Decimal(line))],
        order_discount=Decimal(order))
    return quote


async def test_limits_per_role_default_and_set_by_an_admin(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    discounts = team.org.services.sales.discounts
    limits = {role.name: limit for role, limit in await discounts.limits(team.org.admin)}
    # Roles that approve discounts have no limit of their own; the others 10 %.
    assert limits["rep"] == Decimal(10) and limits["manager"] is None and limits["admin"] is None
    assert await discounts.my_limit(team.ned) == Decimal(10) and await discounts.my_limit(team.mia) is None

    with pytest.raises(PermissionDenied):
        await discounts.set_limit(team.mia, "rep", "20")  # managers do not hold roles.manage
    with pytest.raises(ValidationFailed):
        await discounts.set_limit(team.org.admin, "nobody", "20")
    with pytest.raises(ValidationFailed):
        await discounts.set_limit(team.org.admin, "rep", "120")
    await discounts.set_limit(team.org.admin, "rep", "12.5")
    assert await discounts.my_limit(team.ned) == Decimal("12.5")
    await discounts.set_limit(team.org.admin, "manager", "30")
    assert await discounts.my_limit(team.mia) == Decimal(30)
    await discounts.set_limit(team.org.admin, "rep", None)
    assert await discounts.my_limit(team.ned) is None
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.before, t.audit_log.c.after)
                                   .where(t.audit_log.c.entity == "discount_limit").order_by(t.audit_log.c.id))).all()
    assert [(r.before["percent"], r.after["percent"]) for r in rows] == [("10", "12.5"), (None, "30"),
                                                                         ("12.5", None)]


async def test_the_effective_discount_counts_line_and_order_discounts_not_the_tier(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await team.org.services.sales.prices.set_tier_discount(team.mia, Tier.A, "30")
    standing = team.org.services.sales.discounts.standing
    tiered = await _quote(team, team.ned, tier=Tier.A)  # 30 % off the list price, by the company's rule
    assert tiered.discount_percent == 0 and (await standing(team.ned, "quote", tiered.id)).clearance is Clearance.WITHIN
    exactly = await _quote(team, team.ned, line="10")
    assert (await standing(team.ned, "quote", exactly.id)).clearance is Clearance.WITHIN
    both = await _quote(team, team.ned, line="8", order="3")  # 300 → 276 → 267.72: 10.76 % off
    assert both.discount_percent == Decimal("10.76")
    assert (await standing(team.ned, "quote", both.id)).clearance is Clearance.NEEDED
    with pytest.raises(Conflict):
        await team.org.services.sales.quotes.move(team.ned, both.id, QuoteStatus.SENT)
    manager_quote = await _quote(team, team.mia, line="40")
    assert (await standing(team.mia, "quote", manager_quote.id)).clearance is Clearance.WITHIN
    await team.org.services.sales.quotes.move(team.mia, manager_quote.id, QuoteStatus.SENT)


async def test_a_manager_in_scope_approves_and_the_quote_can_then_be_sent(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    team = await _team(engine, clock)
    discounts, quotes = team.org.services.sales.discounts, team.org.services.sales.quotes
    quote = await _quote(team, team.ned, line="15")
    with pytest.raises(NotFound):
        await discounts.request(team.sue, "quote", quote.id)  # not hers, not in her scope
    requested = await discounts.request(team.ned, "quote", quote.id)
    assert {p.name for p in requested.approvers} == {"Ada", "Mia"}  # not Sam: South does not cover North-East
    assert requested.subject.title == quote.number and requested.subject.total == Money(Decimal("267.75"), "TWD")
    again = await discounts.request(team.ned, "quote", quote.id)  # a reminder: the same request
    assert again.approval.id == requested.approval.id
    assert [p.approval.id for p in await discounts.pending(team.mia)] == [requested.approval.id]
    assert await discounts.pending(team.sam) == []
    assert (await discounts.standing(team.ned, "quote", quote.id)).clearance is Clearance.PENDING

    approval_id = requested.approval.id
    with pytest.raises(PermissionDenied):
        await discounts.approve(team.sue, approval_id)
    with pytest.raises(NotFound):
        await discounts.approve(team.sam, approval_id)
    with pytest.raises(NotFound):
        await discounts.reject(team.sam, approval_id, "no")
    with pytest.raises(ValidationFailed):
        await discounts.reject(team.mia, approval_id, "   ")
    decided = await discounts.approve(team.mia, approval_id)
    assert decided.requester is not None and decided.requester.name == "Ned" and decided.decider_name == "Mia"
    with pytest.raises(Conflict):
        await discounts.approve(team.org.admin, approval_id)
    with pytest.raises(Conflict):
        await discounts.request(team.ned, "quote", quote.id)  # nothing left to approve
    assert (await discounts.standing(team.ned, "quote", quote.id)).clearance is Clearance.APPROVED
    await quotes.move(team.ned, quote.id, QuoteStatus.SENT)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.actor_id)
                                   .where(t.audit_log.c.entity == "discount_approval")
                                   .order_by(t.audit_log.c.id))).all()
    assert [(r.action, r.actor_id) for r in rows] == [("request", team.ned.staff_id), ("approved", team.mia.staff_id)]


async def test_a_rejected_discount_stays_unsendable_until_asked_again(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    team = await _team(engine, clock)
    discounts = team.org.services.sales.discounts
    quote = await _quote(team, team.ned, order="20")
    first = await discounts.request(team.ned, "quote", quote.id)
    decided = await discounts.reject(team.mia, first.approval.id, "  too   much ")
    assert decided.approval.reason == "too much"
    standing = await discounts.standing(team.ned, "quote", quote.id)
    assert standing.clearance is Clearance.REJECTED and standing.approval is not None
    with pytest.raises(Conflict):
        await team.org.services.sales.quotes.for_customer(team.ned, quote.id, {})
    second = await discounts.request(team.ned, "quote", quote.id)
    assert second.approval.id != first.approval.id
    assert (await discounts.standing(team.ned, "quote", quote.id)).clearance is Clearance.PENDING


@dataclass
class FakeRentals:
    """Another kind of record joining the machinery, as orders do (crm/orders/discounts.py): pending until
    approved. A kind of its own, so the test sees only what it plugged in."""

    owner_id: int
    kind: str = "rental"
    status: dict[int, str] = field(default_factory=lambda: {7: "pending_approval"})

    async def describe(self, uow: Any, actor: Actor | None, subject_id: int) -> Discounted:
        if subject_id not in self.status:
            raise NotFound()
        return Discounted(kind=self.kind, subject_id=subject_id, owner_id=self.owner_id, title=f"SO-{subject_id}",
                          customer_name="Acme", total=Money(Decimal(1000), "TWD"), percent=Decimal(25))

    async def approved(self, uow: Any, actor: Actor, subject_id: int) -> None:
        self.status[subject_id] = "confirmed"

    async def rejected(self, uow: Any, actor: Actor, subject_id: int, reason: str) -> None:
        self.status[subject_id] = "cancelled"


async def test_another_kind_of_record_plugs_in(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    discounts = team.org.services.sales.discounts
    orders = FakeRentals(team.ned.staff_id)
    discounts.subjects.add(orders)
    requested = await discounts.request(team.ned, "rental", 7)
    assert requested.subject.title == "SO-7" and requested.approval.limit == Decimal(10)
    with pytest.raises(NotFound):
        await discounts.request(team.ned, "invoice", 7)  # a kind nobody plugged in
    await discounts.approve(team.mia, requested.approval.id)
    assert orders.status[7] == "confirmed"
