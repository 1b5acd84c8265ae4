"""Sending an SMS, e-mail or fax to a customer, contact or lead from chat, and seeing what became of it.

A rep without ``sms.send_direct`` can still send SMS, but the message is ``held`` until a reviewer releases it
(the review flow lives with the SMS subscriptions area). E-mail and fax go straight to the queue. The outbox row
and the audit row are written in one transaction; the dispatcher sends later and the chat shows the progress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from crm.core.clock import Clock
from crm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from crm.customers import phones
from crm.customers.contacts_leads import visible_contact, visible_lead
from crm.customers.customers import clean_email, visible_customer
from crm.customers.model import EntityKind
from crm.messaging.outbox import AttachmentSpec, NewOutboxMessage, OutboxChannel, OutboxMessage, OutboxStatus, enqueue
from crm.messaging.ports.fax import InvalidFaxNumber, normalize_fax_number
from crm.messaging.ports.outbox import ConsentRecorder, EarlyReport, NoConsentRecords
from crm.messaging.ports.sms import MAX_BODY_CHARS, OPTED_OUT_ERROR_CODE
from crm.organisation import audit
from crm.organisation.permissions import Actor
from crm.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "SETTINGS_FOR",
    "DeliveryReport",
    "MessagingService",
    "Notice",
    "Recipient",
    "SendKind",
]

MAX_SUBJECT = 200
MAX_EMAIL_TEXT = 20_000
MAX_FAX_COVER = 2_000
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # what mail servers commonly accept, after base64 growth
RECENT_LIMIT = 10
# A report kept for a provider id no message carries is normally matched within milliseconds (the dispatcher's
# next flush). One still unmatched after a day belongs to a send whose outcome was never recorded (a crash
# mid-send, a "may have been sent" timeout): nothing will claim it.
UNMATCHED_REPORT_TTL = timedelta(hours=24)

# What an administrator sets to make a channel work; named in the "not configured" reply.
SETTINGS_FOR: Mapping[OutboxChannel, str] = {
    OutboxChannel.SMS: "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (or TWILIO_MESSAGING_SERVICE_SID)",
    OutboxChannel.EMAIL: "SMTP_HOST and MAIL_FROM (and SMTP_USERNAME, SMTP_PASSWORD, SMTP_SECURITY as needed)",
    OutboxChannel.FAX: "FAX_GATEWAY=email with FAX_EMAIL_TEMPLATE and SMTP, or FAX_GATEWAY=http with FAX_HTTP_URL and "
                       "FAX_HTTP_TOKEN",
    OutboxChannel.TELEGRAM: "TELEGRAM_BOT_TOKEN",
}

_OPERATION = {OutboxChannel.SMS: "sms.send", OutboxChannel.EMAIL: "email.send", OutboxChannel.FAX: "fax.send"}


class SendKind(StrEnum):
    """Who a message from chat goes to: the record kinds that have phones and e-mail addresses."""

    CUSTOMER = EntityKind.CUSTOMER.value
    CONTACT = EntityKind.CONTACT.value
    LEAD = EntityKind.LEAD.value


@dataclass(frozen=True)
class Recipient:
    kind: SendKind
    id: int
    name: str
    phones: tuple[str, ...]
    email: str | None
    customer_id: int | None
    contact_id: int | None = None
    lead_id: int | None = None


@dataclass(frozen=True)
class Notice:
    """A status change to show the person who sent the message, in their language and time zone."""

    message: OutboxMessage
    locale: str | None
    timezone: str | None


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's delivery report, as the HTTP endpoint read it."""

    provider_id: str
    status: str  # the provider's word: queued / sent / delivered / undelivered / failed / ...
    error_code: str | None = None
    error_message: str | None = None


_REPORTED = {"delivered": OutboxStatus.DELIVERED, "read": OutboxStatus.DELIVERED,
             "undelivered": OutboxStatus.FAILED, "failed": OutboxStatus.FAILED}


