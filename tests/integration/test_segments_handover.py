"""Segments, handover and no-contact nudges over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import Classification, Customer, EntityKind, InteractionKind, Tier
from crm.followups.followups import Target
from crm.followups.nudges import DEFAULT_DAYS, NudgeSettings
from crm.organisation.permissions import Actor
from crm.segments.model import OwnedCounts, SegmentFilter
from crm.segments.segments import parse_days
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
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    nat = await org.join(org.admin, 3003, "Nat", "rep", org.north)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    return Team(org, mia, ned, nat, sue)


async def _customer(team: Team, actor: Actor, name: str, **fields: object) -> Customer:
    return await team.org.services.customers.customers.create(actor, CustomerDraft(name=name, **fields), force=True)  # type: ignore[arg-type]


async def _book(team: Team, clock: ManualClock) -> dict[str, Customer]:
    """Customers created 40 days ago; Beta was called 20 days ago; Newco was created today."""
    ned, sue = team.ned, team.sue
    book = {
        "acme": await _customer(team, ned, "Acme", classification=Classification.POTENTIAL, tier=Tier.A,
                                region="Taipei", industry="Semiconductors", tags=("vip", "semis")),
        "beta": await _customer(team, ned, "Beta", classification=Classification.GENERAL, tier=Tier.B,
                                region="taipei", industry="Food", tags=("food",)),
        "jia": await _customer(team, ned, "甲乙公司", classification=Classification.LOYAL, tier=Tier.A,
                               region="台北", tags=("VIP",)),
        "suco": await _customer(team, sue, "Sue Co", classification=Classification.POTENTIAL, region="Taipei",
                                tags=("vip",)),
    }
    clock.advance(timedelta(days=20))
    await team.org.services.followups.followups.log(ned, Target(EntityKind.CUSTOMER, book["beta"].id),
                                                    InteractionKind.CALL,
                                          "Called about the spring order")
    clock.advance(timedelta(days=20))
    book["newco"] = await _customer(team, ned, "Newco", classification=Classification.POTENTIAL)
    return book


async def _names(team: Team, actor: Actor, segment_filter: SegmentFilter) -> tuple[int, list[str]]:
    services = team.org.services
    segment = await services.segments.segments.create(actor, f"probe {segment_filter.to_json()}"[:100], segment_filter)
    try:
        page = await services.segments.segments.list_customers(actor, segment.id)
        count = await services.segments.segments.count(actor, segment.id)
        assert count == (await services.segments.segments.preview(actor, segment_filter)).count
        return count, sorted(c.name for c in page.customers)
    finally:
        await services.segments.segments.delete(actor, segment.id)


def test_filter_json_round_trip_and_tolerance() -> None:
    full = SegmentFilter(classifications=frozenset({Classification.LOYAL, Classification.POTENTIAL}),
                         tiers=frozenset({Tier.A}), regions=frozenset({"台北", "Taipei"}),
                         industries=frozenset({"Food"}), tags=frozenset({"vip"}), no_contact_days=30,
                         owner_ids=frozenset({3, 1}))
    data = full.to_json()
    assert data["classifications"] == ["loyal", "potential"] and data["owner_ids"] == [1, 3]
    assert SegmentFilter.from_json(data) == full
    assert SegmentFilter.from_json({}) == SegmentFilter() and SegmentFilter().is_empty
    junk = SegmentFilter.from_json({"classifications": ["gone", "loyal"], "tiers": "A", "no_contact_days": -4,
                                    "owner_ids": ["x", 2], "tags": ["#vip"], "extra": 1})
    assert junk == SegmentFilter(classifications=frozenset({Classification.LOYAL}), owner_ids=frozenset({2}),
                                 tags=frozenset({"vip"}))
    assert SegmentFilter.from_json(None) == SegmentFilter()
    toggled = SegmentFilter().toggled("tiers", Tier.B)
    assert toggled.tiers == {Tier.B} and toggled.toggled("tiers", Tier.B).tiers == frozenset()
    typed = ("30", "３０", "30 days", "14天", "off", "關閉")
    assert [parse_days(x, limit=365) for x in typed] == [30, 30, 30, 14, 0, 0]
    for bad in ("-5", "1e3", "x", "999", "²"):
        with pytest.raises(ValidationFailed):
            parse_days(bad, limit=365)
    with pytest.raises(ValidationFailed):
        parse_days("0", limit=90, allow_off=False)


async def test_filters_tags_no_contact_and_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await _book(team, clock)
    admin, ned, mia, sue = team.org.admin, team.ned, team.mia, team.sue
    potential = SegmentFilter(classifications=frozenset({Classification.POTENTIAL}))
    assert await _names(team, admin, potential) == (3, ["Acme", "Newco", "Sue Co"])
    assert await _names(team, ned, potential) == (2, ["Acme", "Newco"])
    assert await _names(team, mia, potential) == (2, ["Acme", "Newco"])  # North-East is under North
    assert await _names(team, sue, potential) == (1, ["Sue Co"])

    # Tags through the "#tag" search terms: case-folded like the search box, several = any of them.
    assert await _names(team, admin, SegmentFilter(tags=frozenset({"VIP"}))) == (3, ["Acme", "Sue Co", "甲乙公司"])
    assert await _names(team, ned, SegmentFilter(tags=frozenset({"food", "semis"}))) == (2, ["Acme", "Beta"])
    assert await _names(team, ned, SegmentFilter(tags=frozenset({"nothing"}))) == (0, [])

    assert await _names(team, admin, SegmentFilter(regions=frozenset({"TAIPEI"}))) == (3, ["Acme", "Beta", "Sue Co"])
    assert await _names(team, ned, SegmentFilter(regions=frozenset({"台北"}))) == (1, ["甲乙公司"])
    assert await _names(team, ned, SegmentFilter(industries=frozenset({"food"}))) == (1, ["Beta"])

    # No contact for 30 days: Beta was called 20 days ago, Newco is new; never contacted counts from creation.
    stale = SegmentFilter(no_contact_days=30)
    assert await _names(team, ned, stale) == (2, ["Acme", "甲乙公司"])
    assert await _names(team, ned, SegmentFilter(no_contact_days=15)) == (3, ["Acme", "Beta", "甲乙公司"])

    # Owner filter never widens the scope.
    assert await _names(team, ned, SegmentFilter(owner_ids=frozenset({sue.staff_id}))) == (0, [])
    assert await _names(team, admin, SegmentFilter(owner_ids=frozenset({sue.staff_id}))) == (1, ["Sue Co"])

    combined = SegmentFilter(classifications=frozenset({Classification.POTENTIAL, Classification.LOYAL}),
                             tiers=frozenset({Tier.A}), tags=frozenset({"vip"}), no_contact_days=30)
    assert await _names(team, mia, combined) == (2, ["Acme", "甲乙公司"])


async def test_saved_segments_visibility_paging_and_soft_delete(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    services = team.org.services
    ned, mia, nat, sue = team.ned, team.mia, team.nat, team.sue
    for i in range(11):
        await _customer(team, ned, f"Shop {i:02d}", tags=("retail",))
    retail = await services.segments.segments.create(ned, "  Retail   shops ",
                                                     SegmentFilter(tags=frozenset({"retail"})))
    assert retail.name == "Retail shops" and retail.owner_id == ned.staff_id
    with pytest.raises(Conflict):
        await services.segments.segments.create(ned, "retail SHOPS", SegmentFilter())
    with pytest.raises(ValidationFailed):
        await services.segments.segments.create(ned, "   ", SegmentFilter())
    with pytest.raises(ValidationFailed):
        await services.segments.segments.create(ned, "Too many",
                                                SegmentFilter(regions=frozenset(str(i) for i in range(21))))

    first = await services.segments.segments.list_customers(ned, retail.id, 0)
    second = await services.segments.segments.list_customers(ned, retail.id, 1)
    assert len(first.customers) == 8 and first.has_more and len(second.customers) == 3 and not second.has_more
    assert [c.name for c in first.customers + second.customers] == [f"Shop {i:02d}" for i in range(11)]
    assert len(await services.segments.segments.customer_ids(ned, retail.id)) == 11

    # The manager of Ned's department sees (and counts) Ned's segment; other reps do not know it exists.
    assert [(s.name, n) for s, n in await services.segments.segments.list(mia)] == [("Retail shops", 11)]
    assert [s.name for s, _ in await services.segments.segments.list(ned)] == ["Retail shops"]
    for outsider in (nat, sue):
        assert await services.segments.segments.list(outsider) == []
        with pytest.raises(NotFound):
            await services.segments.segments.count(outsider, retail.id)
        with pytest.raises(NotFound):
            await services.segments.segments.customer_ids(outsider, retail.id)

    # Soft delete by the creator, restore, and the audit trail.
    await services.segments.segments.delete(ned, retail.id)
    assert await services.segments.segments.list(ned) == []
    with pytest.raises(NotFound):
        await services.segments.segments.get(ned, retail.id)
    restored = await services.segments.segments.restore(ned, retail.id)
    assert restored.id == retail.id and (await services.segments.segments.get(ned, retail.id)).deleted_at is None
    async with services.uow(write=False) as uow:
        actions = [e.action for e in await uow.audit.for_entity("segment", retail.id)]
    assert actions == ["restore", "delete", "create"]

    # A rep may not delete a colleague's segment even where they could see it; a manager may.
    nat_segment = await services.segments.segments.create(nat, "Nat's", SegmentFilter())
    with pytest.raises(NotFound):
        await services.segments.segments.delete(ned, nat_segment.id)
    await services.segments.segments.delete(mia, nat_segment.id)


async def _workload(team: Team, clock: ManualClock) -> dict[str, int]:
    """Ned's book: 2 vip customers + 1 other + 1 in the trash, open and closed leads and follow-ups."""
    s = team.org.services
    ned = team.ned
    vip1 = await _customer(team, ned, "VIP One", tags=("vip",))
    vip2 = await _customer(team, ned, "VIP Two", tags=("vip",))
    plain = await _customer(team, ned, "Plain")
    trashed = await _customer(team, ned, "Old Shop")
    await s.customers.customers.delete(team.mia, trashed.id)
    lead = await s.customers.leads.create(ned, "陳小姐", phone_list=("0933 111 222",))
    dropped = await s.customers.leads.create(ned, "Mr Gone")
    await s.customers.leads.drop(ned, dropped.id, "no budget")
    due = clock.now() + timedelta(days=2)
    on_vip = await s.followups.followups.plan(ned, Target(EntityKind.CUSTOMER, vip1.id), due, "quote")
    on_plain = await s.followups.followups.plan(ned, Target(EntityKind.CUSTOMER, plain.id), due, "visit")
    on_lead = await s.followups.followups.plan(ned, Target(EntityKind.LEAD, lead.id), due, "call")
    done = await s.followups.followups.plan(ned, Target(EntityKind.CUSTOMER, vip2.id), due, "done already")
    await s.followups.followups.complete(ned, done.id)
    # Mia's own follow-up on Ned's customer is hers, and stays hers.
    mias = await s.followups.followups.plan(team.mia, Target(EntityKind.CUSTOMER, vip1.id), due, "manager check-in")
    return {"vip1": vip1.id, "vip2": vip2.id, "plain": plain.id, "trashed": trashed.id, "lead": lead.id,
            "dropped": dropped.id, "on_vip": on_vip.id, "on_plain": on_plain.id, "on_lead": on_lead.id,
            "done": done.id, "mias": mias.id}


