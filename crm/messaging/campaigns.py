"""SMS templates, campaigns and their review (簡訊稽核).

A campaign is a template sent to a segment's customers or to a topic's subscribers. Nothing goes out before a
reviewer (``sms.review``) approves it:

1. ``draft`` — the requester picks a template, a topic and an audience; the service counts who would get it
   (only numbers the send policy would let through), the segments and the estimated cost.
2. ``submit`` — the texts are written to the outbox **held**, one per number, exactly as they will be sent
   (placeholders filled, the opt-out line appended for marketing topics), so the reviewer judges the real text.
3. ``approve`` releases the held rows to the dispatcher; ``reject`` (with a reason) cancels them.

Single texts from reps without ``sms.send_direct`` are held by crm/messaging.py; reviewers approve or reject
them here too. Every step writes an audit row in the same transaction. The requester and the reviewers are told
by a Telegram message from the handler that made the change (see handlers/campaigns.py for why).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.money import Money
from crm.customers.customers import clean_text
from crm.messaging.outbox import (
    NewOutboxMessage,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    cancel_pending,
    release_held,
)
from crm.messaging.sms_keywords import opt_out_footer
from crm.messaging.sms_text import (
    SmsSegments,
    TemplateError,
    count_segments,
    non_gsm_characters,
    render_template,
    template_placeholders,
)
from crm.messaging.subscription_model import (
    TEMPLATE_LOCALES,
    Campaign,
    CampaignStatus,
    ConsentStatus,
    Recipient,
    Template,
    Topic,
)
from crm.messaging.subscriptions import SmsProgram, ensure_topics, sms_locale_for
from crm.organisation import audit
from crm.organisation.model import Staff
from crm.organisation.permissions import Actor, Scope
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "ALLOWED_FIELDS",
    "CampaignCard",
    "CampaignService",
    "HeldMessage",
    "Preview",
    "Reviewed",
    "SegmentSource",
    "Submitted",
    "with_footer",
]

ALLOWED_FIELDS: tuple[str, ...] = ("name", "company")
MAX_BODY = 1000  # room left for the opt-out line within one outbox SMS (1,600 characters)
PAGE = 8
MAX_REASON = 500
_LOCALE_FIELD = {"en": "body_en", "zh-Hant": "body_zh_hant", "zh-Hans": "body_zh_hans"}
_PREVIEW_NAME = {"en": "Alex Chen", "zh-Hant": "陳小明", "zh-Hans": "陈小明"}  # sample values for a preview


class SegmentSource(Protocol):
    """The customers of a saved segment, as the actor may see them (crm/segments.py)."""

    async def customer_ids(self, actor: Actor, segment_id: int) -> Sequence[int]: ...


@dataclass(frozen=True)
class Preview:
    """What one text costs: its length in the encoding's units, the encoding, the segments, and the price."""

    locale: str
    text: str
    segments: SmsSegments
    non_gsm: tuple[str, ...]
    cost: Money


@dataclass(frozen=True)
class CampaignCard:
    campaign: Campaign
    template: Template
    topic: Topic | None
    requester: Staff | None
    progress: Mapping[str, int]  # outbox rows per status, once submitted
    excluded: int = 0  # numbers left out at drafting: no consent, opted out, or no phone


@dataclass(frozen=True)
class Submitted:
    card: CampaignCard
    reviewers: tuple[Staff, ...]  # who should be told there is something to review


@dataclass(frozen=True)
class Reviewed:
    card: CampaignCard
    requester: Staff | None
    released: int  # outbox rows released (approve) or cancelled (reject)


@dataclass(frozen=True)
class HeldMessage:
    """A single SMS from a rep, waiting for review."""

    message: OutboxMessage
    requester: Staff | None
    segments: SmsSegments
    cost: Money


def with_footer(text: str, locale: str) -> str:
    """Marketing texts end with the opt-out line (once, even if the template already carries it)."""
    footer = opt_out_footer(locale)
    return text if footer in text else f"{text.rstrip()}\n{footer}"


def _locale(locale: str) -> str:
    if locale not in TEMPLATE_LOCALES:
        raise ValidationFailed("error.invalid")
    return locale


