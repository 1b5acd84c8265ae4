"""Names over a real database: hidden characters never make a second record, a person is found whatever order
their name is typed in, and migration 0007 fixes names stored before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft, DuplicateSuspected
from crm.customers.model import CustomerKind, EntityKind
from crm.customers.search_terms import record_terms
from crm.followups.log_matching import match_target
from crm.followups.log_parser import parse_log
from crm.organisation.identity import TelegramIdentity
from tests.support.org import make_org


async def test_hidden_characters_are_not_stored_and_do_not_dodge_the_duplicate_check(engine: AsyncEngine,
                                                                                      clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services.customers
    mary = await s.customers.create(org.admin, CustomerDraft(name="Ma\u200bry", kind=CustomerKind.PERSON))
    assert mary.name == "Mary"
    assert [h.id for h in (await s.customers.search(org.admin, "Mary")).hits] == [mary.id]
    assert [h.id for h in (await s.customers.search(org.admin, "M\u200ba\u2060ry")).hits] == [mary.id]
    victim = await s.customers.create(org.admin, CustomerDraft(name="Victim Co"))
    with pytest.raises(DuplicateSuspected) as suspected:
        await s.customers.create(org.admin, CustomerDraft(name="Vic\u200btim Co"))
    assert [c.id for c in suspected.value.duplicates.visible] == [victim.id]
    with pytest.raises(DuplicateSuspected):
        await s.customers.create(org.admin, CustomerDraft(name="\u202aVictim\u202c  Co\ufeff"))
    lead = await s.leads.create(org.admin, "Jo\u200dhn \u2067Doe\u2069")
    contact = await s.contacts.add(org.admin, victim.id, "A\u00adnn")
    assert (lead.name, contact.name) == ("John Doe", "Ann")
    assert {h.id for h in (await s.customers.search(org.admin, "John Doe")).hits} == {lead.id}


async def test_a_person_is_found_whatever_order_the_name_is_typed_in(engine: AsyncEngine,
                                                                      clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    s = org.services.customers
    wang = await s.customers.create(org.admin, CustomerDraft(name="王小明", kind=CustomerKind.PERSON))
    ming = await s.leads.create(org.admin, "Wang Ming")
    for typed in ("王小明", "小明王", "王 小明", "小明 王"):
        assert [h.id for h in (await s.customers.search(org.admin, typed)).hits] == [wang.id], typed
    assert [h.id for h in (await s.customers.search(org.admin, "Ming Wang")).hits] == [ming.id]
    named = await s.customers.named(org.admin, ["小明王", "小明 王", "王 小明", "Ming Wang"])
    assert {k: [h.id for h in v] for k, v in named.items()} == {
        "小明王": [wang.id], "小明 王": [wang.id], "王 小明": [wang.id], "Ming Wang": [ming.id]}

    async def who(message: str) -> Any:
        parsed = parse_log(message, clock.now())
        return await match_target(s.customers, org.admin, list(parsed.splits), parsed.new_name)

    for message in ("王小明 拜訪，談報價", "小明王拜訪", "小明 王 電話聯絡", "王 小明 來電"):
        match = await who(message)
        assert match.single is not None and match.single.id == wang.id, message
    match = await who("Ming Wang called")
    assert match.single is not None and match.single.id == ming.id


async def test_new_staff_names_are_family_first(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    roles = {r.name: r.id for r in await org.services.organisation.roles.assignable(org.admin)}
    invite = await org.services.organisation.invites.create(org.admin, roles["rep"], org.north)
    who = TelegramIdentity(4001, "美玲", "林")
    staff = await org.services.organisation.invites.accept(invite.code, who)
    assert staff.name == "林美玲" and TelegramIdentity(4002, "Ada", "Lovelace").display_name == "Ada Lovelace"


async def test_migration_0007_puts_family_names_first_and_cleans_names(tmp_path: object,
                                                                        clock: ManualClock) -> None:
    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine, "0006")
        org = await make_org(engine, clock)
        s = org.services.customers
        person = await s.customers.create(org.admin, CustomerDraft(name="王小明", kind=CustomerKind.PERSON,
                                                                   phones=("0912-345-678",)))
        company = await s.customers.create(org.admin, CustomerDraft(name="台北 分店"), force=True)
        mary = await s.customers.create(org.admin, CustomerDraft(name="Mary", kind=CustomerKind.PERSON))
        contact = await s.contacts.add(org.admin, company.id, "林美玲")
        lead = await s.leads.create(org.admin, "王小明", company_name="大同 公司")
        # As an older version stored them: given name first, and with the characters typed.
        old = [("customers", person.id, "小明 王"), ("customers", mary.id, "Ma\u200bry"),
               ("contacts", contact.id, "美玲 林"), ("leads", lead.id, "小明 王"),
               ("staff", org.admin.staff_id, "美玲 林")]
        entity = {"customers": "customer", "contacts": "contact", "leads": "lead"}
        async with engine.begin() as conn:
            for table, record_id, name in old:
                await conn.execute(text(f"update {table} set name = :name where id = :id"),
                                   {"name": name, "id": record_id})
                if table in entity:
                    await conn.execute(text("delete from search_terms where entity = :e and entity_id = :id"),
                                       {"e": entity[table], "id": record_id})
                    for term in record_terms(names=(name,)):
                        await conn.execute(text("insert into search_terms (term, entity, entity_id) "
                                                "values (:t, :e, :id)"),
                                           {"t": term, "e": entity[table], "id": record_id})

        await upgrade(engine)

        async with engine.connect() as conn:
            names = {(table, record_id): (await conn.execute(text(f"select name from {table} where id = :id"),
                                                             {"id": record_id})).scalar_one()
                     for table, record_id in [(t, i) for t, i, _ in old] + [("customers", company.id)]}
            company_name = (await conn.execute(text("select company_name from leads where id = :id"),
                                               {"id": lead.id})).scalar_one()
        assert names == {("customers", person.id): "王小明", ("customers", mary.id): "Mary",
                         ("contacts", contact.id): "林美玲", ("leads", lead.id): "王小明",
                         ("staff", org.admin.staff_id): "林美玲", ("customers", company.id): "台北 分店"}
        assert company_name == "大同 公司"
        found = await s.customers.search(org.admin, "王小明")
        assert {(h.entity, h.id) for h in found.hits} == {(EntityKind.CUSTOMER, person.id), (EntityKind.LEAD, lead.id)}
        assert [h.id for h in (await s.customers.search(org.admin, "Mary")).hits] == [mary.id]
        assert [h.id for h in (await s.customers.search(org.admin, "345678")).hits] == [person.id]  # phone kept
        assert [h.id for h in (await s.customers.search(org.admin, "大同")).hits] == [lead.id]
        assert "林美玲" in (await s.customers.named(org.admin, ["林美玲"]))
    finally:
        await engine.dispose()
