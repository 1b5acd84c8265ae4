"""SMS consent over a real database (SQLite and PostgreSQL): keywords texted in, in-person consent, the carrier,
and the send policy the outbox consults before every SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, OutboxMessage, OutboxStatus, enqueue
from crm.messaging.ports.outbox import Cancel, Defer, Send
from crm.messaging.subscription_model import CampaignStatus, ConsentChannel, ConsentEvent, ConsentStatus
from crm.messaging.subscriptions import LocalizedText
from crm.segments.model import SegmentFilter
from storage import tables as t
from tests.support.org import Org, make_org

TOPICS = ("orders", "promotions", "service")
OUR_NUMBER = "+886277778888"


async def _events(org: Org, phone: str) -> list[ConsentEvent]:
    async with org.services.uow(write=False) as uow:
        return list(reversed(await uow.messaging.subscriptions.history(phone)))


async def _statuses(org: Org, phone: str) -> dict[str, ConsentStatus]:
    return {topic: await org.services.messaging.subscriptions.status_of(phone, topic) for topic in TOPICS}


@dataclass(frozen=True)
class Case:
    body: str
    status: ConsentStatus | None  # None: not a keyword, nothing recorded
    reply: str | None  # a fragment the reply must contain (None: no reply at all)
    topics: tuple[str, ...] = TOPICS


KEYWORDS: tuple[Case, ...] = (
    # Opt-out, every spelling, English and Chinese, any case and width: all topics, English or Chinese reply.
    *(Case(word, ConsentStatus.OPTED_OUT, "unsubscribed") for word in (
        "STOP", "stop", "Stop!", "ＳＴＯＰ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "end", "QUIT", "REVOKE", "OPTOUT",
        "opt-out", " stop. ")),
    Case("退訂", ConsentStatus.OPTED_OUT, "您已退訂"),
    Case("退订", ConsentStatus.OPTED_OUT, "您已退订"),
    Case("退訂。", ConsentStatus.OPTED_OUT, "您已退訂"),
    Case("TD", ConsentStatus.OPTED_OUT, "您已退訂"),  # mainland convention; a Taiwanese number: Traditional reply
    Case("td", ConsentStatus.OPTED_OUT, "您已退訂"),
    # Opt-in: bare keywords join every topic (no history); with a topic, only that topic.
    *(Case(word, ConsentStatus.OPTED_IN, "subscribed") for word in (
        "START", "start", "YES", "UNSTOP", "SUBSCRIBE", "JOIN", "Ｊｏｉｎ")),
    Case("訂閱", ConsentStatus.OPTED_IN, "您已訂閱"),
    Case("订阅", ConsentStatus.OPTED_IN, "您已订阅"),
    Case("JOIN promotions", ConsentStatus.OPTED_IN, "Promotions", ("promotions",)),
    Case("join ORDERS", ConsentStatus.OPTED_IN, "Order updates", ("orders",)),
    Case("SUBSCRIBE service", ConsentStatus.OPTED_IN, "Service updates", ("service",)),
    Case("訂閱 優惠活動", ConsentStatus.OPTED_IN, "優惠活動", ("promotions",)),
    Case("订阅 订单通知", ConsentStatus.OPTED_IN, "订单通知", ("orders",)),
    # Not keywords: a keyword inside a sentence, two words, chatter.
    *(Case(text, None, None) for text in (
        "please stop texting me", "STOP PLEASE", "Hello, is the shop open?", "我想退訂嗎", "", "T.")),
)


async def test_keyword_table_in_all_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    subs = org.services.messaging.subscriptions
    for index, case in enumerate(KEYWORDS):
        phone = f"+8869121{index:05d}"
        reply = await subs.handle_inbound(phone, OUR_NUMBER, case.body)
        events = await _events(org, phone)
        label = f"{case.body!r} → {reply!r}"
        if case.status is None:
            assert reply is None and events == [], label
            continue
        assert reply is not None and case.reply is not None and case.reply in reply, label
        assert sorted(e.topic for e in events) == sorted(case.topics), label
        for event in events:
            assert event.status is case.status, label
            assert event.channel is ConsentChannel.SMS and event.evidence == case.body, label
            assert event.changed_at == clock.now(), label
        expected = {topic: case.status if topic in case.topics else ConsentStatus.NONE for topic in TOPICS}
        assert await _statuses(org, phone) == expected, label
    # JOIN with a topic we do not have: the reply lists the topics, and nothing changes.
    reply = await subs.handle_inbound("+886912000001", OUR_NUMBER, "JOIN lottery")
    assert reply is not None and "promotions" in reply and "orders" in reply
    assert await _events(org, "+886912000001") == []


HELP_CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HELP", ("Acme Rewards", "help@acme.example", "Up to 4 msgs/month.", "Msg & data rates may apply",
              "Reply STOP to opt out")),
    ("info", ("Acme Rewards", "help@acme.example", "Msg & data rates may apply")),
    ("幫助", ("愛客美", "客服 02-1234-5678", "每月最多 4 則。", "可能產生簡訊及數據費用", "退訂")),
    ("帮助", ("爱客美", "客服 021-1234", "每月最多 4 条。", "可能产生短信及数据费用", "退订")),
)


async def test_help_reply_in_three_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    program = org.services.messaging.subscriptions.program
    # The texts are settings ("English|繁體|简体"); set them as an administrator would in .env.
    object.__setattr__(program, "program_name", LocalizedText("Acme Rewards|愛客美|爱客美"))
    object.__setattr__(program, "support_contact", LocalizedText("help@acme.example|02-1234-5678|021-1234"))
    object.__setattr__(program, "frequency", LocalizedText("Up to 4 msgs/month|每月最多 4 則|每月最多 4 条"))
    for body, fragments in HELP_CASES:
        reply = await org.services.messaging.subscriptions.handle_inbound("+886912000002", OUR_NUMBER, body)
        assert reply is not None
        for fragment in fragments:
            assert fragment in reply, (fragment, reply)
    assert await _events(org, "+886912000002") == []  # HELP changes no consent


async def _queue(org: Org, phone: str, key: str, topic: str | None = "orders") -> OutboxMessage:
    async with org.services.uow() as uow:
        message = await enqueue(uow, NewOutboxMessage(OutboxChannel.SMS, phone, "Your order shipped", topic=topic,
                                                      requested_by=org.admin.staff_id, idempotency_key=key))
        await uow.commit()
    return message


async def _outbox(org: Org, message_id: int) -> OutboxMessage:
    async with org.services.uow(write=False) as uow:
        found: OutboxMessage | None = await uow.messaging.outbox.get(message_id)
    assert found is not None
    return found


async def test_opt_out_cancels_queued_messages_before_the_next_send(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    leaving, staying = "+886912000010", "+886912000011"
    # A message a dispatcher already claimed: not cancellable in the queue, so the policy stops it at send time.
    claimed = await _queue(org, leaving, "in-flight")
    async with org.services.uow() as uow:
        taken = await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), "worker-1", clock.now(), 10)
        await uow.commit()
    assert [m.id for m in taken] == [claimed.id]
    first = await _queue(org, leaving, "a")
    second = await _queue(org, leaving, "b", topic=None)
    other = await _queue(org, staying, "c")
    policy = org.services.messaging.sms_policy
    assert await policy.decide(await _outbox(org, claimed.id), clock.now()) == Send()

    reply = await org.services.messaging.subscriptions.handle_inbound(leaving, OUR_NUMBER, "STOP")
    assert reply is not None and "unsubscribed" in reply

    for message in (first, second):
        cancelled = await _outbox(org, message.id)
        assert cancelled.status is OutboxStatus.CANCELLED and cancelled.last_error == "opted_out"
    assert (await _outbox(org, other.id)).status is OutboxStatus.QUEUED
    in_flight = await _outbox(org, claimed.id)
    assert in_flight.status is OutboxStatus.SENDING
    assert await policy.decide(in_flight, clock.now()) == Cancel("opted_out")
    # Nothing to this number is due any more: a dispatcher round finds only the other number's message.
    async with org.services.uow() as uow:
        due = await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), "worker-2", clock.now(), 10)
    assert [m.id for m in due] == [other.id]


async def test_unknown_number_opting_in_becomes_a_lead(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    subs = org.services.messaging.subscriptions
    await subs.handle_inbound("+886912000020", OUR_NUMBER, "JOIN promotions")
    hits = (await org.services.customers.customers.search(org.admin, "0912000020")).hits
    assert [(h.entity, h.title) for h in hits] == [(EntityKind.LEAD, "0912 000 020")]
    lead = await org.services.customers.leads.get(org.admin, hits[0].id)
    assert lead.phones == ("+886912000020",) and lead.source == "sms" and lead.owner_id == org.admin.staff_id
    [event] = await _events(org, "+886912000020")
    assert event.lead_id == lead.id and event.status is ConsentStatus.OPTED_IN
    # Texting again does not make a second lead; the consent is linked to the same one.
    await subs.handle_inbound("+886912000020", OUR_NUMBER, "訂閱 訂單通知")
    assert len((await org.services.customers.customers.search(org.admin, "0912000020")).hits) == 1
    assert {e.lead_id for e in await _events(org, "+886912000020")} == {lead.id}
    # An unknown number opting out is recorded (proof) but does not become a lead.
    await subs.handle_inbound("+886912000021", OUR_NUMBER, "STOP")
    assert (await org.services.customers.customers.search(org.admin, "0912000021")).hits == ()
    assert {e.lead_id for e in await _events(org, "+886912000021")} == {None}
    # A number we know is linked to its customer, not turned into a lead.
    customer = await org.services.customers.customers.create(org.admin, CustomerDraft(name="王大明",
                                                                                      phones=("0912-000-030",)))
    await subs.handle_inbound("+886912000030", OUR_NUMBER, "START")
    events = await _events(org, "+886912000030")
    assert {e.customer_id for e in events} == {customer.id} and {e.lead_id for e in events} == {None}
    assert [h.entity for h in (await org.services.customers.customers.search(org.admin, "0912000030")).hits] == [
        EntityKind.CUSTOMER]


async def test_topics_have_separate_consent(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    subs, policy = org.services.messaging.subscriptions, org.services.messaging.sms_policy
    phone = "+886912000040"
    await subs.handle_inbound(phone, OUR_NUMBER, "JOIN promotions")
    assert await _statuses(org, phone) == {"orders": ConsentStatus.NONE, "promotions": ConsentStatus.OPTED_IN,
                                           "service": ConsentStatus.NONE}
    promo = await _queue(org, phone, "p1", topic="promotions")
    orders = await _queue(org, phone, "o1", topic="orders")
    assert await policy.decide(promo, clock.now()) == Send()  # 10:00 in Taipei
    assert await policy.decide(orders, clock.now()) == Send()  # transactional: no opt-in needed
    # STOP takes everything away; a bare START gives back only what was on (promotions), not orders.
    await subs.handle_inbound(phone, OUR_NUMBER, "STOP")
    assert set((await _statuses(org, phone)).values()) == {ConsentStatus.OPTED_OUT}
    await subs.handle_inbound(phone, OUR_NUMBER, "START")
    assert await _statuses(org, phone) == {"orders": ConsentStatus.OPTED_OUT, "promotions": ConsentStatus.OPTED_IN,
                                           "service": ConsentStatus.OPTED_OUT}
    # A second number that never opted in to promotions is not sent promotions.
    stranger = await _queue(org, "+886912000041", "p2", topic="promotions")
    assert await policy.decide(stranger, clock.now()) == Cancel("no_consent")


async def test_carrier_opt_out_21610(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    subs = org.services.messaging.subscriptions
    phone = "+886912000050"
    await subs.handle_inbound(phone, OUR_NUMBER, "JOIN")
    waiting = await _queue(org, phone, "w1")
    for _ in range(2):  # a second refusal adds no duplicate events
        async with org.services.uow() as uow:
            await subs.opted_out_by_carrier(uow, phone)
            await uow.commit()
    events = await _events(org, phone)
    carrier = [e for e in events if e.channel is ConsentChannel.CARRIER]
    assert sorted(e.topic for e in carrier) == list(TOPICS)
    assert all(e.status is ConsentStatus.OPTED_OUT and e.evidence == "21610" for e in carrier)
    assert (await _outbox(org, waiting.id)).status is OutboxStatus.CANCELLED
    assert await org.services.messaging.sms_policy.decide(waiting, clock.now()) == Cancel("opted_out")


async def test_marketing_deferred_in_quiet_hours_transactional_not(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    subs, policy = org.services.messaging.subscriptions, org.services.messaging.sms_policy
    taipei, new_york = "+886912000060", "+12125550160"
    for phone in (taipei, new_york):
        await subs.handle_inbound(phone, OUR_NUMBER, "START")
    night_in_taipei = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 22:30 Taipei, 09:30 New York
    promo_tw = await _queue(org, taipei, "n1", topic="promotions")
    order_tw = await _queue(org, taipei, "n2", topic="orders")
    promo_us = await _queue(org, new_york, "n3", topic="promotions")
    decision = await policy.decide(promo_tw, night_in_taipei)
    assert decision == Defer(datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo("Asia/Taipei")), "quiet_hours")
    assert await policy.decide(order_tw, night_in_taipei) == Send()
    assert await policy.decide(promo_us, night_in_taipei) == Send()
    night_in_new_york = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 22:00 New York (EST), 11:00 Taipei
    assert await policy.decide(promo_us, night_in_new_york) == Defer(
        datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo("America/New_York")), "quiet_hours")
    assert await policy.decide(promo_tw, night_in_new_york) == Send()


async def test_rep_records_consent_in_person(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    rep = await org.join(org.admin, 3001, "Rita", "rep", org.north)
    other = await org.join(org.admin, 3002, "Sam", "rep", org.south)
    reviewer = await org.join(org.admin, 3003, "Vera", "reviewer", org.north)
    subs = org.services.messaging.subscriptions
    customer = await org.services.customers.customers.create(rep, CustomerDraft(name="陳小姐",
                                                                                phones=("0912-000-070",)))
    contact = await org.services.customers.contacts.add(rep, customer.id, "Mr Lin", phone_list=("0912 000 071",))
    target = Target(EntityKind.CUSTOMER, customer.id)

    events = await subs.record_consent(rep, target, "0912000070", ["promotions", "orders"], note="said yes at the fair")
    assert {(e.topic, e.channel, e.recorded_by, e.customer_id, e.evidence) for e in events} == {
        ("promotions", ConsentChannel.IN_PERSON, rep.staff_id, customer.id, "said yes at the fair"),
        ("orders", ConsentChannel.IN_PERSON, rep.staff_id, customer.id, "said yes at the fair"),
    }
    view = await subs.consent_view(rep, target)
    assert view.phones == ("+886912000070",)
    assert view.status_of("+886912000070", "promotions") is ConsentStatus.OPTED_IN
    assert view.status_of("+886912000070", "service") is ConsentStatus.NONE
    [on_contact] = await subs.record_consent(rep, Target(EntityKind.CONTACT, contact.id), "+886912000071",
                                             ["service"])
    assert (on_contact.contact_id, on_contact.customer_id) == (contact.id, customer.id)
    # The customer withdraws in person: recorded as such, and the history keeps both events.
    await subs.record_consent(rep, target, "+886912000070", ["promotions"], ConsentStatus.OPTED_OUT)
    history = await subs.history(rep, target, "+886912000070")
    assert len(history) == 3 and (history[0].topic, history[0].status) == ("promotions", ConsentStatus.OPTED_OUT)
    assert {(e.topic, e.status) for e in history[1:]} == {("promotions", ConsentStatus.OPTED_IN),
                                                          ("orders", ConsentStatus.OPTED_IN)}
    assert await subs.status_of("+886912000070", "promotions") is ConsentStatus.OPTED_OUT

    with pytest.raises(NotFound):  # another rep's customer: out of scope, not confirmed to exist
        await subs.record_consent(other, target, "+886912000070", ["promotions"])
    with pytest.raises(NotFound):  # a number that is not this customer's
        await subs.record_consent(rep, target, "+886912999999", ["promotions"])
    with pytest.raises(PermissionDenied):  # reviewers do not send SMS
        await subs.record_consent(reviewer, target, "+886912000070", ["promotions"])
    async with org.services.uow(write=False) as uow:
        rows = (await uow.connection.execute(select(t.audit_log.c.action, t.audit_log.c.actor_id)
                                             .where(t.audit_log.c.entity == "sms_consent"))).all()
    assert ("consent_opted_in", rep.staff_id) in rows and ("consent_opted_out", rep.staff_id) in rows


async def test_segment_campaign_and_review_rules(engine: AsyncEngine, clock: ManualClock) -> None:
    org = await make_org(engine, clock)
    rep = await org.join(org.admin, 3001, "Rita", "rep", org.north)
    manager_south = await org.join(org.admin, 3002, "Sam", "manager", org.south)
    reviewer = await org.join(org.admin, 3003, "Vera", "reviewer", org.north)
    s = org.services
    for name, phone in (("Tea House", "0912000081"), ("Bakery", "0912000082"), ("No Phone Ltd", None)):
        await s.customers.customers.create(rep, CustomerDraft(name=name, phones=(phone,) if phone else (),
                                                              tags=("vip",)))
    await s.customers.customers.create(org.admin, CustomerDraft(name="Not Rita's", phones=("0912000083",),
                                                                tags=("vip",)))
    await s.messaging.subscriptions.handle_inbound("+886912000081", OUR_NUMBER, "JOIN promotions")
    await s.messaging.subscriptions.handle_inbound("+886912000082", OUR_NUMBER, "STOP")
    vip = await s.segments.segments.create(rep, "VIP", SegmentFilter(tags=frozenset({"vip"})))
    template = await s.messaging.campaigns.create_template(rep, "Thanks")
    with pytest.raises(ValidationFailed):  # a placeholder we cannot fill
        await s.messaging.campaigns.set_body(rep, template.id, "en", "Hi {first_name}")
    await s.messaging.campaigns.set_body(rep, template.id, "zh-Hant", "{name} 您好，感謝支持 {company}！")

    # Marketing: only the opted-in number of Rita's segment; transactional: everyone not opted out.
    promo = await s.messaging.campaigns.draft(rep, template.id, "promotions", segment_id=vip.id)
    assert (promo.campaign.recipients, promo.excluded) == (1, 2)
    assert promo.campaign.sample == "Tea House 您好，感謝支持 Company！\n回覆退訂取消"
    service = await s.messaging.campaigns.draft(rep, template.id, "service", segment_id=vip.id)
    assert (service.campaign.recipients, service.excluded) == (1, 2)  # Bakery opted out; No Phone has no number
    assert service.campaign.sample == "Tea House 您好，感謝支持 Company！"  # no opt-out line on updates

    submitted = await s.messaging.campaigns.submit(rep, promo.campaign.id)
    # Told: Vera (reviewer, all) and Ada (admin); not Sam, whose department scope does not cover Rita.
    assert {p.name for p in submitted.reviewers} == {"Vera", "Ada"}
    with pytest.raises(NotFound):
        await s.messaging.campaigns.review_card(manager_south, promo.campaign.id)
    with pytest.raises(PermissionDenied):
        await s.messaging.campaigns.approve(rep, promo.campaign.id)
    with pytest.raises(Conflict):
        await s.messaging.campaigns.submit(rep, promo.campaign.id)  # only drafts are submitted
    reviewed = await s.messaging.campaigns.approve(reviewer, promo.campaign.id)
    assert reviewed.released == 1 and reviewed.card.campaign.status is CampaignStatus.APPROVED
    with pytest.raises(Conflict):
        await s.messaging.campaigns.reject(reviewer, promo.campaign.id, "too late")
    # Templates are deleted softly: gone from the list, back after a restore.
    await s.messaging.campaigns.delete_template(rep, template.id)
    assert (await s.messaging.campaigns.templates(rep))[0] == []
    with pytest.raises(PermissionDenied):
        await s.messaging.campaigns.restore_template(rep, template.id)
    await s.messaging.campaigns.restore_template(org.admin, template.id)
    assert [x.id for x in (await s.messaging.campaigns.templates(rep))[0]] == [template.id]
    # Once the dispatcher has finished every row, the campaign reads as done.
    async with s.uow() as uow:
        [row] = await uow.messaging.outbox.claim_due(OutboxChannel.SMS, clock.now(), "w", clock.now(), 10)
        await uow.messaging.outbox.mark_sent(row.id, "w", provider_id="SM1", segments=1, at=clock.now())
        await uow.messaging.outbox.apply_provider_status("SM1", OutboxStatus.DELIVERED, code=None, reason=None,
                                                         at=clock.now())
        await uow.commit()
    assert (await s.messaging.campaigns.card(rep, promo.campaign.id)).campaign.status is CampaignStatus.DONE
