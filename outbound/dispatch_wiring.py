"""Builds the channel adapters, the dispatcher and the messaging service from settings.

A channel whose settings are absent is "not configured": the messaging service refuses sends on it with a
message naming the settings. ``sinks`` stand in for absent channels where nothing must leave the machine (the
console demo prints what would have gone out; tests record it). Half-configured channels (an account SID
without a token) fail at start-up with the name of what is missing, rather than at the first send.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from crm.core.clock import Clock
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.messaging.messaging import SETTINGS_FOR, MessagingService
from crm.messaging.outbox import OutboxChannel
from crm.messaging.ports.email import EmailAddress, EmailSender, OutgoingEmail
from crm.messaging.ports.fax import FaxNotConfigured, FaxSender, OutgoingFax
from crm.messaging.ports.outbox import ConsentRecorder, SendPolicy
from crm.messaging.ports.repositories import MessagingUnitOfWork
from crm.messaging.ports.sms import SmsNotConfigured, SmsSender
from outbound.dispatch import ChannelAdapters, ChannelLimit, Dispatcher, RetryPolicy
from outbound.dispatch_metrics import OutboxMetrics
from outbound.dispatch_telegram import TelegramBotPusher, TelegramFileStore

__all__ = ["Outbound", "OutboundConfigError", "OutboundSettings", "Sinks", "build_outbound", "console_sinks"]


class OutboundConfigError(ValueError):
    """A channel is half configured; the message names the setting to fix."""


class OutboundSettings(Protocol):
    """The settings this module reads (``bot.settings.Settings`` has them all)."""

    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_from_number(self) -> str | None: ...
    @property
    def twilio_messaging_service_sid(self) -> str | None: ...
    @property
    def twilio_api_base_url(self) -> str | None: ...
    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int | None: ...
    @property
    def smtp_username(self) -> str | None: ...
    @property
    def smtp_password(self) -> str | None: ...
    @property
    def smtp_security(self) -> str: ...
    @property
    def mail_from(self) -> str | None: ...
    @property
    def fax_gateway(self) -> str: ...
    @property
    def fax_email_template(self) -> str | None: ...
    @property
    def fax_http_url(self) -> str | None: ...
    @property
    def fax_http_token(self) -> str | None: ...
    @property
    def sms_max_per_second(self) -> float: ...
    @property
    def email_max_per_second(self) -> float: ...
    @property
    def fax_max_per_second(self) -> float: ...
    @property
    def telegram_max_per_second(self) -> float: ...
    @property
    def outbox_lease_seconds(self) -> float: ...
    @property
    def outbox_max_attempts(self) -> int: ...
    @property
    def public_base_url(self) -> str | None: ...
    @property
    def default_phone_region(self) -> str: ...


@dataclass
class Sinks:
    """Local stand-ins for channels the settings leave unconfigured."""

    sms: SmsSender | None = None
    email: EmailSender | None = None
    fax: FaxSender | None = None


@dataclass
class Outbound:
    adapters: ChannelAdapters
    dispatcher: Dispatcher
    messaging: MessagingService
    metrics: OutboxMetrics
    unconfigured: dict[OutboxChannel, str] = field(default_factory=dict)

    def connect(self, *, policy: SendPolicy | None = None, consent: ConsentRecorder | None = None) -> None:
        """Plug in the SMS programme's send policy and consent records (built after this object)."""
        if policy is not None:
            self.dispatcher.policy = policy
        if consent is not None:
            self.dispatcher.consent = consent
            self.messaging.set_consent(consent)


def _sms(settings: OutboundSettings) -> SmsSender | None:
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    sender_id = settings.twilio_from_number or settings.twilio_messaging_service_sid
    if not (sid or token or sender_id):
        return None
    from outbound.sms_twilio import TwilioSmsSender  # the twilio client is heavy: loaded only when used

    try:
        return TwilioSmsSender(account_sid=sid or "", auth_token=token or "",
                               from_number=settings.twilio_from_number or None,
                               messaging_service_sid=settings.twilio_messaging_service_sid or None,
                               api_base_url=settings.twilio_api_base_url)
    except SmsNotConfigured as exc:
        raise OutboundConfigError(f"SMS settings (TWILIO_*): {exc.reason}") from None


def mail_from_address(raw: str) -> EmailAddress:
    name, address = email.utils.parseaddr(raw)
    try:
        return EmailAddress(address, name or None)
    except ValueError:
        raise OutboundConfigError(f"MAIL_FROM is not an e-mail address: {raw!r}") from None


