"""Migration 0031 on SQLite and PostgreSQL: the opportunities' free-text competitors become links where the
archive has the name (folded: case, width and spacing aside), the names it does not know stay, read-only, on
the opportunity, each link is audited; a deleted competitor is not linked; going back puts the text back."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.opportunity_model import OpportunityFields
from storage import tables as t
from storage.migrate import downgrade, upgrade
from tests.support.org import make_org

BEFORE = "0031-1"  # the revision before 0031, whatever number it ends up with


async def test_free_text_competitors_become_links_and_the_rest_is_kept(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    competitors, opportunities = org.services.competitors.competitors, org.services.sales.opportunities
    tatung = await competitors.create(ned, "大同 Tatung")
    sampo = await competitors.create(ned, "Sampo")
    gone = await competitors.create(ned, "Gone Ltd")
    await competitors.delete(org.admin, gone.id)
    customer = await org.services.customers.customers.create(ned, CustomerDraft(name="Acme"), force=True)
    typed = {"both": "ＳＡＭＰＯ、大同　tatung；Foxconn / Gone Ltd", "none": "Foxconn, Foxconn",
             "linked": "sampo", "empty": ""}
    ids = {}
    for key in typed:
        opportunity = await opportunities.create(ned, OpportunityFields(customer_id=customer.id, title=key,
                                                                        amount=Decimal(1), currency="TWD"))
        ids[key] = opportunity.id
    await competitors.toggle(ned, ids["linked"], sampo.id)  # already linked before the migration

    try:
        await downgrade(engine, BEFORE)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log WHERE entity = 'opportunity_competitor'"))
            for key, value in typed.items():
                await conn.execute(text("UPDATE opportunities SET competitors = :v WHERE id = :id"),
                                   {"v": value or None, "id": ids[key]})
    finally:
        await upgrade(engine)

    links = {key: sorted(c.name for c in (await competitors.links(ned, ids[key])).linked) for key in ids}
    assert links == {"both": ["Sampo", "大同 Tatung"], "none": [], "linked": ["Sampo"], "empty": []}
    kept = {key: (await opportunities.get(ned, ids[key])).competitors_typed for key in ids}
    assert kept == {"both": "Foxconn, Gone Ltd", "none": "Foxconn", "linked": None, "empty": None}
    async with engine.connect() as conn:
        a = t.audit_log.c
        rows = (await conn.execute(select(a.entity_id, a.actor_id, a.action, a.after)
                                   .where(a.entity == "opportunity_competitor").order_by(a.id))).all()
    assert sorted((r.entity_id, r.after["competitor_id"]) for r in rows) == sorted(
        [(ids["both"], sampo.id), (ids["both"], tatung.id)])
    assert all(r.actor_id is None and r.action == "link" for r in rows)

    # back again: the names as text (linked first, then the kept ones), then forward once more
    try:
        await downgrade(engine, BEFORE)
        async with engine.connect() as conn:
            back: dict[int, str | None] = {row[0]: row[1] for row in await conn.execute(
                text("SELECT id, competitors FROM opportunities"))}
        assert back[ids["both"]] == "Sampo, 大同 Tatung, Foxconn, Gone Ltd" and back[ids["empty"]] is None
    finally:
        await upgrade(engine)
    assert (await opportunities.get(ned, ids["both"])).competitors_typed == "Foxconn, Gone Ltd"
