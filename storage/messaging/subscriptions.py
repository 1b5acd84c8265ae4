"""Repositories for SMS topics, consent events, templates and campaigns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from crm.customers.model import Customer, EntityKind, LeadStatus
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, OutboxMessage, OutboxStatus
from crm.messaging.subscription_model import (
    Campaign,
    CampaignStatus,
    ConsentChannel,
    ConsentEvent,
    ConsentStatus,
    PartyLink,
    Recipient,
    Template,
    Topic,
)
from crm.organisation.model import Staff
from crm.organisation.permissions import ScopeFilter
from storage import tables as t
from storage.customers.repositories import _customer
from storage.messaging.outbox import _message
from storage.organisation.repositories import scope_clause


def _topic(row: Row[Any]) -> Topic:
    return Topic(row.id, row.key, row.name_en, row.name_zh_hant, row.name_zh_hans, row.marketing)


def _event(row: Row[Any]) -> ConsentEvent:
    return ConsentEvent(
        phone=row.phone, topic=row.topic, status=ConsentStatus(row.status), changed_at=row.changed_at,
        channel=ConsentChannel(row.channel), evidence=row.evidence, customer_id=row.customer_id,
        contact_id=row.contact_id, lead_id=row.lead_id, recorded_by=row.recorded_by, id=row.id,
    )


def _template(row: Row[Any]) -> Template:
    return Template(id=row.id, name=row.name, body_en=row.body_en, body_zh_hant=row.body_zh_hant,
                    body_zh_hans=row.body_zh_hans, owner_id=row.owner_id, created_at=row.created_at,
                    updated_at=row.updated_at, deleted_at=row.deleted_at)


def _campaign(row: Row[Any]) -> Campaign:
    return Campaign(
        id=row.id, template_id=row.template_id, topic=row.topic, status=CampaignStatus(row.status),
        requested_by=row.requested_by, created_at=row.created_at, segment_id=row.segment_id,
        recipients=row.recipients, segments=row.estimated_segments, estimated_cost=row.estimated_cost,
        currency=row.currency, sample=row.sample or "", reviewed_by=row.reviewed_by, reason=row.reason,
        submitted_at=row.submitted_at, reviewed_at=row.reviewed_at,
    )


ANNOUNCED_KEY = "sms_review.announced_up_to"


def _phone_term(e164: str) -> str:
    return "p:" + "".join(ch for ch in e164 if ch.isdigit())[::-1]


class SqlSubscriptionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def topics(self) -> Sequence[Topic]:
        q = select(t.sms_topics).where(t.sms_topics.c.deleted_at.is_(None)).order_by(t.sms_topics.c.id)
        return [_topic(r) for r in await self._c.execute(q)]

    async def add_topics(self, topics: Sequence[Topic], at: datetime) -> None:
        rows = [{"key": x.key, "name_en": x.name_en, "name_zh_hant": x.name_zh_hant, "name_zh_hans": x.name_zh_hans,
                 "marketing": x.marketing, "created_at": at} for x in topics]
        if rows:
            await self._c.execute(insert(t.sms_topics), rows)

    async def add_consents(self, events: Sequence[ConsentEvent]) -> None:
        rows = [{"phone": e.phone, "topic": e.topic, "status": e.status.value, "changed_at": e.changed_at,
                 "channel": e.channel.value, "evidence": e.evidence, "customer_id": e.customer_id,
                 "contact_id": e.contact_id, "lead_id": e.lead_id, "recorded_by": e.recorded_by} for e in events]
        if rows:
            await self._c.execute(insert(t.sms_consents), rows)

    async def latest(self, phones: Sequence[str]) -> Mapping[str, Mapping[str, ConsentEvent]]:
        out: dict[str, dict[str, ConsentEvent]] = {phone: {} for phone in phones}
        if not phones:
            return out
        c = t.sms_consents.c
        newest = (select(func.max(c.id)).where(c.phone.in_(sorted(set(phones)))).group_by(c.phone, c.topic)
                  .scalar_subquery())
        for row in await self._c.execute(select(t.sms_consents).where(c.id.in_(newest))):
            out[row.phone][row.topic] = _event(row)
        return out

    async def history(self, phone: str, *, limit: int = 50) -> Sequence[ConsentEvent]:
        c = t.sms_consents.c
        q = select(t.sms_consents).where(c.phone == phone).order_by(c.id.desc()).limit(limit)
        return [_event(r) for r in await self._c.execute(q)]

    async def subscribers(self, topic: str, scope: ScopeFilter) -> Sequence[Recipient]:
        c = t.sms_consents.c
        newest = select(func.max(c.id)).where(c.topic == topic).group_by(c.phone).scalar_subquery()
        cu = t.customers.alias("cu")
        co = t.contacts.alias("co")
        cc = t.customers.alias("cc")  # the contact's customer
        le = t.leads.alias("le")
        owner = func.coalesce(cu.c.owner_id, cc.c.owner_id, le.c.owner_id)
        name = func.coalesce(co.c.name, cu.c.short_name, cu.c.name, le.c.name, literal(""))
        q = (
            select(c.phone, c.customer_id, c.contact_id, c.lead_id, name.label("name"))
            .select_from(
                t.sms_consents
                .outerjoin(cu, and_(cu.c.id == c.customer_id, cu.c.deleted_at.is_(None)))
                .outerjoin(co, and_(co.c.id == c.contact_id, co.c.deleted_at.is_(None)))
                .outerjoin(cc, and_(cc.c.id == co.c.customer_id, cc.c.deleted_at.is_(None)))
                .outerjoin(le, and_(le.c.id == c.lead_id, le.c.deleted_at.is_(None)))
            )
            .where(c.id.in_(newest), c.status == ConsentStatus.OPTED_IN.value, scope_clause(scope, owner))
            .order_by(c.phone)
        )
        return [Recipient(r.phone, r.name or "", r.customer_id, r.contact_id, r.lead_id)
                for r in await self._c.execute(q)]

    async def parties_by_phone(self, e164: str) -> PartyLink:
        st = t.search_terms.c
        rows = (await self._c.execute(select(st.entity, st.entity_id).where(st.term == _phone_term(e164))
                                      .order_by(st.entity_id))).all()
        ids: dict[str, list[int]] = {}
        for entity, entity_id in rows:
            ids.setdefault(entity, []).append(entity_id)
        customer_id = contact_id = lead_id = None
        if ids.get(EntityKind.CUSTOMER.value):
            q = select(t.customers.c.id).where(t.customers.c.id.in_(ids[EntityKind.CUSTOMER.value]),
                                               t.customers.c.deleted_at.is_(None)).order_by(t.customers.c.id)
            customer_id = (await self._c.execute(q.limit(1))).scalar()
        if ids.get(EntityKind.CONTACT.value):
            co = t.contacts.c
            q = (select(co.id, co.customer_id).where(co.id.in_(ids[EntityKind.CONTACT.value]), co.deleted_at.is_(None))
                 .order_by(co.id).limit(1))
            row = (await self._c.execute(q)).first()
            if row is not None:
                contact_id = row.id
                customer_id = customer_id or row.customer_id
        if ids.get(EntityKind.LEAD.value):
            le = t.leads.c
            q = (select(le.id).where(le.id.in_(ids[EntityKind.LEAD.value]), le.deleted_at.is_(None),
                                     le.status != LeadStatus.CONVERTED.value).order_by(le.id).limit(1))
            lead_id = (await self._c.execute(q)).scalar()
        return PartyLink(customer_id, contact_id, lead_id)

    async def staff_with_permission(self, operation: str) -> Sequence[Staff]:
        s, r = t.staff.c, t.roles.c
        q = (select(t.staff, r.permissions.label("role_permissions"))
             .select_from(t.staff.join(t.roles, r.id == s.role_id))
             .where(s.active.is_(True), s.deleted_at.is_(None), r.deleted_at.is_(None)).order_by(s.id))
        out: list[Staff] = []
        for row in await self._c.execute(q):
            if operation in row.role_permissions:
                out.append(Staff(id=row.id, name=row.name, role_id=row.role_id, department_id=row.department_id,
                                 telegram_user_id=row.telegram_user_id, username=row.username, locale=row.locale,
                                 timezone=row.timezone, active=row.active, created_at=row.created_at))
        return out

    async def default_lead_owner(self) -> int | None:
        for operation in ("customers.handover", "customers.create"):
            people = await self.staff_with_permission(operation)
            if people:
                return people[0].id
        return None


class SqlTemplateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, template: Template) -> Template:
        values = {"name": template.name, "body_en": template.body_en, "body_zh_hant": template.body_zh_hant,
                  "body_zh_hans": template.body_zh_hans, "owner_id": template.owner_id,
                  "created_at": template.created_at, "updated_at": template.updated_at or template.created_at}
        new_id = (await self._c.execute(insert(t.sms_templates).values(**values)
                                        .returning(t.sms_templates.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, template_id: int, *, include_deleted: bool = False) -> Template | None:
        q = select(t.sms_templates).where(t.sms_templates.c.id == template_id)
        if not include_deleted:
            q = q.where(t.sms_templates.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _template(row) if row else None

    async def update(self, template_id: int, **fields: Any) -> None:
        await self._c.execute(update(t.sms_templates).where(t.sms_templates.c.id == template_id).values(**fields))

    async def list(self, scope: ScopeFilter, *, offset: int = 0, limit: int = 20) -> Sequence[Template]:
        c = t.sms_templates.c
        q = (select(t.sms_templates).where(c.deleted_at.is_(None), scope_clause(scope, c.owner_id))
             .order_by(c.name, c.id).offset(offset).limit(limit))
        return [_template(r) for r in await self._c.execute(q)]


class SqlCampaignRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, campaign: Campaign) -> Campaign:
        values = {
            "template_id": campaign.template_id, "segment_id": campaign.segment_id, "topic": campaign.topic,
            "status": campaign.status.value, "requested_by": campaign.requested_by,
            "recipients": campaign.recipients, "estimated_segments": campaign.segments,
            "estimated_cost": Decimal(campaign.estimated_cost), "currency": campaign.currency,
            "sample": campaign.sample, "created_at": campaign.created_at,
        }
        new_id = (await self._c.execute(insert(t.sms_campaigns).values(**values)
                                        .returning(t.sms_campaigns.c.id))).scalar_one()
        added = await self.get(new_id)
        assert added is not None
        return added

    async def get(self, campaign_id: int) -> Campaign | None:
        row = (await self._c.execute(select(t.sms_campaigns).where(t.sms_campaigns.c.id == campaign_id))).first()
        return _campaign(row) if row else None

    async def set_status(self, campaign_id: int, status: CampaignStatus, expected: CampaignStatus,
                         **fields: Any) -> bool:
        c = t.sms_campaigns.c
        if "segments" in fields:
            fields["estimated_segments"] = fields.pop("segments")
        result = await self._c.execute(update(t.sms_campaigns).where(c.id == campaign_id, c.status == expected.value)
                                       .values(status=status.value, **fields))
        return bool(result.rowcount == 1)

    async def list(self, scope: ScopeFilter, *, statuses: Sequence[CampaignStatus] | None = None,
                   offset: int = 0, limit: int = 20) -> Sequence[Campaign]:
        c = t.sms_campaigns.c
        where: list[ColumnElement[bool]] = [scope_clause(scope, c.requested_by)]
        if statuses:
            where.append(c.status.in_([s.value for s in statuses]))
        q = select(t.sms_campaigns).where(*where).order_by(c.id.desc()).offset(offset).limit(limit)
        return [_campaign(r) for r in await self._c.execute(q)]

    async def customers(self, ids: Sequence[int], scope: ScopeFilter) -> Sequence[Customer]:
        if not ids:
            return []
        c = t.customers.c
        out: list[Customer] = []
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):  # keep IN lists a size every driver takes
            chunk = unique[start:start + 500]
            q = (select(t.customers).where(c.id.in_(chunk), c.deleted_at.is_(None), scope_clause(scope, c.owner_id))
                 .order_by(c.id))
            out.extend(_customer(r) for r in await self._c.execute(q))
        return out


    async def progress(self, campaign_id: int) -> Mapping[str, int]:
        o = t.outbox.c
        rows = await self._c.execute(select(o.status, func.count()).where(o.campaign_id == campaign_id)
                                     .group_by(o.status))
        return {status: int(count) for status, count in rows}

    def _held(self) -> Any:
        o = t.outbox.c
        return (select(t.outbox).where(o.status == OutboxStatus.HELD.value, o.channel == OutboxChannel.SMS.value,
                                       o.campaign_id.is_(None)))

    async def held_messages(self, scope: ScopeFilter, *, limit: int = 50) -> Sequence[OutboxMessage]:
        o = t.outbox.c
        q = self._held().where(o.requested_by.is_not(None), scope_clause(scope, o.requested_by))
        return [_message(r) for r in await self._c.execute(q.order_by(o.id).limit(limit))]

    async def held_since(self, after_id: int, *, limit: int = 100) -> Sequence[OutboxMessage]:
        o = t.outbox.c
        q = self._held().where(o.id > after_id).order_by(o.id).limit(limit)
        return [_message(r) for r in await self._c.execute(q)]

    async def hold_many(self, messages: Sequence[NewOutboxMessage], at: datetime) -> None:
        """Write a campaign's texts into the outbox, held, in a few statements instead of one round trip each:
        the same row SqlOutboxRepository.add writes for a held SMS (no attachments), and the same rule for a
        repeated idempotency key (the first row stands)."""
        rows = [{
            "channel": m.channel.value, "status": OutboxStatus.HELD.value, "recipient": m.recipient,
            "subject": m.subject, "body": m.body, "html": m.html, "topic": m.topic, "campaign_id": m.campaign_id,
            "customer_id": m.customer_id, "contact_id": m.contact_id, "lead_id": m.lead_id,
            "requested_by": m.requested_by, "idempotency_key": m.idempotency_key, "attempts": 0,
            "due_at": m.not_before or at, "notify_pending": False, "created_at": at, "updated_at": at,
        } for m in messages if m.held and not m.attachments]
        if len(rows) != len(messages):
            raise ValueError("hold_many takes held messages without attachments")
        insert_outbox = postgresql.insert(t.outbox) if self._c.dialect.name == "postgresql" else sqlite.insert(t.outbox)
        statement = insert_outbox.on_conflict_do_nothing(index_elements=["idempotency_key"])
        for start in range(0, len(rows), 500):
            await self._c.execute(statement, rows[start:start + 500])

    async def announced_up_to(self) -> int:
        value = (await self._c.execute(select(t.app_kv.c.value).where(t.app_kv.c.key == ANNOUNCED_KEY))).scalar()
        return int(value) if value else 0

    async def advance_announced(self, old: int, new: int) -> bool:
        kv = t.app_kv.c
        insert_kv = (postgresql.insert(t.app_kv) if self._c.dialect.name == "postgresql" else sqlite.insert(t.app_kv))
        await self._c.execute(insert_kv.values(key=ANNOUNCED_KEY, value="0").on_conflict_do_nothing(
            index_elements=["key"]))
        result = await self._c.execute(update(t.app_kv).where(kv.key == ANNOUNCED_KEY, kv.value == str(old))
                                       .values(value=str(new)))
        return bool(result.rowcount == 1)

    async def cancel_held(self, message_id: int, reason: str, at: datetime) -> bool:
        o = t.outbox.c
        result = await self._c.execute(
            update(t.outbox).where(o.id == message_id, o.status == OutboxStatus.HELD.value)
            .values(status=OutboxStatus.CANCELLED.value, last_error=reason, finished_at=at, updated_at=at,
                    notify_pending=o.notify_chat_id.is_not(None)))
        return bool(result.rowcount == 1)


__all__ = ["SqlCampaignRepository", "SqlSubscriptionRepository", "SqlTemplateRepository"]