def _email(settings: OutboundSettings) -> EmailSender | None:
    if not settings.smtp_host:
        return None
    if not settings.mail_from:
        raise OutboundConfigError("SMTP_HOST is set but MAIL_FROM is not")
    if bool(settings.smtp_username) != bool(settings.smtp_password):
        raise OutboundConfigError("SMTP_USERNAME and SMTP_PASSWORD go together")
    from outbound.email_smtp import SmtpEmailSender

    security = settings.smtp_security
    if security not in ("none", "starttls", "tls"):
        raise OutboundConfigError(f"SMTP_SECURITY must be none, starttls or tls, not {security!r}")
    return SmtpEmailSender(settings.smtp_host, settings.smtp_port, mail_from=mail_from_address(settings.mail_from),
                           username=settings.smtp_username or None, password=settings.smtp_password or None,
                           security=security)  # type: ignore[arg-type]  # checked just above


def _fax(settings: OutboundSettings, email_sender: EmailSender | None) -> FaxSender | None:
    gateway = settings.fax_gateway
    if not gateway:
        return None
    from outbound.fax import EmailFaxGateway, HttpFaxGateway

    try:
        if gateway == "email":
            if email_sender is None:
                raise OutboundConfigError("FAX_GATEWAY=email needs SMTP_HOST and MAIL_FROM")
            if not settings.fax_email_template:
                raise OutboundConfigError("FAX_GATEWAY=email needs FAX_EMAIL_TEMPLATE, e.g. {number}@fax.example.net")
            return EmailFaxGateway(email_sender, settings.fax_email_template)
        if gateway == "http":
            return HttpFaxGateway(settings.fax_http_url or "", settings.fax_http_token or "")
    except (FaxNotConfigured, ValueError) as exc:
        if isinstance(exc, OutboundConfigError):
            raise
        raise OutboundConfigError(f"fax settings (FAX_*): {exc}") from None
    raise OutboundConfigError(f"FAX_GATEWAY must be email or http, not {gateway!r}")


def build_outbound(settings: OutboundSettings, uow: UnitOfWorkFactory[MessagingUnitOfWork], clock: Clock, *,
                   sinks: Sinks | None = None) -> Outbound:
    sinks = sinks or Sinks()
    sms, email_sender = _sms(settings), _email(settings)
    fax = _fax(settings, email_sender)
    adapters = ChannelAdapters(sms=sms or sinks.sms, email=email_sender or sinks.email, fax=fax or sinks.fax,
                               telegram=TelegramBotPusher(), attachments=TelegramFileStore())
    unconfigured = {channel: SETTINGS_FOR[channel] for channel in (OutboxChannel.SMS, OutboxChannel.EMAIL,
                                                                   OutboxChannel.FAX)
                    if not adapters.has(channel)}
    metrics = OutboxMetrics()
    limits = {
        OutboxChannel.SMS: ChannelLimit(settings.sms_max_per_second, 4),
        OutboxChannel.EMAIL: ChannelLimit(settings.email_max_per_second, 4),
        OutboxChannel.FAX: ChannelLimit(settings.fax_max_per_second, 2),
        OutboxChannel.TELEGRAM: ChannelLimit(settings.telegram_max_per_second, 8),
    }
    callback = f"{settings.public_base_url}/twilio/status" if settings.public_base_url else None
    dispatcher = Dispatcher(uow, clock, adapters, limits=limits, metrics=metrics,
                            retry=RetryPolicy(max_attempts=settings.outbox_max_attempts),
                            lease=timedelta(seconds=settings.outbox_lease_seconds), status_callback_url=callback)
    messaging = MessagingService(uow, clock, unconfigured=unconfigured, phone_region=settings.default_phone_region)
    return Outbound(adapters, dispatcher, messaging, metrics, unconfigured)


def console_sinks(write: Callable[[str], object]) -> Sinks:
    """For the console demo: show each message that would have gone out, and send nothing."""
    from outbound.email_recording import RecordingEmailSender
    from outbound.fax_recording import RecordingFaxSender
    from outbound.sms_recording import RecordingSmsSender

    def on_email(mail: OutgoingEmail) -> None:
        files = [a.filename for a in mail.attachments]
        extra = f" 📎 {', '.join(files)}" if files else ""
        write(f"✉️ Email to {', '.join(r.address for r in mail.to)}: {mail.subject}{extra}\n")

    def on_fax(fax: OutgoingFax) -> None:
        write(f"📠 Fax to {fax.to}: {fax.document.filename}\n")

    return Sinks(sms=RecordingSmsSender(on_send=lambda sent: write(sent.describe() + "\n")),
                 email=RecordingEmailSender(on_send=on_email), fax=RecordingFaxSender(on_send=on_fax))
