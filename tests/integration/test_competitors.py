"""The competitor archive over a real database: names unique as customer names are, who may do what, intel read
within the sales scope, soft delete and restore with audit, links and the lost-opportunity question."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.competitors.model import IntelDraft, IntelKind, LossAnswer
from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.sales.opportunity_model import OpportunityFields
from storage import tables as t
from tests.support.org import make_org

TODAY = date(2026, 11, 26)


async def test_names_permissions_scope_and_trash(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, 3004, "Sue", "rep", org.south)
    fin = await org.join(org.admin, 3005, "Fay", "finance", org.south)
    service = org.services.competitors.competitors

    acme = await service.create(ned, "  Acme\u200b  Corp ")  # a rep names a new one from the field
    assert acme.name == "Acme Corp"
    with pytest.raises(Conflict):
        await service.create(mia, "ＡＣＭＥ corp")  # the same name, case and width aside
    with pytest.raises(ValidationFailed):
        await service.create(mia, "\u200b ")
    with pytest.raises(PermissionDenied):
        await service.update(ned, acme.id, "strengths", "fast delivery")  # facts are the managers'
    with pytest.raises(PermissionDenied):
        await service.add_intel(fin, IntelDraft(competitor_id=acme.id, text="x", seen_on=TODAY))
    assert (await service.get(fin, acme.id)).name == "Acme Corp"  # sales.view reads the archive
    await service.update(mia, acme.id, "strengths", "fast delivery")

    with pytest.raises(ValidationFailed):
        await service.add_intel(ned, IntelDraft(competitor_id=acme.id, text="x", seen_on=TODAY + timedelta(days=1)))
    customer = await org.services.customers.customers.create(ned, CustomerDraft(name="Globex"), force=True)
    with pytest.raises(NotFound):  # Sue may not see Ned's customer
        await service.add_intel(sue, IntelDraft(competitor_id=acme.id, text="x", seen_on=TODAY,
                                                customer_id=customer.id))
    neds = await service.add_intel(ned, IntelDraft(competitor_id=acme.id, text="20% off", seen_on=TODAY,
                                                   kind=IntelKind.PROMOTION, customer_id=customer.id,
                                                   price=Decimal("99.50")))
    assert neds.currency == "TWD"  # the default currency
    await service.add_intel(sue, IntelDraft(competitor_id=acme.id, text="south office opened", seen_on=TODAY))

    def texts(card: object) -> list[str]:
        return [item.intel.text for item in card.intel]  # type: ignore[attr-defined]

    assert texts(await service.card(ned, acme.id)) == ["20% off"]  # own only
    assert texts(await service.card(mia, acme.id)) == ["20% off"]  # North's tree: not the South
    assert texts(await service.card(org.admin, acme.id)) == ["south office opened", "20% off"]
    with pytest.raises(NotFound):
        await service.intel(sue, neds.id)

    await service.delete(mia, acme.id)
    with pytest.raises(NotFound):
        await service.card(ned, acme.id)
    with pytest.raises(NotFound):  # no intel on a deleted competitor
        await service.add_intel(ned, IntelDraft(competitor_id=acme.id, text="x", seen_on=TODAY))
    again = await service.create(ned, "acme corp")  # the name is free while it is in the trash
    with pytest.raises(Conflict):
        await service.restore(mia, acme.id)
    await service.delete(mia, again.id)
    assert (await service.restore(mia, acme.id)).deleted_at is None
    async with engine.connect() as conn:
        actions = [r.action for r in await conn.execute(
            select(t.audit_log).where(t.audit_log.c.entity == "competitor", t.audit_log.c.entity_id == acme.id)
            .order_by(t.audit_log.c.id))]
    assert actions == ["create", "update", "delete", "restore"]


async def test_links_and_the_lost_question(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north_east)
    nat = await org.join(org.admin, 3003, "Nat", "rep", org.north)
    mia = await org.join(org.admin, 3001, "Mia", "manager", org.north)
    service, opps = org.services.competitors.competitors, org.services.sales.opportunities
    acme = await service.create(mia, "Acme")
    customer = await org.services.customers.customers.create(ned, CustomerDraft(name="Initech"), force=True)
    deal = await opps.create(ned, OpportunityFields(customer_id=customer.id, title="Deal", amount=Decimal(500)))
    stages = {s.key: s.id for s in await opps.stages(ned)}

    with pytest.raises(NotFound):
        await service.toggle(nat, deal.id, acme.id)  # not in Nat's scope
    assert [c.name for c in (await service.toggle(mia, deal.id, acme.id)).linked] == ["Acme"]  # sales.edit
    assert (await service.toggle(ned, deal.id, acme.id)).linked == ()
    await service.toggle(ned, deal.id, acme.id)

    await opps.move(ned, deal.id, stages["lost"], "price")
    [question] = await service.unasked()
    assert question.owner_id == ned.staff_id and [c.name for c in question.linked] == ["Acme"]
    with pytest.raises(NotFound):
        await service.answer(nat, deal.id, LossAnswer.NONE)
    with pytest.raises(ValidationFailed):
        await service.answer(ned, deal.id, LossAnswer.COMPETITOR)  # which one?
    await service.answer(ned, deal.id, LossAnswer.COMPETITOR, acme.id)
    with pytest.raises(Conflict):
        await service.answer(ned, deal.id, LossAnswer.NONE)

    # Reopened and lost again: asked afresh.
    await opps.move(ned, deal.id, stages["proposal"])
    await opps.move(ned, deal.id, stages["lost"], "timing")
    [question] = await service.unasked()
    assert question.answer is None
    await service.asked(deal.id)
    assert await service.unasked() == []
