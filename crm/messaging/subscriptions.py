"""SMS subscriptions: who agreed to receive which texts, the keywords customers text us, and the send policy.

Consent is an append-only trail of events per (phone number, topic): the latest event is the current status,
the older ones are the proof (when, by which channel, the exact text received, who recorded it). The rules:

* STOP and its synonyms opt the number out of **every** topic, and queued texts to it are cancelled in the same
  transaction, so the next dispatcher round has nothing left to send; the send policy re-checks consent right
  before each send for a text a dispatcher had already claimed.
* ``JOIN <topic>`` opts in to that topic only. A bare START/YES/JOIN gives back what the last STOP took away
  (topics that were opted in before an SMS or carrier opt-out); a number with no such history joins every topic.
* A number we do not know that opts in becomes a lead, owned by the first holder of ``customers.handover``.
* Marketing topics need an opt-in, respect quiet hours in the recipient's zone (deferred, never dropped) and
  carry the opt-out line; transactional topics (order and service updates) are sent unless the number opted
  out. A text with no topic (a rep's direct message) is stopped only when the number opted out of everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import phonenumbers

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.money import Money
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers import phones
from crm.customers.contacts_leads import lead_terms
from crm.customers.model import EntityKind, Lead
from crm.followups.followups import Target, resolve_target
from crm.messaging.events import SmsOptedIn, SmsOptedOut
from crm.messaging.outbox import OutboxChannel, OutboxMessage, cancel_pending
from crm.messaging.ports.outbox import SEND, Cancel, Decision, Defer, InboundSmsHandler
from crm.messaging.ports.repositories import MessagingUnitOfWork
from crm.messaging.quiet_hours import QuietHours, recipient_zone
from crm.messaging.sms_keywords import KeywordIntent, KeywordKind, classify_inbound, help_reply
from crm.messaging.subscription_model import ConsentChannel, ConsentEvent, ConsentStatus, PartyLink, Topic
from crm.organisation import audit
from crm.organisation.permissions import Actor

__all__ = [
    "DEFAULT_TOPICS",
    "CatalogTexts",
    "ConsentAndQuietHoursPolicy",
    "ConsentView",
    "LocalizedText",
    "SmsProgram",
    "SmsTexts",
    "SubscriptionService",
    "ensure_topics",
    "parse_price",
    "sms_locale_for",
]

MAX_EVIDENCE = 1600  # the longest SMS body Twilio delivers to us
OPTED_OUT_REASON = "opted_out"
NO_CONSENT_REASON = "no_consent"
QUIET_HOURS_REASON = "quiet_hours"
# A rep's one-off text from chat (crm/messaging.py): neither marketing nor a subscription topic.
DIRECT_TOPICS = frozenset({"chat"})

# Defaults a new company starts with; editable data afterwards (names are shown to customers and staff).
DEFAULT_TOPICS: tuple[Topic, ...] = (
    Topic(0, "promotions", "Promotions", "優惠活動", "优惠活动", marketing=True),
    Topic(0, "orders", "Order updates", "訂單通知", "订单通知", marketing=False),
    Topic(0, "service", "Service updates", "服務通知", "服务通知", marketing=False),
)

_HANT_KEYWORDS = frozenset({"退訂", "訂閱", "幫助", "取消訂閱"})
_HANS_KEYWORDS = frozenset({"退订", "订阅", "帮助", "取消订阅"})
_CHINESE_LETTER_KEYWORDS = frozenset({"TD", "T", "N"})  # the mainland "reply T to unsubscribe" convention
_HANT_REGIONS = frozenset({"TW", "HK", "MO"})
_HANS_REGIONS = frozenset({"CN"})


class LocalizedText:
    """A setting given once for all languages, or as ``English|繁體中文|简体中文``."""

    def __init__(self, raw: str, fallback: str = "") -> None:
        parts = [p.strip() for p in raw.split("|")] if raw.strip() else []
        en = parts[0] if parts else fallback
        self.by_locale = {
            "en": en,
            "zh-Hant": parts[1] if len(parts) > 1 and parts[1] else en,
            "zh-Hans": parts[2] if len(parts) > 2 and parts[2] else (parts[1] if len(parts) > 1 and parts[1] else en),
        }

    def get(self, locale: str) -> str:
        return self.by_locale.get(locale) or self.by_locale["en"]


_PRICE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]{3})\s*$")


def parse_price(text: str) -> Money:
    """``"0.0079 USD"`` → Money; the amount per SMS segment."""
    match = _PRICE.match(text)
    if match is None:
        raise ValueError("must be an amount and a currency, such as 0.0079 USD")
    try:
        return Money(Decimal(match[1]), match[2].upper())
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError("must be an amount and a currency, such as 0.0079 USD") from exc


def sms_locale_for(e164: str) -> str:
    """The language to text a number in when we know nothing else: by the number's country."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return "en"
    if region in _HANT_REGIONS:
        return "zh-Hant"
    if region in _HANS_REGIONS:
        return "zh-Hans"
    return "en"


