"""Customers, contacts, leads and follow-ups over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import NotFound, ValidationFailed
from crm.customers.customers import CustomerDraft, DuplicateSuspected
from crm.customers.model import Classification, EntityKind, InteractionKind, LeadStatus
from crm.followups.followups import Target
from crm.organisation.permissions import Actor
from tests.support.org import Org, make_org


async def _team(engine: AsyncEngine, clock: ManualClock) -> tuple[Org, Actor, Actor, Actor]:
    org = await make_org(engine, clock)
    manager = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3003, "Sue", "rep", org.south)
    return org, manager, ned, sue


async def test_create_normalizes_and_detects_duplicates(engine: AsyncEngine, clock: ManualClock) -> None:
    org, _, ned, sue = await _team(engine, clock)
    s = org.services.customers.customers
    tsmc = await s.create(ned, CustomerDraft(name="台積電 TSMC", short_name="台積", phones=("02 2345-6789",),
                                             email="buyer@tsmc.example.com", tags=("semis", "#vip")))
    assert tsmc.phones == ("+886223456789",) and tsmc.tags == ("semis", "vip") and tsmc.owner_id == ned.staff_id
    with pytest.raises(ValidationFailed):
        await s.create(ned, CustomerDraft(name="Bad phone", phones=("12",)))
    with pytest.raises(ValidationFailed):
        await s.create(ned, CustomerDraft(name="Bad mail", email="not-an-email"))
    with pytest.raises(ValidationFailed):
        await s.create(ned, CustomerDraft(name="   "))
    # Same phone typed another way: Ned sees the duplicate; Sue (other department) only learns one exists.
    with pytest.raises(DuplicateSuspected) as mine:
        await s.create(ned, CustomerDraft(name="Another", phones=("+886-2-23456789",)))
    assert [c.id for c in mine.value.duplicates.visible] == [tsmc.id]
    with pytest.raises(DuplicateSuspected) as theirs:
        await s.create(sue, CustomerDraft(name="台積電TSMC"))
    assert theirs.value.duplicates.visible == () and theirs.value.duplicates.hidden == 1
    forced = await s.create(sue, CustomerDraft(name="台積電TSMC"), force=True)
    assert forced.owner_id == sue.staff_id


async def test_search_by_name_cjk_phone_suffix_email_tag_within_scope(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    org, manager, ned, sue = await _team(engine, clock)
    s = org.services.customers.customers
    await s.create(ned, CustomerDraft(name="王大明工業", phones=("0912-345-678",), tags=("vip", "重点")))
    await s.create(ned, CustomerDraft(name="Acme Trading", email="sales@acme.example.com"))
    await s.create(sue, CustomerDraft(name="王記食品", phones=("0922-000-111",)))

    async def titles(actor: Actor, query: str) -> list[str]:
        return sorted(h.title for h in (await s.search(actor, query)).hits)

    assert await titles(ned, "王") == ["王大明工業"]  # 1 CJK character; Sue's 王記 is out of Ned's scope
    assert await titles(org.admin, "王") == ["王大明工業", "王記食品"]
    assert await titles(ned, "大明") == ["王大明工業"]  # 2 characters
    assert await titles(ned, "明工業") == ["王大明工業"]
    assert await titles(ned, "5678") == ["王大明工業"]  # last digits
    assert await titles(ned, "+886 912 345 678") == ["王大明工業"]
    assert await titles(ned, "acm") == ["Acme Trading"]
    assert await titles(ned, "ＡＣＭＥ") == ["Acme Trading"]  # full-width
    assert await titles(ned, "sales@acme.example.com") == ["Acme Trading"]
    assert await titles(ned, "#vip") == ["王大明工業"]
    assert await titles(ned, "#重点") == ["王大明工業"]  # a Chinese tag is one term, not characters
    assert await titles(manager, "王") == ["王大明工業"]  # manager of North sees North-East
    assert await titles(sue, "5678") == []


async def test_card_edit_delete_restore_and_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    org, manager, ned, sue = await _team(engine, clock)
    s = org.services
    acme = await s.customers.customers.create(ned, CustomerDraft(name="Acme"))
    with pytest.raises(NotFound):
        await s.customers.customers.card(sue, acme.id)
    updated = await s.customers.customers.update(ned, acme.id, {"classification": Classification.LOYAL,
                                                                "region": "Taipei"})
    assert updated.classification is Classification.LOYAL
    with pytest.raises(NotFound):
        await s.customers.customers.delete(sue, acme.id)  # reps delete only within their scope: their own
    await s.customers.customers.delete(manager, acme.id)
    with pytest.raises(NotFound):
        await s.customers.customers.get(ned, acme.id)
    assert (await s.customers.customers.search(ned, "Acme")).hits == ()
    trash, _ = await s.customers.customers.trash(manager)
    assert [c.name for c in trash] == ["Acme"]
    await s.customers.customers.restore(manager, acme.id)
    card = await s.customers.customers.card(ned, acme.id)
    assert card.customer.region == "Taipei" and card.owner_name == "Ned"


async def test_lead_converts_keeping_history(engine: AsyncEngine, clock: ManualClock) -> None:
    org, _, ned, _ = await _team(engine, clock)
    s = org.services
    lead = await s.customers.leads.create(ned, "陳小姐", phone_list=("0933 111 222",), company_name="大同貿易")
    interaction, followup = await s.followups.followups.log(
        ned, Target(EntityKind.LEAD, lead.id), InteractionKind.CALL, "Interested in samples",
        next_due=clock.now() + timedelta(days=2), next_text="Send samples")
    assert followup is not None
    customer, contact = await s.customers.leads.convert(ned, lead.id)
    assert (customer.name, contact.name) == ("大同貿易", "陳小姐")
    card = await s.customers.customers.card(ned, customer.id)
    assert card.last_interaction is not None and card.last_interaction.id == interaction.id
    assert [f.id for f in card.open_followups] == [followup.id]
    assert (await s.customers.leads.get(ned, lead.id)).status is LeadStatus.CONVERTED
    hits = (await s.customers.customers.search(ned, "陳小姐")).hits
    assert [(h.entity, h.title) for h in hits] == [(EntityKind.CONTACT, "陳小姐")]


async def test_agenda_and_reminder_claims_are_exclusive(engine: AsyncEngine, clock: ManualClock) -> None:
    org, _, ned, _ = await _team(engine, clock)
    s = org.services
    acme = await s.customers.customers.create(ned, CustomerDraft(name="Acme"))
    target = Target(EntityKind.CUSTOMER, acme.id)
    soon = await s.followups.followups.plan(ned, target, clock.now() + timedelta(minutes=5), "call back")
    later = await s.followups.followups.plan(ned, target, clock.now() + timedelta(days=1), "visit")
    overdue = await s.followups.followups.plan(ned, target, clock.now() - timedelta(days=1), "send quote")
    agenda = await s.followups.followups.agenda(ned)
    assert [f.id for f in agenda.overdue] == [overdue.id] and [f.id for f in agenda.due] == [soon.id]
    clock.advance(timedelta(minutes=10))
    async with s.uow() as uow:
        first = await uow.customers.followups.claim_due(clock.now(), "w1", clock.now() + timedelta(minutes=5), 10)
        await uow.commit()
    async with s.uow() as uow:
        second = await uow.customers.followups.claim_due(clock.now(), "w2", clock.now() + timedelta(minutes=5), 10)
        await uow.commit()
    assert sorted(f.id for f in first) == sorted([overdue.id, soon.id]) and second == []
    async with s.uow() as uow:
        assert await uow.customers.followups.mark_reminded(soon.id, "w1", clock.now(), False)
        assert not await uow.customers.followups.mark_reminded(soon.id, "w2", clock.now(), False)
        await uow.commit()
    await s.followups.followups.complete(ned, later.id)
    assert [f.id for f in (await s.followups.followups.agenda(ned, (clock.now() + timedelta(days=1)).date())).due] == []


async def test_whole_names_are_found_exactly_in_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    org, _, ned, sue = await _team(engine, clock)
    s = org.services
    acme = await s.customers.customers.create(ned, CustomerDraft(name="Acme Trading Co.", short_name="Acme"))
    await s.customers.customers.create(ned, CustomerDraft(name="Acme Trading Co. Asia"))
    wang = await s.customers.contacts.add(ned, acme.id, "王大明")
    lead = await s.customers.leads.create(ned, "Lin", company_name="台中化工物流有限公司")
    await s.customers.customers.create(sue, CustomerDraft(name="王記食品"))

    typed = ["ＡＣＭＥ   trading co.", "acme", "王大明", "台中化工物流有限公司", "王記食品", "Acme Trading"]
    found = await s.customers.customers.named(ned, typed)
    assert {name: [(h.entity, h.id) for h in hits] for name, hits in found.items()} == {
        "ＡＣＭＥ   trading co.": [(EntityKind.CUSTOMER, acme.id)],  # width, case and spacing aside
        "acme": [(EntityKind.CUSTOMER, acme.id)],  # the short name
        "王大明": [(EntityKind.CONTACT, wang.id)],
        "台中化工物流有限公司": [(EntityKind.LEAD, lead.id)],  # a lead's company
    }  # Sue's 王記食品 is outside Ned's scope; "Acme Trading" is nobody's whole name
    assert "王記食品" in await s.customers.customers.named(org.admin, ["王記食品"])


async def test_one_message_log_prefers_the_longest_whole_name(engine: AsyncEngine, clock: ManualClock) -> None:
    from crm.followups.log_matching import TargetMatch, match_target
    from crm.followups.log_parser import parse_log

    org, _, ned, sue = await _team(engine, clock)
    s = org.services
    await s.customers.customers.create(ned, CustomerDraft(name="Acme"))
    trading = await s.customers.customers.create(ned, CustomerDraft(name="Acme Trading Co."))
    await s.customers.customers.create(sue, CustomerDraft(name="Globex Foods"))

    async def who(text: str) -> TargetMatch:
        parsed = parse_log(text, clock.now())
        return await match_target(s.customers.customers, ned, list(parsed.splits), parsed.new_name)

    match = await who("Acme Trading Co. called about the price next: tomorrow 3pm send the quote")
    assert match.single is not None and match.single.id == trading.id
    assert match.split is not None and match.split.text.startswith("called about the price")
    # Nobody is called exactly "acme trading": the fuzzy search still finds the one customer it can mean.
    match = await who("Acme Tradin called")
    assert match.single is not None and match.single.id == trading.id
    # Sue's customer is never matched for Ned, not even by its exact name: he is offered a new lead.
    match = await who("Globex Foods visited")
    assert match.hits == () and match.split is not None and match.split.name.startswith("Globex")


async def test_whole_name_terms_are_added_to_records_that_existed_before(tmp_path: object,
                                                                         clock: ManualClock) -> None:
    """Migration 0005 adds the whole-name terms to an existing database, and its downgrade removes them."""
    from sqlalchemy import text

    from storage.engine import create_engine
    from storage.migrate import downgrade, upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine)
        org = await make_org(engine, clock)
        acme = await org.services.customers.customers.create(org.admin, CustomerDraft(name="Acme  Trading",
                                                                                      short_name="AT"))
        query = text("select term from search_terms where entity = 'customer' and entity_id = :id "
                     "and term like '=%' order by term")

        async def whole_terms() -> list[str]:
            async with engine.connect() as conn:
                return list((await conn.execute(query, {"id": acme.id})).scalars())

        assert await whole_terms() == ["=acme trading", "=at"]
        await downgrade(engine, "0004")
        assert await whole_terms() == []
        await upgrade(engine)
        assert await whole_terms() == ["=acme trading", "=at"]
    finally:
        await engine.dispose()