class CampaignService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, program: SmsProgram,
                 segments: SegmentSource | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self.program = program
        self.segments = segments

    # ---- templates ---------------------------------------------------------------------------------------

    async def templates(self, actor: Actor, page: int = 0) -> tuple[list[Template], bool]:
        actor.require("sms.send")
        async with self._uow(write=False) as uow:
            rows = list(await uow.messaging.templates.list(actor.scope_filter("communications"), offset=page * PAGE,
                                                     limit=PAGE + 1))
        return rows[:PAGE], len(rows) > PAGE

    async def template(self, actor: Actor, template_id: int) -> Template:
        actor.require("sms.send")
        async with self._uow(write=False) as uow:
            return await self._visible_template(uow, actor, template_id)

    @staticmethod
    async def _visible_template(uow: UnitOfWork, actor: Actor, template_id: int) -> Template:
        template = await uow.messaging.templates.get(template_id)
        if template is None:
            raise NotFound()
        department = await uow.customers.customers.owner_department(template.owner_id)
        if not actor.scope_filter("communications").allows(template.owner_id, department):
            raise NotFound()
        return template

    async def create_template(self, actor: Actor, name: str) -> Template:
        """A named template with no texts yet; each language's text is added with ``set_body``."""
        actor.require("sms.send")
        title = clean_text(name, "short_name", required=True) or ""
        now = self._clock.now()
        async with self._uow() as uow:
            template = await uow.messaging.templates.add(Template(0, title, "", "", "", actor.staff_id, now, now))
            await audit.record(uow, actor.staff_id, "create", "sms_template", template.id, {}, {"name": title})
            await uow.commit()
        return template

    def check_body(self, body: str) -> str:
        """A template text: not empty, not too long, and only the placeholders we can fill."""
        text = body.strip()
        if not text:
            raise ValidationFailed("subscriptions.body_empty")
        if len(text) > MAX_BODY:
            raise ValidationFailed("error.field_too_long", field="SMS", limit=MAX_BODY)
        unknown = [name for name in template_placeholders(text) if name not in ALLOWED_FIELDS]
        if unknown:
            raise ValidationFailed("subscriptions.bad_placeholder",
                                   names=", ".join(f"{{{n}}}" for n in unknown),
                                   allowed=", ".join(f"{{{n}}}" for n in ALLOWED_FIELDS))
        return text

    async def set_body(self, actor: Actor, template_id: int, locale: str, body: str) -> Template:
        actor.require("sms.send")
        field = _LOCALE_FIELD[_locale(locale)]
        text = self.check_body(body)
        now = self._clock.now()
        async with self._uow() as uow:
            before = await self._visible_template(uow, actor, template_id)
            await uow.messaging.templates.update(template_id, **{field: text, "updated_at": now})
            await audit.record(uow, actor.staff_id, "update", "sms_template", template_id,
                               {field: getattr(before, field)}, {field: text})
            await uow.commit()
            updated = await uow.messaging.templates.get(template_id)
        assert updated is not None
        return updated

    async def delete_template(self, actor: Actor, template_id: int) -> None:
        """Soft delete: campaigns made from it keep pointing at it; restorable."""
        actor.require("sms.send")
        now = self._clock.now()
        async with self._uow() as uow:
            await self._visible_template(uow, actor, template_id)
            await uow.messaging.templates.update(template_id, deleted_at=now)
            await audit.record(uow, actor.staff_id, "delete", "sms_template", template_id, {"deleted_at": None},
                               {"deleted_at": now})
            await uow.commit()

    async def restore_template(self, actor: Actor, template_id: int) -> Template:
        actor.require("trash.restore")
        async with self._uow() as uow:
            template = await uow.messaging.templates.get(template_id, include_deleted=True)
            if template is None or template.deleted_at is None:
                raise NotFound()
            department = await uow.customers.customers.owner_department(template.owner_id)
            if not actor.scope_filter("communications").allows(template.owner_id, department):
                raise NotFound()
            await uow.messaging.templates.update(template_id, deleted_at=None)
            await audit.record(uow, actor.staff_id, "restore", "sms_template", template_id,
                               {"deleted_at": template.deleted_at}, {"deleted_at": None})
            await uow.commit()
        return replace(template, deleted_at=None)

    def preview(self, text: str, locale: str, *, marketing: bool, values: Mapping[str, str] | None = None) -> Preview:
        """The live preview of one text: placeholders filled with sample values, the opt-out line added for
        marketing, then its characters, encoding (any Chinese character → UCS-2) and segments."""
        sample = {"name": _PREVIEW_NAME.get(locale, "Alex"), "company": self.program.program(locale)}
        sample.update(values or {})
        try:
            rendered = render_template(text, sample, allowed=ALLOWED_FIELDS)
        except TemplateError:
            rendered = text  # check_body reports bad placeholders; the preview still counts what was typed
        if marketing:
            rendered = with_footer(rendered, locale)
        segments = count_segments(rendered)
        price = self.program.segment_price
        return Preview(locale, rendered, segments, tuple(non_gsm_characters(rendered)),
                       Money(price.amount * segments.segments, price.currency))

    # ---- campaigns ---------------------------------------------------------------------------------------

    async def draft(self, actor: Actor, template_id: int, topic_key: str, *, segment_id: int | None = None
                    ) -> CampaignCard:
        """Count who would get it and what it costs; nothing is queued yet."""
        actor.require("sms.send")
        customer_ids = await self._segment_customers(actor, segment_id)
        now = self._clock.now()
        async with self._uow() as uow:
            template = await self._visible_template(uow, actor, template_id)
            topic = await self._topic(uow, topic_key, now)
            texts, excluded = await self._texts(uow, actor, template, topic, segment_id, customer_ids)
            if not texts:
                raise ValidationFailed("subscriptions.no_recipients")
            segments = sum(count_segments(text).segments for _, text in texts)
            price = self.program.segment_price
            campaign = await uow.messaging.campaigns.add(Campaign(
                id=0, template_id=template.id, topic=topic.key, status=CampaignStatus.DRAFT,
                requested_by=actor.staff_id, created_at=now, segment_id=segment_id, recipients=len(texts),
                segments=segments, estimated_cost=price.amount * segments, currency=price.currency,
                sample=texts[0][1]))
            await audit.record(uow, actor.staff_id, "create", "sms_campaign", campaign.id, {}, {
                "template_id": template.id, "topic": topic.key, "segment_id": segment_id,
                "recipients": len(texts), "segments": segments})
            requester = await uow.organisation.staff.get(actor.staff_id)
            await uow.commit()
        return CampaignCard(campaign, template, topic, requester, {}, excluded)

    async def _segment_customers(self, actor: Actor, segment_id: int | None) -> Sequence[int] | None:
        if segment_id is None:
            return None
        if self.segments is None:
            raise ValidationFailed("subscriptions.segments_unavailable")
        return await self.segments.customer_ids(actor, segment_id)

    @staticmethod
    async def _topic(uow: UnitOfWork, key: str, now: datetime) -> Topic:
        for topic in await ensure_topics(uow, now):
            if topic.key == key:
                return topic
        raise ValidationFailed("subscriptions.unknown_topic", topic=key[:40])

    async def _texts(self, uow: UnitOfWork, actor: Actor, template: Template, topic: Topic,
                     segment_id: int | None, customer_ids: Sequence[int] | None
                     ) -> tuple[list[tuple[Recipient, str]], int]:
        """Each number that would get the campaign, with its text; and how many were left out."""
        scope = actor.scope_filter("customers")
        if segment_id is None:
            candidates = list(await uow.messaging.subscriptions.subscribers(topic.key, scope))
            total = len(candidates)
        else:
            customers = await uow.messaging.campaigns.customers(customer_ids or (), scope)
            total = len(customers)
            candidates = [Recipient(c.phones[0], c.short_name or c.name, customer_id=c.id)
                          for c in customers if c.phones]
        unique = list({r.phone: r for r in candidates}.values())
        latest = await uow.messaging.subscriptions.latest([r.phone for r in unique])
        out: list[tuple[Recipient, str]] = []
        for recipient in unique:
            event = latest.get(recipient.phone, {}).get(topic.key)
            status = event.status if event else ConsentStatus.NONE
            if status is ConsentStatus.OPTED_OUT or (topic.marketing and status is not ConsentStatus.OPTED_IN):
                continue
            locale, body = template.body_for(sms_locale_for(recipient.phone))
            if not body:
                raise ValidationFailed("subscriptions.body_empty")
            text = render_template(body, {"name": recipient.name, "company": self.program.program(locale)},
                                   allowed=ALLOWED_FIELDS)
            out.append((recipient, with_footer(text, locale) if topic.marketing else text))
        return out, total - len(out)

    async def submit(self, actor: Actor, campaign_id: int) -> Submitted:
        """Queue the texts held for review and name the reviewers to tell."""
        actor.require("sms.send")
        customer_ids: Sequence[int] | None = None
        async with self._uow(write=False) as uow:
            campaign = await self._own_campaign(uow, actor, campaign_id)
        if campaign.segment_id is not None:
            customer_ids = await self._segment_customers(actor, campaign.segment_id)
        now = self._clock.now()
        async with self._uow() as uow:
            campaign = await self._own_campaign(uow, actor, campaign_id)
            if campaign.status is not CampaignStatus.DRAFT:
                raise Conflict("subscriptions.not_a_draft")
            template = await uow.messaging.templates.get(campaign.template_id)
            if template is None:
                raise NotFound()
            topic = await self._topic(uow, campaign.topic, now)
            # Counted again: consent may have changed since the draft.
            texts, _ = await self._texts(uow, actor, template, topic, campaign.segment_id, customer_ids)
            if not texts:
                raise ValidationFailed("subscriptions.no_recipients")
            # One outbox row per number, held until a reviewer approves; written in bulk (thousands of rows must
            # not hold SQLite's write lock for long).
            await uow.messaging.campaigns.hold_many([NewOutboxMessage(
                OutboxChannel.SMS, recipient.phone, text, topic=topic.key, campaign_id=campaign.id,
                customer_id=recipient.customer_id, contact_id=recipient.contact_id, lead_id=recipient.lead_id,
                requested_by=actor.staff_id, idempotency_key=f"campaign:{campaign.id}:{recipient.phone}",
                held=True) for recipient, text in texts], now)
            segments = sum(count_segments(text).segments for _, text in texts)
            cost = self.program.segment_price.amount * segments
            moved = await uow.messaging.campaigns.set_status(
                campaign.id, CampaignStatus.PENDING_REVIEW, CampaignStatus.DRAFT, submitted_at=now,
                recipients=len(texts), segments=segments, estimated_cost=cost, sample=texts[0][1])
            if not moved:
                raise Conflict("subscriptions.not_a_draft")
            await audit.record(uow, actor.staff_id, "submit", "sms_campaign", campaign.id,
                               {"status": campaign.status.value},
                               {"status": CampaignStatus.PENDING_REVIEW.value, "recipients": len(texts),
                                "segments": segments, "estimated_cost": cost})
            requester = await uow.organisation.staff.get(actor.staff_id)
            reviewers = await self._reviewers_for(uow, requester)
            card = await self._card(uow, campaign.id)
            await uow.commit()
        return Submitted(card, reviewers)

    async def _own_campaign(self, uow: UnitOfWork, actor: Actor, campaign_id: int) -> Campaign:
        campaign = await uow.messaging.campaigns.get(campaign_id)
        if campaign is None or campaign.requested_by != actor.staff_id:
            raise NotFound()
        return campaign

    async def _visible_campaign(self, uow: UnitOfWork, actor: Actor, campaign_id: int) -> Campaign:
        campaign = await uow.messaging.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound()
        department = await uow.customers.customers.owner_department(campaign.requested_by)
        if not actor.scope_filter("communications").allows(campaign.requested_by, department):
            raise NotFound()
        return campaign

    async def _card(self, uow: UnitOfWork, campaign_id: int) -> CampaignCard:
        campaign = await uow.messaging.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound()
        template = await uow.messaging.templates.get(campaign.template_id, include_deleted=True)
        if template is None:
            raise NotFound()
        topics = {t.key: t for t in await uow.messaging.subscriptions.topics()}
        requester = await uow.organisation.staff.get(campaign.requested_by)
        progress = await uow.messaging.campaigns.progress(campaign.id)
        return CampaignCard(campaign, template, topics.get(campaign.topic), requester, progress)

    async def card(self, actor: Actor, campaign_id: int) -> CampaignCard:
        """The campaign with its progress; approved campaigns become ``done`` once nothing is left to send."""
        if not (actor.can("sms.send") or actor.can("sms.review")):
            actor.require("sms.send")
        async with self._uow(write=False) as uow:
            await self._visible_campaign(uow, actor, campaign_id)
            card = await self._card(uow, campaign_id)
        if card.campaign.status is CampaignStatus.APPROVED and card.progress and not any(
                card.progress.get(s.value) for s in (OutboxStatus.HELD, OutboxStatus.QUEUED, OutboxStatus.SENDING)):
            async with self._uow() as uow:
                if await uow.messaging.campaigns.set_status(campaign_id, CampaignStatus.DONE, CampaignStatus.APPROVED):
                    await audit.record(uow, None, "done", "sms_campaign", campaign_id,
                                       {"status": "approved"}, {"status": "done"})
                    await uow.commit()
                card = await self._card(uow, campaign_id)
        return card

    async def campaigns(self, actor: Actor, page: int = 0) -> tuple[list[Campaign], bool]:
        actor.require("sms.send")
        async with self._uow(write=False) as uow:
            rows = list(await uow.messaging.campaigns.list(actor.scope_filter("communications"), offset=page * PAGE,
                                                 limit=PAGE + 1))
        return rows[:PAGE], len(rows) > PAGE

    # ---- review ---------------------------------------------------------------------------------------------

    async def pending(self, actor: Actor) -> tuple[list[Campaign], list[HeldMessage]]:
        """Campaigns and single texts waiting for this reviewer, oldest first."""
        actor.require("sms.review")
        scope = actor.scope_filter("communications")
        async with self._uow(write=False) as uow:
            campaigns = list(await uow.messaging.campaigns.list(scope, statuses=[CampaignStatus.PENDING_REVIEW],
                                                                limit=50))
            held = await uow.messaging.campaigns.held_messages(scope, limit=50)
            people = {s.id: s for s in [await uow.organisation.staff.get(i) for i in {m.requested_by for m in held
                                                                         if m.requested_by}] if s}
        return (sorted(campaigns, key=lambda c: c.id),
                [self._held(m, people.get(m.requested_by or 0)) for m in held])

    def _held(self, message: OutboxMessage, requester: Staff | None) -> HeldMessage:
        segments = count_segments(message.body)
        price = self.program.segment_price
        return HeldMessage(message, requester, segments, Money(price.amount * segments.segments, price.currency))

    async def review_card(self, actor: Actor, campaign_id: int) -> CampaignCard:
        actor.require("sms.review")
        async with self._uow(write=False) as uow:
            await self._visible_campaign(uow, actor, campaign_id)
            return await self._card(uow, campaign_id)

    @staticmethod
    def _check_reviewer(actor: Actor, requested_by: int | None) -> None:
        # Four eyes: a reviewer does not pass their own texts, unless they may send directly anyway.
        if requested_by == actor.staff_id and not actor.can("sms.send_direct"):
            raise Conflict("subscriptions.review_own")

    async def approve(self, actor: Actor, campaign_id: int) -> Reviewed:
        actor.require("sms.review")
        now = self._clock.now()
        async with self._uow() as uow:
            campaign = await self._visible_campaign(uow, actor, campaign_id)
            self._check_reviewer(actor, campaign.requested_by)
            if not await uow.messaging.campaigns.set_status(campaign_id, CampaignStatus.APPROVED,
                                                  CampaignStatus.PENDING_REVIEW, reviewed_by=actor.staff_id,
                                                  reviewed_at=now):
                raise Conflict("subscriptions.already_reviewed")
            released = await release_held(uow, campaign_id=campaign_id)
            await audit.record(uow, actor.staff_id, "approve", "sms_campaign", campaign_id,
                               {"status": campaign.status.value},
                               {"status": CampaignStatus.APPROVED.value, "released": released})
            card = await self._card(uow, campaign_id)
            await uow.commit()
        return Reviewed(card, card.requester, released)

    async def reject(self, actor: Actor, campaign_id: int, reason: str) -> Reviewed:
        actor.require("sms.review")
        text = self._reason(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            campaign = await self._visible_campaign(uow, actor, campaign_id)
            self._check_reviewer(actor, campaign.requested_by)
            if not await uow.messaging.campaigns.set_status(campaign_id, CampaignStatus.REJECTED,
                                                  CampaignStatus.PENDING_REVIEW, reviewed_by=actor.staff_id,
                                                  reviewed_at=now, reason=text):
                raise Conflict("subscriptions.already_reviewed")
            cancelled = await cancel_pending(uow, channel=OutboxChannel.SMS, campaign_id=campaign_id,
                                             reason="rejected")
            await audit.record(uow, actor.staff_id, "reject", "sms_campaign", campaign_id,
                               {"status": campaign.status.value},
                               {"status": CampaignStatus.REJECTED.value, "reason": text, "cancelled": cancelled})
            card = await self._card(uow, campaign_id)
            await uow.commit()
        return Reviewed(card, card.requester, cancelled)

    @staticmethod
    def _reason(reason: str) -> str:
        text = " ".join(reason.split())
        if not text:
            raise ValidationFailed("subscriptions.reason_required")
        if len(text) > MAX_REASON:
            raise ValidationFailed("error.field_too_long", field="reason", limit=MAX_REASON)
        return text

    async def held_message(self, actor: Actor, message_id: int) -> HeldMessage:
        actor.require("sms.review")
        async with self._uow(write=False) as uow:
            message = await self._visible_held(uow, actor, message_id)
            requester = await uow.organisation.staff.get(message.requested_by) if message.requested_by else None
        return self._held(message, requester)

    @staticmethod
    async def _visible_held(uow: UnitOfWork, actor: Actor, message_id: int) -> OutboxMessage:
        message = await uow.messaging.outbox.get(message_id)
        if message is None or message.channel is not OutboxChannel.SMS or message.campaign_id is not None:
            raise NotFound()
        owner = message.requested_by
        department = await uow.customers.customers.owner_department(owner) if owner is not None else None
        if owner is None or not actor.scope_filter("communications").allows(owner, department):
            raise NotFound()
        if message.status is not OutboxStatus.HELD:
            raise Conflict("subscriptions.already_reviewed")
        return message

    async def approve_message(self, actor: Actor, message_id: int) -> HeldMessage:
        actor.require("sms.review")
        async with self._uow() as uow:
            message = await self._visible_held(uow, actor, message_id)
            self._check_reviewer(actor, message.requested_by)
            if await release_held(uow, message_ids=[message_id]) != 1:
                raise Conflict("subscriptions.already_reviewed")
            await audit.record(uow, actor.staff_id, "approve", "outbox", message_id, {"status": "held"},
                               {"status": "queued"})
            requester = await uow.organisation.staff.get(message.requested_by) if message.requested_by else None
            await uow.commit()
        return self._held(message, requester)

    async def reject_message(self, actor: Actor, message_id: int, reason: str) -> HeldMessage:
        actor.require("sms.review")
        text = self._reason(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            message = await self._visible_held(uow, actor, message_id)
            self._check_reviewer(actor, message.requested_by)
            if not await uow.messaging.campaigns.cancel_held(message_id, f"rejected: {text}"[:1000], now):
                raise Conflict("subscriptions.already_reviewed")
            await audit.record(uow, actor.staff_id, "reject", "outbox", message_id, {"status": "held"},
                               {"status": "cancelled", "reason": text})
            requester = await uow.organisation.staff.get(message.requested_by) if message.requested_by else None
            await uow.commit()
        return self._held(message, requester)

    async def claim_new_held(self, limit: int = 50) -> list[tuple[HeldMessage, tuple[Staff, ...]]]:
        """Single texts held since the last call, each with the reviewers to tell. A high-water mark in the
        database is advanced atomically, so two bot processes never announce the same text twice."""
        async with self._uow() as uow:
            last = await uow.messaging.campaigns.announced_up_to()
            fresh = await uow.messaging.campaigns.held_since(last, limit=limit)
            if not fresh or not await uow.messaging.campaigns.advance_announced(last, fresh[-1].id):
                return []
            out: list[tuple[HeldMessage, tuple[Staff, ...]]] = []
            for message in fresh:
                requester = await uow.organisation.staff.get(message.requested_by) if message.requested_by else None
                out.append((self._held(message, requester), await self._reviewers_for(uow, requester)))
            await uow.commit()
        return out

    async def _reviewers_for(self, uow: UnitOfWork, requester: Staff | None) -> tuple[Staff, ...]:
        """Active holders of ``sms.review`` whose communications scope covers the requester, not the requester."""
        if requester is None:
            return ()
        departments = {d.id: d.parent_id for d in await uow.organisation.departments.list_all()}
        out: list[Staff] = []
        for person in await uow.messaging.subscriptions.staff_with_permission("sms.review"):
            if person.id == requester.id:
                continue
            role = await uow.organisation.roles.get(person.role_id)
            scope = role.scopes.get("communications", Scope.OWN) if role else Scope.OWN
            if scope is Scope.ALL or (scope is Scope.DEPARTMENT and person.department_id == requester.department_id) \
                    or (scope is Scope.DEPARTMENT_TREE and _under(requester.department_id, person.department_id,
                                                                 departments)):
                out.append(person)
        return tuple(out)


def _under(department_id: int, ancestor_id: int, parents: Mapping[int, int | None]) -> bool:
    seen: set[int] = set()
    current: int | None = department_id
    while current is not None and current not in seen:
        if current == ancestor_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False