@dataclass(frozen=True)
class SmsProgram:
    """The SMS programme's settings (from bot/settings.py)."""

    company_name: str
    program_name: LocalizedText
    support_contact: LocalizedText
    frequency: LocalizedText
    quiet_hours: QuietHours
    default_timezone: str
    phone_region: str = "TW"
    segment_price: Money = field(default_factory=lambda: Money(Decimal("0.0079"), "USD"))

    def program(self, locale: str) -> str:
        return self.program_name.get(locale) or self.company_name

    @classmethod
    def from_settings(cls, settings: ProgramSettings) -> SmsProgram:
        return cls(
            company_name=settings.company_name,
            program_name=LocalizedText(settings.sms_program_name, settings.company_name),
            support_contact=LocalizedText(settings.sms_support_contact),
            frequency=LocalizedText(settings.sms_frequency_text),
            quiet_hours=QuietHours.parse(settings.sms_quiet_hours),
            default_timezone=settings.default_timezone,
            phone_region=settings.default_phone_region,
            segment_price=parse_price(settings.sms_segment_price),
        )


class ProgramSettings(Protocol):
    """The settings SmsProgram is read from (bot.settings.Settings has them)."""

    company_name: str
    sms_program_name: str
    sms_support_contact: str
    sms_frequency_text: str
    sms_quiet_hours: str
    sms_segment_price: str
    default_timezone: str
    default_phone_region: str


class SmsTexts(Protocol):
    """Plain-text messages (no HTML escaping: this is an SMS) by key, in a locale."""

    def t(self, key: str, locale: str, /, **params: Any) -> str: ...


class CatalogTexts:
    """SmsTexts over the bot's message catalogs ({locale: {key: text}}), loaded on first use."""

    def __init__(self, load: Callable[[], Mapping[str, Mapping[str, str]]]) -> None:
        self._load = load
        self._messages: Mapping[str, Mapping[str, str]] | None = None

    def t(self, key: str, locale: str, /, **params: Any) -> str:
        if self._messages is None:
            self._messages = self._load()
        text = self._messages.get(locale, {}).get(key) or self._messages.get("en", {}).get(key) or key
        return text.format_map({k: str(v) for k, v in params.items()}) if params else text


@dataclass(frozen=True)
class ConsentView:
    """What /consent shows for one customer, contact or lead: each phone and its status per topic."""

    name: str
    phones: tuple[str, ...]
    topics: tuple[Topic, ...]
    status: Mapping[str, Mapping[str, ConsentEvent]]  # phone -> topic -> latest event

    def status_of(self, phone: str, topic: str) -> ConsentStatus:
        event = self.status.get(phone, {}).get(topic)
        return event.status if event else ConsentStatus.NONE


