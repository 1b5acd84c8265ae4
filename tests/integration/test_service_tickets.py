"""Service tickets end to end over a real database: a customer texts SUPPORT to the SMS number (signed by the local
Twilio-compatible server) → the ticket number comes back → a manager assigns it → the customer's update is sent
through the outbox to the Twilio server → the SLA nudge and the breach with a ManualClock → close with the rating
texted back. Also: an opted-out number gets its ticket number and nothing else; notes never leave; scope."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.messaging.outbox import OutboxStatus
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.service.model import EntryKind, Severity, Status
from scheduler.service.sla import send_sla_pushes
from storage import tables as t
from tests.integration.test_http_endpoints import OUR_NUMBER, PUBLIC, Endpoint, endpoint
from tests.support.bot_harness import ADMIN_ID, BotHarness

PHONE = "+886912345678"
OTHER = "+886987654321"
CONTACT = "+886911000111"
MIA, NED, SUE = 3001, 3002, 3004


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, department_id: int | None = None,
                language: str = "en") -> Actor:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], department_id or admin.department_id)
    await bot.user(tg_id, name, language_code=language).send(f"/start {invite.code}")
    actor: Actor | None = await bot.services.organisation.identity.actor_for(
        TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return actor


async def _text_in(ep: Endpoint, phone: str, body: str) -> str | None:
    request = ep.twilio.inbound_message_request(f"{PUBLIC}/twilio/sms", from_=phone, to=OUR_NUMBER, body=body)
    answer = await ep.http.post("/twilio/sms", data=request.params, headers=request.headers)
    assert answer.status_code == 200
    message = ET.fromstring(answer.content).find("Message")
    return message.text if message is not None else None


async def _dispatch(ep: Endpoint) -> None:
    for _ in range(5):
        await ep.bot.services.messaging.outbox_worker.run_once()


def _texts_to(ep: Endpoint, phone: str) -> list[str]:
    return [r.param("Body") or "" for r in ep.twilio.created if r.param("To") == phone]


async def test_sms_ticket_assignment_update_sla_and_rating(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        bot, tickets = ep.bot, ep.bot.services.service.tickets
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia = await _join(bot, MIA, "Mia", "manager")
        ned = await _join(bot, NED, "Ned", "rep")
        acme = await bot.services.customers.customers.create(ned, CustomerDraft(
            name="Acme", phones=(PHONE,), email="ops@acme.example"), force=True)

        reply = await _text_in(ep, PHONE, "SUPPORT the printer jams on every page")
        assert reply == "We received your service request. Your ticket number is T2026-0001."
        [ticket] = await tickets.listing(ned)
        assert ticket.number == "T2026-0001" and ticket.customer_id == acme.id and ticket.owner_id == ned.staff_id
        assert ticket.subject == "the printer jams on every page" and ticket.status is Status.NEW
        # 24 working hours from Thursday 10:00 in Taipei, 09:00-18:00 Monday to Friday: Monday 16:00.
        assert ticket.due_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        await _dispatch(ep)
        assert "New ticket T2026-0001" in (bot.api.last_message(MIA).text or "")  # the manager in scope is told

        with pytest.raises(PermissionDenied):
            await tickets.assign(ned, ticket.id, ned.staff_id)  # a rep cannot assign
        told = await tickets.assign(mia, ticket.id, ned.staff_id)
        assert told.card.ticket.status is Status.ASSIGNED and told.card.assignee_name == "Ned"

        await tickets.add_entry(ned, ticket.id, EntryKind.NOTE, "the fuser looks worn")
        await tickets.add_entry(ned, ticket.id, EntryKind.UPDATE, "A technician comes tomorrow at 3 pm")
        await _dispatch(ep)
        assert _texts_to(ep, PHONE) == ["Ticket T2026-0001: A technician comes tomorrow at 3 pm"]  # no note
        async with engine.connect() as conn:
            o = t.outbox.c
            rows = (await conn.execute(select(o.channel, o.recipient, o.topic, o.body)
                                       .where(o.channel.in_(("sms", "email"))))).all()
        assert {(r.channel, r.recipient, r.topic) for r in rows} == {("sms", PHONE, "service"),
                                                                     ("email", "ops@acme.example", "service")}
        assert not any("fuser" in r.body for r in rows)

        # The SLA: nudge the assignee at 80% of it (Monday 11:12), the managers once it is breached; once each.
        catalogs = bot.runtime.catalogs
        clock.set(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
        assert await send_sla_pushes(bot.services, bot.app.bot, catalogs, "Asia/Taipei") == 0
        clock.set(datetime(2026, 11, 30, 3, 13, tzinfo=UTC))
        assert await send_sla_pushes(bot.services, bot.app.bot, catalogs, "Asia/Taipei") == 1
        assert "T2026-0001 is due at 2026-11-30 16:00" in (bot.api.last_message(NED).text or "")
        assert await send_sla_pushes(bot.services, bot.app.bot, catalogs, "Asia/Taipei") == 0
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        assert await send_sla_pushes(bot.services, bot.app.bot, catalogs, "Asia/Taipei") >= 1
        assert "T2026-0001 is overdue" in (bot.api.last_message(MIA).text or "")
        assert await send_sla_pushes(bot.services, bot.app.bot, catalogs, "Asia/Taipei") == 0
        assert (await tickets.listing(mia, team=True))[0].breached(clock.now())

        with pytest.raises(Conflict):
            await tickets.move(ned, ticket.id, Status.NEW)
        await tickets.move(ned, ticket.id, Status.IN_PROGRESS)
        await tickets.move(ned, ticket.id, Status.RESOLVED)
        with pytest.raises(PermissionDenied):
            await tickets.move(ned, ticket.id, Status.CLOSED)  # closing needs tickets.close
        closed = await tickets.move(mia, ticket.id, Status.CLOSED)
        assert closed.ticket.status is Status.CLOSED and closed.ticket.satisfaction_asked_at is not None
        await _dispatch(ep)
        texts = _texts_to(ep, PHONE)  # sent concurrently: in either order
        assert sorted(texts[1:]) == ["Ticket T2026-0001 is closed. How satisfied are you? Reply 1 (poor) to 5 "
                                     "(excellent).", "Ticket T2026-0001 is resolved. Reply if the problem persists."]

        assert await _text_in(ep, PHONE, "5") == "Thank you for rating ticket T2026-0001."
        assert (await tickets.card(mia, ticket.id)).ticket.satisfaction == 5
        assert await _text_in(ep, PHONE, "4") is None  # answered already: nobody's text
        report = await tickets.report(mia, 30)
        assert (report.total.opened, report.total.closed, report.total.breaches, report.total.rated) == (1, 1, 1, 1)
        assert report.total.satisfaction == 5.0 and report.total.first_response_hours is not None
        assert [(row.label, row.opened) for row in report.by_assignee] == [("Ned", 1)]
        assert (await tickets.report(mia, 1)).total.opened == 0  # opened more than a day ago
        reopened = await tickets.move(mia, ticket.id, Status.IN_PROGRESS)
        assert reopened.ticket.status is Status.IN_PROGRESS and reopened.ticket.due_at > clock.now()

        contact = await bot.services.customers.contacts.add(ned, acme.id, "Amy", phone_list=(CONTACT,))
        assert await _text_in(ep, CONTACT, "support the scanner is offline") == (
            "We received your service request. Your ticket number is T2026-0002.")
        from_contact = next(x for x in await tickets.listing(ned) if x.number == "T2026-0002")
        assert (from_contact.customer_id, from_contact.contact_id) == (acme.id, contact.id)
        assert (await tickets.card(ned, from_contact.id)).contact_name == "Amy"


async def test_an_opted_out_number_gets_its_ticket_number_and_nothing_else(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        bot, tickets = ep.bot, ep.bot.services.service.tickets
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia = await _join(bot, MIA, "Mia", "manager")
        assert "unsubscribed" in (await _text_in(ep, OTHER, "STOP") or "")
        reply = await _text_in(ep, OTHER, "報修 冷氣不冷")
        assert reply == "已收到您的報修，維修單號碼：T2026-0001。"
        [ticket] = await tickets.listing(ep.admin, team=True)
        assert ticket.customer_id is None and ticket.lead_id is not None  # an unknown number becomes a lead
        await tickets.assign(mia, ticket.id, mia.staff_id)
        await tickets.add_entry(mia, ticket.id, EntryKind.UPDATE, "明天下午到府")
        await tickets.add_entry(mia, ticket.id, EntryKind.UPDATE, "明天下午到府")  # twice at the same moment: two
        await tickets.move(mia, ticket.id, Status.RESOLVED)
        await _dispatch(ep)
        assert _texts_to(ep, OTHER) == []  # opted out of the service topic: no update, no resolution text
        async with engine.connect() as conn:
            o = t.outbox.c
            statuses = (await conn.execute(select(o.status).where(o.recipient == OTHER))).scalars().all()
        assert len(statuses) == 3 and all(s == OutboxStatus.CANCELLED.value for s in statuses)  # 2 updates, resolved
        assert await _text_in(ep, OTHER, "SUPPORT") == ("To ask for service, text SUPPORT and what is wrong; "
                                                        "SUPPORT URGENT (or HIGH, LOW) first if it cannot wait.")
        assert await _text_in(ep, OTHER, "报修打印机卡纸") == "已收到您的报修，维修单号码：T2026-0002。"


async def test_a_severity_word_after_the_keyword_sets_the_severity(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        bot, tickets = ep.bot, ep.bot.services.service.tickets
        await bot.user(ADMIN_ID, "Ada").send("/start")
        await _join(bot, MIA, "Mia", "manager")
        sent = [("SUPPORT URGENT printer on fire", Severity.URGENT, "printer on fire"),
                ("報修 緊急 冷氣不冷", Severity.URGENT, "冷氣不冷"),
                ("报修重要：打印机卡纸", Severity.HIGH, "打印机卡纸"),
                ("support low: when you can", Severity.LOW, "when you can"),
                ("報修 重要客戶的冷氣不冷", Severity.NORMAL, "重要客戶的冷氣不冷"),  # not a word of its own
                ("SUPPORT urgently needed", Severity.NORMAL, "urgently needed")]
        for n, (body, _, _) in enumerate(sent, start=1):
            assert f"T2026-{n:04d}" in (await _text_in(ep, OTHER, body) or "")
        assert "SUPPORT URGENT" in (await _text_in(ep, OTHER, "SUPPORT URGENT") or "")  # a severity, no text: how
        opened = sorted(await tickets.listing(ep.admin, team=True), key=lambda ticket: ticket.id)
        assert [(x.severity, x.description) for x in opened] == [(s, text) for _, s, text in sent]
        urgent, normal = opened[0], opened[4]
        assert urgent.due_at - urgent.created_at < normal.due_at - normal.created_at  # the SLA follows it


async def test_scope_and_wrong_input(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        bot, tickets = ep.bot, ep.bot.services.service.tickets
        await bot.user(ADMIN_ID, "Ada").send("/start")
        admin = ep.admin
        north = await bot.services.organisation.departments.create(admin, "North", admin.department_id)
        south = await bot.services.organisation.departments.create(admin, "South", admin.department_id)
        mia = await _join(bot, MIA, "Mia", "manager", north.id)
        ned = await _join(bot, NED, "Ned", "rep", north.id)
        sue = await _join(bot, SUE, "Sue", "rep", south.id)
        acme = await bot.services.customers.customers.create(ned, CustomerDraft(name="Acme"), force=True)
        with pytest.raises(NotFound):
            await tickets.open(sue, acme.id, "broken")  # not her customer
        with pytest.raises(ValidationFailed):
            await tickets.open(ned, acme.id, "   ")
        opened = await tickets.open(ned, acme.id, "Screen flickers\nsince the update #display",
                                    severity=Severity.URGENT)
        ticket = opened.card.ticket
        assert ticket.category == "display"
        assert ticket.subject == "Screen flickers" and ticket.phone is None
        assert sorted(chat for chat, _ in opened.tell) == [ADMIN_ID, MIA]  # managers whose scope covers Ned
        # Urgent: 4 working hours from Thursday 10:00 → 14:00 Taipei.
        assert ticket.due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
        for attempt in (tickets.card(sue, ticket.id), tickets.move(sue, ticket.id, Status.IN_PROGRESS),
                        tickets.add_entry(sue, ticket.id, EntryKind.NOTE, "x"), tickets.card(ned, 999_999)):
            with pytest.raises((NotFound, PermissionDenied)):
                await attempt
        with pytest.raises(NotFound):
            await tickets.assign(mia, ticket.id, sue.staff_id)  # outside Mia's staff scope
        assert await tickets.listing(sue, team=True) == []
        assert (await tickets.report(sue, 30)).total.opened == 0  # out of her scope
        assert [(row.label, row.opened) for row in (await tickets.report(mia, 30)).by_category] == [("display", 1)]
        clock.advance(timedelta(hours=1))
        assert (await tickets.card(mia, ticket.id)).ticket.status is Status.NEW


async def test_the_ticket_report_is_made_in_the_worker(engine: AsyncEngine, clock: ManualClock) -> None:
    """/ticketreport's query and medians run through the service's worker (in the bot, a thread with its own
    connections), not on the caller's loop."""
    from typing import Any

    from bot.i18n import Catalogs
    from crm.core.offloop import InlineWorker
    from crm.messaging.subscriptions import CatalogTexts
    from crm.service.tickets import TicketService
    from tests.support.org import make_org

    class Recording(InlineWorker[Any]):
        jobs = 0

        async def run(self, job: Any) -> Any:
            Recording.jobs += 1
            return await super().run(job)

    org = await make_org(engine, clock)
    bot_tickets = org.services.service.tickets
    tickets = TicketService(org.services.uow, clock, bot_tickets.sla, CatalogTexts(lambda: Catalogs().messages),
                            worker=Recording(org.services.uow))
    report = await tickets.report(org.admin, 30)
    assert Recording.jobs == 1 and report.total.opened == 0