class MessagingService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, unconfigured: Mapping[OutboxChannel, str] | None = None,
                 consent: ConsentRecorder | None = None, phone_region: str = "TW") -> None:
        self._uow = uow
        self._clock = clock
        self.unconfigured = dict(unconfigured or {})
        self._consent: ConsentRecorder = consent or NoConsentRecords()
        self._region = phone_region

    def set_consent(self, consent: ConsentRecorder) -> None:
        self._consent = consent

    def ready(self, channel: OutboxChannel) -> bool:
        return channel not in self.unconfigured

    def _require_channel(self, actor: Actor, channel: OutboxChannel) -> None:
        actor.require(_OPERATION[channel])
        if channel in self.unconfigured:
            settings = self.unconfigured[channel]
            if channel is OutboxChannel.SMS:
                raise DomainError("messaging.not_configured_sms", settings=settings)
            if channel is OutboxChannel.EMAIL:
                raise DomainError("messaging.not_configured_email", settings=settings)
            raise DomainError("messaging.not_configured_fax", settings=settings)

    # ---- who ------------------------------------------------------------------------------------------------

    async def recipient(self, actor: Actor, kind: SendKind | str, record_id: int) -> Recipient:
        """Who a card's Send button is for: a record in the actor's scope, for someone who may send at all."""
        if not any(actor.can(operation) for operation in _OPERATION.values()):
            raise PermissionDenied()
        async with self._uow(write=False) as uow:
            return await self._recipient(uow, actor, SendKind(kind), record_id)

    async def prepare(self, actor: Actor, channel: OutboxChannel, kind: SendKind | str, record_id: int) -> Recipient:
        """Before a rep starts writing: may they use this channel, is it configured, does the record (in their
        scope) have a number or an address for it?"""
        self._require_channel(actor, channel)
        async with self._uow(write=False) as uow:
            who = await self._recipient(uow, actor, SendKind(kind), record_id)
        if channel is OutboxChannel.SMS and not who.phones:
            raise ValidationFailed("messaging.no_phone", name=who.name)
        if channel is OutboxChannel.EMAIL and not who.email:
            raise ValidationFailed("messaging.no_email", name=who.name)
        return who

    @staticmethod
    def check_sms_text(body: str) -> str:
        text = body.strip()
        if not text:
            raise ValidationFailed("messaging.empty_text")
        if len(text) > MAX_BODY_CHARS:
            raise ValidationFailed("messaging.sms_too_long", limit=MAX_BODY_CHARS, length=len(text))
        return text

    @staticmethod
    def check_subject(subject: str) -> str:
        text = " ".join(subject.split())
        if not text:
            raise ValidationFailed("messaging.empty_subject")
        if len(text) > MAX_SUBJECT:
            raise ValidationFailed("messaging.subject_too_long", limit=MAX_SUBJECT)
        return text

    @staticmethod
    async def _recipient(uow: UnitOfWork, actor: Actor, kind: SendKind, record_id: int) -> Recipient:
        if kind is SendKind.CUSTOMER:
            customer = await visible_customer(uow, actor, record_id)
            return Recipient(kind, customer.id, customer.name, customer.phones, customer.email, customer.id)
        if kind is SendKind.CONTACT:
            contact, customer = await visible_contact(uow, actor, record_id)
            return Recipient(kind, contact.id, f"{contact.name} ({customer.name})", contact.phones, contact.email,
                             customer.id, contact_id=contact.id)
        lead = await visible_lead(uow, actor, record_id)
        return Recipient(kind, lead.id, lead.name, lead.phones, lead.email, lead.converted_customer_id,
                         lead_id=lead.id)

    # ---- send -----------------------------------------------------------------------------------------------

    async def send_sms(self, actor: Actor, kind: SendKind | str, record_id: int, body: str, *, to: str | None = None,
                       draft_key: str) -> OutboxMessage:
        """Queue an SMS to one of the record's numbers (the first one unless ``to``); ``held`` for review when the
        sender lacks ``sms.send_direct``. ``draft_key`` makes a double-pressed Send queue it once."""
        self._require_channel(actor, OutboxChannel.SMS)
        text = self.check_sms_text(body)
        async with self._uow() as uow:
            who = await self._recipient(uow, actor, SendKind(kind), record_id)
            number = self._pick_phone(who, to)
            held = not actor.can("sms.send_direct")
            message = await self._enqueue(uow, actor, who, NewOutboxMessage(
                OutboxChannel.SMS, number, text, customer_id=who.customer_id, contact_id=who.contact_id,
                lead_id=who.lead_id, requested_by=actor.staff_id, idempotency_key=self._key(actor, draft_key),
                held=held, topic="chat"))
            await uow.commit()
        return message

    def _pick_phone(self, who: Recipient, to: str | None) -> str:
        if not who.phones:
            raise ValidationFailed("messaging.no_phone", name=who.name)
        if to is None:
            return who.phones[0]
        number = phones.normalize(to, self._region)
        if number not in who.phones:
            # Only the record's own numbers: a typed number would bypass the customer's consent and history.
            raise ValidationFailed("messaging.not_their_number", name=who.name)
        return number

    async def send_email(self, actor: Actor, kind: SendKind | str, record_id: int, *, subject: str, body: str,
                         attachments: Sequence[AttachmentSpec] = (), draft_key: str) -> OutboxMessage:
        self._require_channel(actor, OutboxChannel.EMAIL)
        subject_text = self.check_subject(subject)
        text = body.strip()
        if not text and not attachments:
            raise ValidationFailed("messaging.empty_text")
        if len(text) > MAX_EMAIL_TEXT:
            raise ValidationFailed("messaging.text_too_long", limit=MAX_EMAIL_TEXT)
        _check_size(attachments)
        async with self._uow() as uow:
            who = await self._recipient(uow, actor, SendKind(kind), record_id)
            address = clean_email(who.email)
            if address is None:
                raise ValidationFailed("messaging.no_email", name=who.name)
            message = await self._enqueue(uow, actor, who, NewOutboxMessage(
                OutboxChannel.EMAIL, address, text, subject=subject_text, attachments=tuple(attachments),
                customer_id=who.customer_id, contact_id=who.contact_id, lead_id=who.lead_id,
                requested_by=actor.staff_id, idempotency_key=self._key(actor, draft_key), topic="chat"))
            await uow.commit()
        return message

    async def send_fax(self, actor: Actor, kind: SendKind | str, record_id: int, *, to: str,
                       document: AttachmentSpec, cover_text: str = "", draft_key: str) -> OutboxMessage:
        """Fax a PDF to ``to`` (any number: customers keep fax numbers in notes or on letterheads)."""
        self._require_channel(actor, OutboxChannel.FAX)
        number = self.fax_number(to)
        filename, _mime_type, payload = document
        if isinstance(payload, bytes) and not payload.startswith(b"%PDF-"):
            raise ValidationFailed("messaging.fax_needs_pdf")
        if len(cover_text) > MAX_FAX_COVER:
            raise ValidationFailed("messaging.text_too_long", limit=MAX_FAX_COVER)
        _check_size((document,))
        async with self._uow() as uow:
            who = await self._recipient(uow, actor, SendKind(kind), record_id)
            message = await self._enqueue(uow, actor, who, NewOutboxMessage(
                OutboxChannel.FAX, number, cover_text.strip(), attachments=((filename, "application/pdf", payload),),
                customer_id=who.customer_id, contact_id=who.contact_id, lead_id=who.lead_id,
                requested_by=actor.staff_id, idempotency_key=self._key(actor, draft_key), topic="chat"))
            await uow.commit()
        return message

    def fax_number(self, raw: str) -> str:
        try:
            return normalize_fax_number(raw, self._region)
        except InvalidFaxNumber:
            raise ValidationFailed("messaging.fax_invalid", value=raw[:40]) from None

    @staticmethod
    def _key(actor: Actor, draft_key: str) -> str:
        if not draft_key or len(draft_key) > 80:
            raise ValueError("draft_key must be 1-80 characters")
        return f"chat:{actor.staff_id}:{draft_key}"

    @staticmethod
    async def _enqueue(uow: UnitOfWork, actor: Actor, who: Recipient, new: NewOutboxMessage) -> OutboxMessage:
        message = await enqueue(uow, new)
        await audit.record(uow, actor.staff_id, "hold" if message.status is OutboxStatus.HELD else "send",
                           "outbox", message.id, {}, {
                               "channel": message.channel, "recipient": message.recipient,
                               "status": message.status, "to": f"{who.kind.value}:{who.id}",
                               "attachments": list(message.attachment_names),
                           })
        return message

    # ---- what became of it ----------------------------------------------------------------------------------

    async def watch(self, actor: Actor, message_id: int, chat_id: int, chat_message_id: int) -> None:
        """Show status changes of the actor's own message by editing this chat message."""
        async with self._uow() as uow:
            message = await uow.messaging.outbox.get(message_id)
            if message is None or message.requested_by != actor.staff_id:
                raise NotFound()
            await uow.messaging.outbox.set_notify(message_id, chat_id, chat_message_id, locale=actor.locale,
                                        timezone=actor.timezone)
            await uow.commit()

    async def get(self, actor: Actor, message_id: int) -> OutboxMessage:
        async with self._uow(write=False) as uow:
            message = await uow.messaging.outbox.get(message_id)
            if message is None or not await self._visible(uow, actor, message):
                raise NotFound()
        return message

    @staticmethod
    async def _visible(uow: UnitOfWork, actor: Actor, message: OutboxMessage) -> bool:
        if message.requested_by is None:
            return actor.scope_filter("communications").everything
        sender = await uow.organisation.staff.get(message.requested_by)
        return actor.scope_filter("communications").allows(message.requested_by,
                                                           sender.department_id if sender else None)

    async def recent_for_customer(self, actor: Actor, customer_id: int, *, limit: int = 5) -> Sequence[OutboxMessage]:
        """Messages sent to a customer (and its contacts) that the actor may see, newest first."""
        actor.require("customers.view")
        async with self._uow(write=False) as uow:
            await visible_customer(uow, actor, customer_id)
            return await uow.messaging.outbox.recent(actor.scope_filter("communications"), customer_id=customer_id,
                                           limit=limit)

    async def recent_by_user(self, actor: Actor, *, limit: int = RECENT_LIMIT) -> Sequence[OutboxMessage]:
        """The actor's own recent sends (/outbox)."""
        async with self._uow(write=False) as uow:
            return await uow.messaging.outbox.recent(actor.scope_filter("communications"), requested_by=actor.staff_id,
                                           limit=limit)

    # ---- system side: delivery reports and notices --------------------------------------------------------

    async def record_delivery(self, report: DeliveryReport) -> OutboxMessage | None:
        """Apply a provider's delivery report. A carrier opt-out (21610) is passed to the consent records.

        None when no message carries the provider id (yet): a delivered/failed report is then kept until the
        dispatcher stores that id. Not audited: reports are the provider's account of a send that was audited when
        it was queued.
        """
        status = _REPORTED.get(report.status.strip().lower())
        async with self._uow() as uow:
            if status is None:
                # queued / sent / ...: the dispatcher's own record already says as much, so one that comes early
                # is not worth keeping.
                message = await uow.messaging.outbox.by_provider_id(report.provider_id)
            else:
                reason = report.error_message or (f"{report.status} (error {report.error_code})"
                                                  if report.error_code else report.status)
                now = self._clock.now()
                message = await uow.messaging.outbox.apply_provider_status(
                    report.provider_id, status, code=report.error_code, reason=reason, at=now)
                if message is None:
                    # Twilio can call back before the dispatcher's batched write has stored the SID; the report
                    # is applied (with its opt-out, if any) in the transaction that stores it.
                    await uow.messaging.outbox.keep_early_report(EarlyReport(report.provider_id, status,
                                                                             report.error_code,
                                                                   reason, now))
            if (message is not None and message.channel is OutboxChannel.SMS
                    and report.error_code == str(OPTED_OUT_ERROR_CODE)):
                await self._consent.opted_out_by_carrier(uow, message.recipient)
            await uow.commit()
        return message

    async def purge_unmatched_reports(self, max_age: timedelta = UNMATCHED_REPORT_TTL) -> int:
        """Forget delivery reports kept for longer than ``max_age`` without their message turning up."""
        async with self._uow() as uow:
            purged = await uow.messaging.outbox.purge_early_reports(self._clock.now() - max_age)
            await uow.commit()
        return purged

    async def take_notices(self, limit: int = 20) -> Sequence[Notice]:
        """Status changes not yet shown to their senders (each is handed out once)."""
        async with self._uow(write=False) as uow:
            if not await uow.messaging.outbox.has_notices():
                return []  # the common case, every tick: no write transaction for nothing
        async with self._uow() as uow:
            messages = await uow.messaging.outbox.take_notices(limit)
            await uow.commit()
        async with self._uow(write=False) as uow:
            notices = []
            for message in messages:
                locale, zone = message.notify_locale, message.notify_timezone
                if (locale is None or zone is None) and message.requested_by is not None:
                    sender = await uow.organisation.staff.get(message.requested_by)
                    locale = locale or (sender.locale if sender else None)
                    zone = zone or (sender.timezone if sender else None)
                notices.append(Notice(message, locale, zone))
        return notices

    async def notice_failed(self, message_id: int) -> None:
        async with self._uow() as uow:
            await uow.messaging.outbox.flag_notice(message_id)
            await uow.commit()


def _check_size(attachments: Sequence[AttachmentSpec]) -> None:
    total = sum(len(payload) for _, _, payload in attachments if isinstance(payload, bytes))
    if total > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed("messaging.attachment_too_big", limit_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024))