async def ensure_topics(uow: MessagingUnitOfWork, now: datetime) -> list[Topic]:
    """The topics, creating the defaults the first time (in the caller's write unit of work)."""
    topics = list(await uow.messaging.subscriptions.topics())
    if not topics:
        await uow.messaging.subscriptions.add_topics(DEFAULT_TOPICS, now)
        topics = list(await uow.messaging.subscriptions.topics())
    return topics


async def _topics_for_reading(uow: MessagingUnitOfWork) -> list[Topic]:
    """In a read-only unit of work: the stored topics, or the defaults before anything was stored."""
    return list(await uow.messaging.subscriptions.topics()) or list(DEFAULT_TOPICS)


def _reply_locale(intent: KeywordIntent, phone: str) -> str:
    keyword = intent.keyword or ""
    if keyword in _HANT_KEYWORDS:
        return "zh-Hant"
    if keyword in _HANS_KEYWORDS:
        return "zh-Hans"
    if keyword in _CHINESE_LETTER_KEYWORDS:
        locale = sms_locale_for(phone)
        return locale if locale != "en" else "zh-Hans"
    return "en"


def _sentence(text: str, locale: str) -> str:
    text = text.strip()
    if not text or text[-1] in ".!?。！？":
        return text
    return text + ("." if locale == "en" else "。")