async def _owner(team: Team, table: Table, record_id: int) -> int:
    async with team.org.services.uow(write=False) as uow:
        return int((await uow.connection.execute(
            select(table.c.owner_id).where(table.c.id == record_id))).scalar_one())


async def test_handover_all_leaves_nothing_ownerless_and_is_audited(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    ids = await _workload(team, clock)
    ned, nat, mia = team.ned, team.nat, team.mia

    preview = await s.segments.handover.preview(mia, ned.staff_id, nat.staff_id)
    assert preview.counts == OwnedCounts(customers=3, leads=1, followups=3, trashed=1)
    assert (preview.from_staff.name, preview.to_staff.name) == ("Ned", "Nat")

    result = await s.segments.handover.execute(mia, ned.staff_id, nat.staff_id)
    assert sorted(result.moved.customer_ids) == sorted([ids["vip1"], ids["vip2"], ids["plain"]])
    assert result.moved.trashed_customer_ids == (ids["trashed"],)
    assert result.moved.lead_ids == (ids["lead"],)
    assert sorted(result.moved.followup_ids) == sorted([ids["on_vip"], ids["on_plain"], ids["on_lead"]])

    # Ned owns no open work any more; closed work keeps its history; Mia's own follow-up stays hers.
    assert (await s.segments.handover.owned(mia, ned.staff_id))[1] == OwnedCounts()
    assert await _owner(team, t.leads, ids["dropped"]) == ned.staff_id
    assert await _owner(team, t.followups, ids["done"]) == ned.staff_id
    assert await _owner(team, t.followups, ids["mias"]) == mia.staff_id
    assert await _owner(team, t.customers, ids["trashed"]) == nat.staff_id
    assert (await s.customers.customers.get(nat, ids["plain"])).owner_id == nat.staff_id
    with pytest.raises(NotFound):
        await s.customers.customers.get(ned, ids["plain"])

    async with s.uow(write=False) as uow:
        moved = await uow.audit.for_entity("customer", ids["vip1"])
        summary = await uow.audit.for_entity("staff", ned.staff_id)
        lead_audit = await uow.audit.for_entity("lead", ids["lead"])
        followup_audit = await uow.audit.for_entity("followup", ids["on_lead"])
    assert (moved[0].action, moved[0].actor_id, dict(moved[0].before), dict(moved[0].after)) == (
        "handover", mia.staff_id, {"owner_id": ned.staff_id}, {"owner_id": nat.staff_id})
    assert lead_audit[0].action == "handover" and followup_audit[0].after == {"owner_id": nat.staff_id}
    assert summary[0].action == "handover" and summary[0].after == {
        "to_staff_id": nat.staff_id, "customers": 4, "leads": 1, "followups": 3}  # no segment: "all"

    # With nothing left, deactivation goes through; a second "all" moves nothing.
    await s.organisation.staff.set_active(team.org.admin, ned.staff_id, False)
    again = await s.segments.handover.execute(mia, ned.staff_id, nat.staff_id)
    assert again.counts == OwnedCounts()


async def test_handover_of_a_segment_moves_only_its_customers(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    ids = await _workload(team, clock)
    ned, nat, mia = team.ned, team.nat, team.mia
    vip = await s.segments.segments.create(mia, "VIPs", SegmentFilter(tags=frozenset({"vip"})))
    await _customer(team, nat, "Nat's VIP", tags=("vip",))  # in the segment, but not Ned's: stays with Nat

    preview = await s.segments.handover.preview(mia, ned.staff_id, nat.staff_id, vip.id)
    assert preview.counts == OwnedCounts(customers=2, followups=1) and preview.segment == vip
    result = await s.segments.handover.execute(mia, ned.staff_id, nat.staff_id, vip.id)
    assert sorted(result.moved.customer_ids) == sorted([ids["vip1"], ids["vip2"]])
    assert result.moved.followup_ids == (ids["on_vip"],) and result.moved.lead_ids == ()
    assert await _owner(team, t.customers, ids["plain"]) == ned.staff_id
    assert await _owner(team, t.followups, ids["on_plain"]) == ned.staff_id
    assert await _owner(team, t.leads, ids["lead"]) == ned.staff_id
    left = (await s.segments.handover.owned(mia, ned.staff_id))[1]
    assert left == OwnedCounts(customers=1, leads=1, followups=2, trashed=1)
    async with s.uow(write=False) as uow:
        summary = await uow.audit.for_entity("staff", ned.staff_id)
    assert summary[0].after["segment_id"] == vip.id and summary[0].after["customers"] == 2


async def test_handover_refusals(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    ned, nat, mia, sue = team.ned, team.nat, team.mia, team.sue
    await _customer(team, ned, "Acme")
    with pytest.raises(PermissionDenied):
        await s.segments.handover.preview(ned, ned.staff_id, nat.staff_id)  # reps cannot hand over
    with pytest.raises(PermissionDenied):
        await s.segments.handover.execute(nat, ned.staff_id, nat.staff_id)
    with pytest.raises(NotFound):
        await s.segments.handover.execute(mia, ned.staff_id, sue.staff_id)  # Sue is outside Mia's scope
    with pytest.raises(NotFound):
        await s.segments.handover.preview(mia, sue.staff_id, nat.staff_id)
    with pytest.raises(ValidationFailed):
        await s.segments.handover.execute(mia, ned.staff_id, ned.staff_id)
    sues = await s.segments.segments.create(sue, "Sue's", SegmentFilter())
    with pytest.raises(NotFound):
        await s.segments.handover.execute(mia, ned.staff_id, nat.staff_id, sues.id)
    await s.organisation.staff.set_active(team.org.admin, nat.staff_id, False)
    with pytest.raises(ValidationFailed):
        await s.segments.handover.execute(mia, ned.staff_id, nat.staff_id)  # never to someone who left
    assert await _owner(team, t.customers, (await s.customers.customers.list_mine(ned))[0][0].id) == ned.staff_id
    candidates, total = await s.segments.handover.candidates(mia)
    assert total == 3 and {c.staff.name: c.owned.customers for c in candidates} == {"Mia": 0, "Ned": 1, "Nat": 0}
    giver, receivers = await s.segments.handover.receivers(mia, ned.staff_id)
    assert giver.name == "Ned" and [p.name for p in receivers] == ["Mia"]  # Nat is inactive


async def test_nudge_settings_claims_and_lists(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    s = team.org.services
    book = await _book(team, clock)
    admin, mia, ned = team.org.admin, team.mia, team.ned

    assert (await s.followups.nudges.settings(mia)).days == DEFAULT_DAYS
    with pytest.raises(PermissionDenied):
        await s.followups.nudges.settings(ned)
    with pytest.raises(PermissionDenied):
        await s.followups.nudges.set_days(mia, Classification.LOYAL, 10)  # company-wide: admins only
    with pytest.raises(ValidationFailed):
        await s.followups.nudges.set_days(admin, Classification.LOYAL, 400)
    settings = await s.followups.nudges.set_days(admin, Classification.GENERAL, 0)
    assert settings.days[Classification.GENERAL] == 0 and NudgeSettings.from_json(settings.to_json()) == settings
    settings = await s.followups.nudges.set_days(admin, Classification.LOYAL, 35)

    # 40 days without contact: Acme (potential, N=14) and 甲乙 (loyal, N=35); Beta is general (off).
    nudge = await s.followups.nudges.collect(ned, clock.now().date())
    assert nudge.total == 2 and [(n.customer.name, n.days) for n in nudge.customers] == [("Acme", 40), ("甲乙公司", 40)]
    assert book["newco"].id not in {n.customer.id for n in nudge.customers}

    # Due at 09:00 local (Taipei by default; START is 10:00 there); one claim per person per day.
    due = {d.staff_id: d for d in await s.followups.nudges.due()}
    assert ned.staff_id in due and mia.staff_id in due
    assert await s.followups.nudges.claim(due[ned.staff_id])
    assert not await s.followups.nudges.claim(due[ned.staff_id])
    assert ned.staff_id not in {d.staff_id for d in await s.followups.nudges.due()}
    clock.advance(timedelta(days=1))
    assert ned.staff_id in {d.staff_id for d in await s.followups.nudges.due()}

    for classification in Classification:
        await s.followups.nudges.set_days(admin, classification, 0)
    assert await s.followups.nudges.due() == []
