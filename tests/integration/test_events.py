"""Domain events through a real unit of work (SQLite, and PostgreSQL when configured): the two phases around
COMMIT, and the services that record events with the subscribers that hear them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.events import Event, MessageBus
from crm.customers.customers import CustomerDraft, DuplicateSuspected
from crm.customers.events import CustomerCreated, InteractionLogged
from crm.customers.model import EntityKind, InteractionKind
from crm.followups.events import FollowUpDone
from crm.followups.followups import Target
from crm.messaging.events import SmsOptedIn, SmsOptedOut
from crm.messaging.subscription_model import ConsentChannel, ConsentStatus, PartyLink
from crm.segments.events import CustomersHandedOver
from crm.unit_of_work import UnitOfWork
from storage.uow import SqlUnitOfWorkFactory
from tests.support.org import Org, make_org

OUR_NUMBER = "+15550001111"


@dataclass(frozen=True)
class Noted(Event):
    key: str


@dataclass(frozen=True)
class Echoed(Event):
    key: str


async def _value(uow: SqlUnitOfWorkFactory, key: str) -> str | None:
    async with uow(write=False) as reading:
        return await reading.kv.get(key)


async def test_in_transaction_handlers_write_in_the_same_commit_and_their_events_reach_after_commit(
        engine: AsyncEngine, clock: ManualClock) -> None:
    bus = MessageBus()
    factory = SqlUnitOfWorkFactory(engine, clock, bus=bus)
    after: list[Event] = []

    async def echo(event: Noted, uow: UnitOfWork) -> None:
        await uow.kv.put(f"echo:{event.key}", "yes")
        uow.record(Echoed(event.key, occurred_at=event.occurred_at))

    async def heard(event: Event) -> None:
        after.append(event)

    bus.in_transaction(Noted, echo)
    bus.after_commit(Event, heard)
    async with factory() as uow:
        await uow.kv.put("note", "one")
        uow.record(Noted("one", occurred_at=clock.now()))
        assert after == []  # recording does nothing yet
        await uow.commit()
        assert after == [Noted("one", occurred_at=clock.now()), Echoed("one", occurred_at=clock.now())]
        # The same unit of work may commit again: the events of the first commit are not heard twice.
        await uow.kv.put("note", "two")
        await uow.commit()
    assert len(after) == 2
    assert await _value(factory, "note") == "two" and await _value(factory, "echo:one") == "yes"


async def test_an_in_transaction_failure_rolls_everything_back_and_nothing_runs_after_commit(
        engine: AsyncEngine, clock: ManualClock) -> None:
    bus = MessageBus()
    factory = SqlUnitOfWorkFactory(engine, clock, bus=bus)
    after: list[Event] = []

    async def write_then_refuse(event: Noted, uow: UnitOfWork) -> None:
        await uow.kv.put("handler", "wrote")
        raise ValueError("refused")

    async def heard(event: Event) -> None:
        after.append(event)

    bus.in_transaction(Noted, write_then_refuse)
    bus.after_commit(Noted, heard)
    async with factory() as uow:
        await uow.kv.put("service", "wrote")
        uow.record(Noted("x", occurred_at=clock.now()))
        with pytest.raises(ValueError, match="refused"):
            await uow.commit()
        # A caller that swallows the error and commits anyway commits nothing: the transaction is gone.
        await uow.commit()
    assert await _value(factory, "service") is None and await _value(factory, "handler") is None
    assert after == []

    # Recorded, then the service fails before committing: nobody hears of it.
    with pytest.raises(LookupError):
        async with factory() as uow:
            uow.record(Noted("y", occurred_at=clock.now()))
            raise LookupError("not found")
    async with factory() as uow:  # a fresh unit of work starts with nothing recorded
        await uow.commit()
    assert after == []


async def test_an_after_commit_failure_is_logged_and_the_commit_stands(
        engine: AsyncEngine, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    bus = MessageBus()
    factory = SqlUnitOfWorkFactory(engine, clock, bus=bus)

    async def broken(event: Noted) -> None:
        raise ConnectionError("notification service down")

    bus.after_commit(Noted, broken)
    with caplog.at_level(logging.ERROR, logger="crm.core.events"):
        async with factory() as uow:
            await uow.kv.put("kept", "yes")
            uow.record(Noted("z", occurred_at=clock.now()))
            await uow.commit()  # does not raise
    assert await _value(factory, "kept") == "yes"
    assert any("broken" in r.getMessage() and r.exc_info for r in caplog.records)


def _collect(org: Org) -> list[Event]:
    """Every event the services' unit of work commits, as an after-commit subscriber sees it."""
    factory = org.services.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    heard: list[Event] = []

    async def collect(event: Event) -> None:
        heard.append(event)

    factory.bus.after_commit(Event, collect)
    return heard