def _match_topic(topics: Iterable[Topic], word: str) -> Topic | None:
    wanted = "".join(word.casefold().split())
    exact = [t for t in topics if wanted in {t.key.casefold(), *("".join(n.casefold().split()) for n in
                                                                 (t.name_en, t.name_zh_hant, t.name_zh_hans))}]
    if exact:
        return exact[0]
    prefixed = [t for t in topics if len(wanted) >= 3 and t.key.casefold().startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


class SubscriptionService:
    """Consent: recorded from chat, from keywords texted in, from the carrier; read by the send policy."""

    def __init__(self, uow: UnitOfWorkFactory[MessagingUnitOfWork], clock: Clock, program: SmsProgram,
                 texts: SmsTexts) -> None:
        self._uow = uow
        self._clock = clock
        self.program = program
        self._texts = texts
        # Texts that are no consent keyword go to the modules built on this one, in order, until one answers
        # (the service module's "SUPPORT <text>" and a 1–5 rating).
        self.other_texts: ExtensionPoint[InboundSmsHandler] = ExtensionPoint()

    # ---- reading -------------------------------------------------------------------------------------------

    async def topics(self) -> list[Topic]:
        async with self._uow(write=False) as uow:
            return await _topics_for_reading(uow)

    async def status_of(self, phone: str, topic: str) -> ConsentStatus:
        """The current status of one number for one topic (NONE: never asked)."""
        e164 = phones.normalize(phone, self.program.phone_region)
        async with self._uow(write=False) as uow:
            latest = (await uow.messaging.subscriptions.latest([e164])).get(e164, {})
        event = latest.get(topic)
        return event.status if event else ConsentStatus.NONE

    async def history(self, actor: Actor, target: Target, phone: str) -> list[ConsentEvent]:
        """The proof trail of one of the target's numbers, newest first."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            _, numbers = await self._target_phones(uow, actor, target)
            e164 = self._one_of(numbers, phone)
            return list(await uow.messaging.subscriptions.history(e164))

    async def consent_view(self, actor: Actor, target: Target) -> ConsentView:
        """Each of the target's numbers with its status per topic."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            name, numbers = await self._target_phones(uow, actor, target)
            topics = await _topics_for_reading(uow)
            latest = await uow.messaging.subscriptions.latest(numbers)
        return ConsentView(name, numbers, tuple(topics), latest)

    # ---- a rep records consent given in person ---------------------------------------------------------------

    async def record_consent(self, actor: Actor, target: Target, phone: str, topic_keys: Sequence[str],
                             status: ConsentStatus = ConsentStatus.OPTED_IN, *, note: str | None = None,
                             ) -> list[ConsentEvent]:
        """Consent the customer gave (or withdrew) in person, recorded by the rep from chat."""
        actor.require("sms.send")
        if status is ConsentStatus.NONE:
            raise ValidationFailed("error.invalid")
        evidence = " ".join((note or "").split())[:500] or None
        now = self._clock.now()
        async with self._uow() as uow:
            _, numbers = await self._target_phones(uow, actor, target)
            e164 = self._one_of(numbers, phone)
            topics = {t.key: t for t in await ensure_topics(uow, now)}
            unknown = [k for k in topic_keys if k not in topics]
            if unknown or not topic_keys:
                raise ValidationFailed("subscriptions.unknown_topic", topic=", ".join(unknown) or "—")
            link = await self._link_for(uow, target)
            events = [ConsentEvent(e164, key, status, now, ConsentChannel.IN_PERSON, evidence, link.customer_id,
                                   link.contact_id, link.lead_id, actor.staff_id) for key in dict.fromkeys(topic_keys)]
            await uow.messaging.subscriptions.add_consents(events)
            if status is ConsentStatus.OPTED_OUT and self._all_out(await uow.messaging.subscriptions.latest([e164]),
                                                                   e164,
                                                                     topics):
                await cancel_pending(uow, channel=OutboxChannel.SMS, recipient=e164, reason=OPTED_OUT_REASON)
            await audit.record(uow, actor.staff_id, f"consent_{status.value}", "sms_consent", None, {},
                               {"phone": e164, "topics": [e.topic for e in events], "channel": "in_person",
                                "evidence": evidence})
            changed = SmsOptedOut if status is ConsentStatus.OPTED_OUT else SmsOptedIn
            uow.record(changed(occurred_at=now, phone=e164, topics=tuple(e.topic for e in events),
                               channel=ConsentChannel.IN_PERSON, party=link, recorded_by=actor.staff_id))
            await uow.commit()
        return events

    async def _target_phones(self, uow: MessagingUnitOfWork, actor: Actor, target: Target) -> tuple[str, tuple[str,
                                                                                                               ...]]:
        resolved = await resolve_target(uow, actor, target)  # scope-checked: out of scope is NotFound
        if target.entity is EntityKind.CUSTOMER:
            customer = await uow.customers.customers.get(target.id)
            numbers = customer.phones if customer else ()
        elif target.entity is EntityKind.CONTACT:
            contact = await uow.customers.contacts.get(target.id)
            numbers = contact.phones if contact else ()
        else:
            lead = await uow.customers.leads.get(target.id)
            numbers = lead.phones if lead else ()
        return resolved.name, tuple(numbers)

    def _one_of(self, numbers: Sequence[str], phone: str) -> str:
        e164 = phones.try_normalize(phone, self.program.phone_region) or phone
        if e164 not in numbers:
            raise NotFound()
        return e164

    @staticmethod
    async def _link_for(uow: MessagingUnitOfWork, target: Target) -> PartyLink:
        if target.entity is EntityKind.CUSTOMER:
            return PartyLink(customer_id=target.id)
        if target.entity is EntityKind.CONTACT:
            contact = await uow.customers.contacts.get(target.id)
            return PartyLink(customer_id=contact.customer_id if contact else None, contact_id=target.id)
        return PartyLink(lead_id=target.id)

    @staticmethod
    def _all_out(latest: Mapping[str, Mapping[str, ConsentEvent]], phone: str, topics: Mapping[str, Topic]) -> bool:
        mine = latest.get(phone, {})
        return bool(topics) and all(
            (event := mine.get(key)) is not None and event.status is ConsentStatus.OPTED_OUT for key in topics)

    # ---- texts customers send us -----------------------------------------------------------------------------

    async def __call__(self, from_e164: str, to_e164: str, body: str) -> str | None:
        return await self.handle_inbound(from_e164, to_e164, body)

    async def handle_inbound(self, from_e164: str, to_e164: str, body: str) -> str | None:
        """A text to our number: keywords change consent (with the text as evidence); returns the reply."""
        intent = classify_inbound(body)
        phone = phones.try_normalize(from_e164, self.program.phone_region)
        if phone is None:
            return None
        if intent.kind is KeywordKind.NONE:
            for handler in self.other_texts:
                reply = await handler(phone, to_e164, body)
                if reply is not None:
                    return reply
            return None
        locale = _reply_locale(intent, phone)
        program = self.program.program(locale)
        if intent.kind is KeywordKind.HELP:
            return help_reply(locale, program, self.program.support_contact.get(locale),
                              self.program.frequency.get(locale))
        evidence = body[:MAX_EVIDENCE]
        now = self._clock.now()
        async with self._uow() as uow:
            topics = await ensure_topics(uow, now)
            link = await uow.messaging.subscriptions.parties_by_phone(phone)
            if intent.kind is KeywordKind.OPT_OUT:
                await self._opt_out(uow, phone, topics, link, ConsentChannel.SMS, evidence, now)
                await uow.commit()
                return self._texts.t("subscriptions.sms_opted_out", locale, program=program)
            chosen: list[Topic]
            if intent.topic is not None:
                topic = _match_topic(topics, intent.topic)
                if topic is None:
                    return self._texts.t("subscriptions.sms_unknown_topic", locale, program=program,
                                         topics=", ".join(t.key for t in topics))
                chosen = [topic]
            else:
                chosen = await self._restorable(uow, phone, topics)
            if not link.known:
                link = await self._new_lead(uow, phone, now)
            events = [ConsentEvent(phone, t.key, ConsentStatus.OPTED_IN, now, ConsentChannel.SMS, evidence,
                                   link.customer_id, link.contact_id, link.lead_id) for t in chosen]
            await uow.messaging.subscriptions.add_consents(events)
            await audit.record(uow, None, "consent_opted_in", "sms_consent", None, {},
                               {"phone": phone, "topics": [t.key for t in chosen], "channel": "sms",
                                "evidence": evidence, "lead_id": link.lead_id})
            uow.record(SmsOptedIn(occurred_at=now, phone=phone, topics=tuple(t.key for t in chosen),
                                  channel=ConsentChannel.SMS, party=link, recorded_by=None))
            await uow.commit()
        separator = ", " if locale == "en" else "、"
        return self._texts.t("subscriptions.sms_opted_in", locale, program=program,
                             topics=separator.join(t.name(locale) for t in chosen),
                             frequency=_sentence(self.program.frequency.get(locale), locale))

    async def _opt_out(self, uow: MessagingUnitOfWork, phone: str, topics: Sequence[Topic], link: PartyLink,
                       channel: ConsentChannel, evidence: str | None, now: datetime) -> None:
        events = [ConsentEvent(phone, t.key, ConsentStatus.OPTED_OUT, now, channel, evidence, link.customer_id,
                               link.contact_id, link.lead_id) for t in topics]
        await uow.messaging.subscriptions.add_consents(events)
        # Opt-out applies before the next send: nothing still waiting for this number goes out.
        cancelled = await cancel_pending(uow, channel=OutboxChannel.SMS, recipient=phone, reason=OPTED_OUT_REASON)
        await audit.record(uow, None, "consent_opted_out", "sms_consent", None, {},
                           {"phone": phone, "topics": [t.key for t in topics], "channel": channel.value,
                            "evidence": evidence, "cancelled": cancelled})
        uow.record(SmsOptedOut(occurred_at=now, phone=phone, topics=tuple(t.key for t in topics), channel=channel,
                               party=link, recorded_by=None))

    @staticmethod
    async def _restorable(uow: MessagingUnitOfWork, phone: str, topics: Sequence[Topic]) -> list[Topic]:
        """What a bare START opts in to: the topics that were on right before an SMS or carrier opt-out."""
        history = await uow.messaging.subscriptions.history(phone, limit=500)
        by_topic: dict[str, list[ConsentEvent]] = {}
        for event in history:  # newest first
            by_topic.setdefault(event.topic, []).append(event)
        restore = []
        for topic in topics:
            events = by_topic.get(topic.key, [])
            if (len(events) >= 2 and events[0].status is ConsentStatus.OPTED_OUT
                    and events[0].channel in (ConsentChannel.SMS, ConsentChannel.CARRIER)
                    and events[1].status is ConsentStatus.OPTED_IN):
                restore.append(topic)
        if restore:
            return restore
        # Nothing to give back: confirm what is on (fresh evidence), or, with nothing on, join every topic.
        current = [t for t in topics if (trail := by_topic.get(t.key)) and trail[0].status is ConsentStatus.OPTED_IN]
        return current or list(topics)

    async def _new_lead(self, uow: MessagingUnitOfWork, phone: str, now: datetime) -> PartyLink:
        owner = await uow.messaging.subscriptions.default_lead_owner()
        if owner is None:
            return PartyLink()
        lead = await uow.customers.leads.add(Lead(id=0, name=phones.display(phone, self.program.phone_region),
                                                  owner_id=owner,
                                        phones=(phone,), source="sms", created_at=now))
        await uow.customers.search.replace(EntityKind.LEAD, lead.id, lead_terms(lead))
        await audit.record(uow, None, "create", "lead", lead.id, {},
                           {"name": lead.name, "phones": lead.phones, "source": "sms"})
        return PartyLink(lead_id=lead.id)

    # ---- the carrier says the number opted out -------------------------------------------------------------

    async def opted_out_by_carrier(self, uow: MessagingUnitOfWork, phone: str) -> None:
        """Twilio error 21610 (the number replied STOP to the carrier): record it in the caller's transaction."""
        now = self._clock.now()
        topics = await ensure_topics(uow, now)
        latest = (await uow.messaging.subscriptions.latest([phone])).get(phone, {})
        if topics and all((e := latest.get(t.key)) is not None and e.status is ConsentStatus.OPTED_OUT
                          for t in topics):
            return  # already recorded: a burst of refused sends must not flood the trail
        link = await uow.messaging.subscriptions.parties_by_phone(phone)
        await self._opt_out(uow, phone, topics, link, ConsentChannel.CARRIER, "21610", now)


class ConsentAndQuietHoursPolicy:
    """The outbox's SendPolicy: consent per topic, and quiet hours in the recipient's zone for marketing."""

    def __init__(self, uow: UnitOfWorkFactory[MessagingUnitOfWork], program: SmsProgram) -> None:
        self._uow = uow
        self._program = program

    async def decide(self, message: OutboxMessage, now: datetime) -> Decision:
        if message.channel is not OutboxChannel.SMS:
            return SEND
        phone = message.recipient
        async with self._uow(write=False) as uow:
            topics = {t.key: t for t in await _topics_for_reading(uow)}
            latest = (await uow.messaging.subscriptions.latest([phone])).get(phone, {})
        return decide(message.topic, phone, latest, topics, self._program, now)


def decide(topic_key: str | None, phone: str, latest: Mapping[str, ConsentEvent], topics: Mapping[str, Topic],
           program: SmsProgram, now: datetime) -> Decision:
    """The rule itself, without storage (see the module docstring)."""
    if topic_key is None or topic_key in DIRECT_TOPICS:
        if topics and all((e := latest.get(k)) is not None and e.status is ConsentStatus.OPTED_OUT for k in topics):
            return Cancel(OPTED_OUT_REASON)
        return SEND
    event = latest.get(topic_key)
    status = event.status if event else ConsentStatus.NONE
    if status is ConsentStatus.OPTED_OUT:
        return Cancel(OPTED_OUT_REASON)
    topic = topics.get(topic_key)
    marketing = topic.marketing if topic is not None else True  # an unknown topic gets the stricter rules
    if not marketing:
        return SEND
    if status is not ConsentStatus.OPTED_IN:
        return Cancel(NO_CONSENT_REASON)
    resume = program.quiet_hours.resume_at(now, recipient_zone(phone, program.default_timezone))
    if resume is not None:
        return Defer(resume, QUIET_HOURS_REASON)
    return SEND
