"""The pipeline over a real database: create, move, the lost reason, scope, audit, handover and deactivation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.organisation.permissions import Actor
from crm.organisation.staff import OwnsOpenWork
from crm.sales.events import OpportunityLost, OpportunityWon
from crm.sales.opportunity_model import Opportunity, OpportunityFields, Stage
from storage import tables as t
from tests.support.org import Org, make_org


@dataclass
class Team:
    org: Org
    mia: Actor  # manager of North (sees North-East too)
    ned: Actor  # rep, North-East
    nat: Actor  # rep, North
    sue: Actor  # rep, South


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    return Team(org, await org.join(org.admin, 3001, "Mia", "manager", org.north),
                await org.join(org.admin, 3002, "Ned", "rep", org.north_east),
                await org.join(org.admin, 3003, "Nat", "rep", org.north),
                await org.join(org.admin, 3004, "Sue", "rep", org.south))


async def _opportunity(team: Team, actor: Actor, customer: str, title: str, amount: str,
                       currency: str = "TWD") -> Opportunity:
    services = team.org.services
    created = await services.customers.customers.create(actor, CustomerDraft(name=customer), force=True)
    return await services.sales.opportunities.create(actor, OpportunityFields(
        customer_id=created.id, title=title, amount=Decimal(amount), currency=currency,
        close_date=date(2025, 6, 30)))


async def _stages(team: Team) -> dict[str, Stage]:
    return {s.key: s for s in await team.org.services.sales.opportunities.stages(team.org.admin)}


async def test_create_move_win_and_lose_with_audit_and_events(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    opps = team.org.services.sales.opportunities
    stages = await _stages(team)
    assert [(s.key, int(s.probability)) for s in stages.values()] == [
        ("new", 10), ("qualified", 25), ("proposal", 50), ("negotiation", 75), ("won", 100), ("lost", 0)]
    heard: list[object] = []

    async def hear(event: object, uow: object) -> None:
        heard.append(event)

    team.org.services.uow.bus.in_transaction(OpportunityWon, hear)  # type: ignore[attr-defined]
    team.org.services.uow.bus.in_transaction(OpportunityLost, hear)  # type: ignore[attr-defined]

    line = await _opportunity(team, team.ned, "Acme", "Line upgrade", "1200000")
    assert line.stage_id == stages["new"].id and line.owner_id == team.ned.staff_id
    moved = await opps.move(team.ned, line.id, stages["proposal"].id)
    assert moved.stage_id == stages["proposal"].id and moved.closed_at is None

    with pytest.raises(ValidationFailed):
        await opps.move(team.ned, line.id, stages["lost"].id)  # no reason: nothing changes
    assert (await opps.get(team.ned, line.id)).stage_id == stages["proposal"].id
    lost = await opps.move(team.ned, line.id, stages["lost"].id, "Price too high")
    assert lost.lost_reason == "Price too high" and lost.closed_at == clock.now()

    other = await _opportunity(team, team.ned, "Beta", "ERP", "50000", "USD")
    await opps.move(team.ned, other.id, stages["won"].id)
    assert [type(e).__name__ for e in heard] == ["OpportunityLost", "OpportunityWon"]

    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_log.c.action, t.audit_log.c.after).where(
            t.audit_log.c.entity == "opportunity", t.audit_log.c.entity_id == line.id)
            .order_by(t.audit_log.c.id))).all()
    assert [r.action for r in rows] == ["create", "move", "move"]
    assert rows[-1].after == {"stage_id": stages["lost"].id, "lost_reason": "Price too high"}


async def test_a_rep_sees_only_their_own_and_a_manager_the_team(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    opps = team.org.services.sales.opportunities
    stages = await _stages(team)
    neds = await _opportunity(team, team.ned, "Acme", "Line upgrade", "1000")
    await _opportunity(team, team.nat, "Beta", "Racks", "3000")
    sues = await _opportunity(team, team.sue, "Gamma", "Cables", "5000")

    with pytest.raises(NotFound):
        await opps.get(team.nat, neds.id)
    with pytest.raises(NotFound):
        await opps.move(team.nat, neds.id, stages["won"].id)  # a forged press on a colleague's: not found
    with pytest.raises(NotFound):
        await opps.get(team.mia, sues.id)  # South is outside Mia's department tree
    assert (await opps.get(team.ned, neds.id)).stage_id == stages["new"].id

    mine = await opps.pipeline(team.ned)
    assert mine.count == 1 and mine.stages[0].weighted[0].amount == Decimal(100)
    assert (await opps.pipeline(team.ned, team=True)).count == 1  # a rep's scope is their own
    manager = await opps.pipeline(team.mia, team=True)
    assert manager.count == 2 and manager.stages[0].amounts[0].amount == Decimal(4000)
    assert (await opps.pipeline(team.mia)).count == 0
    _, listed, more = await opps.in_stage(team.mia, stages["new"].id, team=True)
    assert sorted(name for _, name in listed) == ["Acme", "Beta"] and not more

    # A manager (sales.edit) may move a rep's opportunity in scope; a rep may not edit a colleague's.
    await opps.move(team.mia, neds.id, stages["qualified"].id)
    await opps.update(team.ned, neds.id, {"source": "trade fair", "amount": "2,000"})
    with pytest.raises(ValidationFailed):  # competitors are links (the competitors module), not typed text
        await opps.update(team.ned, neds.id, {"competitors": "Foxconn"})
    assert (await opps.get(team.mia, neds.id)).amount == Decimal(2000)
    with pytest.raises(NotFound):
        await opps.update(team.nat, neds.id, {"title": "mine now"})
    with pytest.raises(PermissionDenied):
        await opps.create(replace(team.ned, permissions=frozenset({"sales.view"})),
                          OpportunityFields(customer_id=neds.customer_id, title="x"))


async def test_open_opportunities_block_deactivation_and_move_with_the_handover(engine: AsyncEngine,
                                                                                  clock: ManualClock) -> None:
    team = await _team(engine, clock)
    services = team.org.services
    stages = await _stages(team)
    open_one = await _opportunity(team, team.ned, "Acme", "Line upgrade", "1000")
    won = await _opportunity(team, team.ned, "Beta", "Racks", "3000")
    await services.sales.opportunities.move(team.ned, won.id, stages["won"].id)

    assert (await services.organisation.staff.open_work_of(team.org.admin, team.ned.staff_id))["opportunities"] == 1
    await services.segments.handover.execute(team.mia, team.ned.staff_id, team.nat.staff_id)
    assert (await services.sales.opportunities.get(team.mia, open_one.id)).owner_id == team.nat.staff_id
    assert (await services.sales.opportunities.get(team.mia, won.id)).owner_id == team.ned.staff_id  # who won it
    await services.organisation.staff.set_active(team.org.admin, team.ned.staff_id, False)


async def test_only_open_opportunities_count_as_open_work(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    services = team.org.services
    opp = await _opportunity(team, team.nat, "Acme", "Line upgrade", "1000")
    # Nat's customer went to Ned by hand; Nat still owns the opportunity, so Nat cannot leave yet.
    await services.customers.customers.update(team.org.admin, opp.customer_id, {"owner_id": team.ned.staff_id})
    with pytest.raises(OwnsOpenWork) as refused:
        await services.organisation.staff.set_active(team.org.admin, team.nat.staff_id, False)
    assert refused.value.counts == {"opportunities": 1}  # what the refusal names, in the reader's words


async def test_stale_opportunities_are_claimed_once_a_day_in_working_hours(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    team = await _team(engine, clock)  # the clock starts at 10:00 in Taipei, everyone's zone here
    stale = team.org.services.sales.stale
    await _opportunity(team, team.ned, "Acme", "Line upgrade", "1000")
    assert await stale.due() == []
    clock.advance(timedelta(days=stale.days + 1))
    due = await stale.due()
    assert [d.staff_id for d in due] == [team.ned.staff_id]
    assert await stale.claim(due[0]) and not await stale.claim(due[0])
    found = await stale.collect(team.ned, due[0].day)
    assert found.total == 1 and found.items[0][1] == "Acme"
    assert await stale.due() == []  # claimed for today
    clock.advance(timedelta(hours=21))  # 07:00 the next day: before working hours
    assert await stale.due() == []
    clock.advance(timedelta(hours=1))
    assert [d.staff_id for d in await stale.due()] == [team.ned.staff_id]