async def test_logging_an_interaction_is_heard_by_the_customers_module_which_keeps_last_contact(
        engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    services, admin = org.services, org.admin
    heard = _collect(org)
    acme = await services.customers.customers.create(admin, CustomerDraft(name="Acme", phones=("0912 000 001",)),
                                                     force=True)
    assert heard == [CustomerCreated(occurred_at=clock.now(), customer_id=acme.id, owner_id=admin.staff_id,
                                     created_by=admin.staff_id, phones=("+886912000001",))]
    with pytest.raises(DuplicateSuspected):  # refused: nothing happened, nothing heard
        await services.customers.customers.create(admin, CustomerDraft(name="Acme", phones=("0912 000 001",)))
    assert len(heard) == 1

    clock.advance(timedelta(hours=3))
    visited = clock.now() - timedelta(hours=1)
    interaction, followup = await services.followups.followups.log(
        admin, Target(EntityKind.CUSTOMER, acme.id), InteractionKind.VISIT, "Showed the new catalogue",
        occurred_at=visited, next_due=clock.now() + timedelta(days=2), next_text="Send the quote")
    assert followup is not None
    assert heard[1:] == [InteractionLogged(
        occurred_at=clock.now(), interaction_id=interaction.id, author_id=admin.staff_id, kind=InteractionKind.VISIT,
        contacted_at=visited, customer_id=acme.id, lead_id=None, contact_id=None)]
    assert (await services.customers.customers.get(admin, acme.id)).last_contact_at == visited

    lead = await services.customers.leads.create(admin, "Walk-in at the fair")
    await services.followups.followups.log(admin, Target(EntityKind.LEAD, lead.id), InteractionKind.CALL, "Called back")
    assert (await services.customers.leads.get(admin, lead.id)).last_contact_at == clock.now()

    await services.followups.followups.complete(admin, followup.id)
    await services.followups.followups.complete(admin, followup.id)  # already done: not done twice
    assert [e for e in heard if isinstance(e, FollowUpDone)] == [FollowUpDone(
        occurred_at=clock.now(), followup_id=followup.id, owner_id=admin.staff_id, done_by=admin.staff_id,
        customer_id=acme.id, lead_id=None, contact_id=None)]


async def test_handover_and_sms_consent_are_heard(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    services = org.services
    ned = await org.join(org.admin, 3002, "Ned", "rep", org.north)
    nat = await org.join(org.admin, 3003, "Nat", "rep", org.north)
    heard = _collect(org)
    acme = await services.customers.customers.create(ned, CustomerDraft(name="Acme", phones=("0912 000 002",)),
                                                     force=True)

    result = await services.segments.handover.execute(org.admin, ned.staff_id, nat.staff_id)
    handed = [e for e in heard if isinstance(e, CustomersHandedOver)]
    assert handed == [CustomersHandedOver(occurred_at=clock.now(), from_staff_id=ned.staff_id,
                                          to_staff_id=nat.staff_id, by_staff_id=org.admin.staff_id,
                                          segment_id=None, moved=result.moved)]
    assert handed[0].moved.customer_ids == (acme.id,)

    await services.messaging.subscriptions.handle_inbound("+886912000002", OUR_NUMBER, "JOIN promotions")
    await services.messaging.subscriptions.handle_inbound("+886912000002", OUR_NUMBER, "STOP")
    await services.messaging.subscriptions.record_consent(org.admin, Target(EntityKind.CUSTOMER, acme.id),
                                                          "+886912000002",
                                                ["orders"], ConsentStatus.OPTED_IN, note="asked at the counter")
    consent = [e for e in heard if isinstance(e, SmsOptedIn | SmsOptedOut)]
    party = PartyLink(customer_id=acme.id)
    assert consent == [
        SmsOptedIn(occurred_at=clock.now(), phone="+886912000002", topics=("promotions",),
                   channel=ConsentChannel.SMS, party=party, recorded_by=None),
        SmsOptedOut(occurred_at=clock.now(), phone="+886912000002", topics=("promotions", "orders", "service"),
                    channel=ConsentChannel.SMS, party=party, recorded_by=None),
        SmsOptedIn(occurred_at=clock.now(), phone="+886912000002", topics=("orders",),
                   channel=ConsentChannel.IN_PERSON, party=party, recorded_by=org.admin.staff_id),
    ]
