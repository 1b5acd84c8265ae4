"""Composition root: builds the database, the services and the PTB Application from settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

import scheduler
from bot.context import CrmContext
from bot.i18n import Catalogs
from bot.rate_limit import TelegramRateLimiter
from bot.settings import Settings
from bot.telegram_request import JsonHTTPXRequest
from crm.core import locales
from crm.core.clock import Clock, SystemClock
from crm.customers.contacts_leads import ContactService, LeadService
from crm.customers.customers import CustomerService
from crm.customers.exporting import ExportService
from crm.customers.importing import ImportService
from crm.followups.agenda import AgendaService
from crm.followups.followups import FollowUpService
from crm.followups.nudges import NudgeService
from crm.followups.reminders import ReminderService
from crm.messaging.campaigns import CampaignService
from crm.messaging.mailing_labels import LabelService, sender_address
from crm.messaging.ports.outbox import IgnoreInboundSms
from crm.messaging.subscriptions import CatalogTexts, ConsentAndQuietHoursPolicy, SmsProgram, SubscriptionService
from crm.organisation.defaults import ensure_defaults
from crm.organisation.departments import DepartmentService
from crm.organisation.identity import IdentityDefaults, IdentityService
from crm.organisation.invites import InviteService
from crm.organisation.roles import RoleService
from crm.organisation.staff import StaffService
from crm.segments.handover import HandoverService
from crm.segments.segments import SegmentService
from crm.services import Services
from handlers import register
from handlers.core.menu import COMMANDS
from outbound.dispatch_wiring import Sinks, build_outbound
from outbound.labels_pdf import ReportlabLabelRenderer
from storage.customers.spreadsheets import SpreadsheetFiles
from storage.engine import create_engine
from storage.ptb_persistence import SqlPersistence
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)

# The console demo and tests have no real token; the fake Bot API accepts this one.
OFFLINE_TOKEN = "123456789:offline-console-token-for-the-local-demo"


def build_services(settings: Settings, engine: AsyncEngine, clock: Clock, *, sinks: Sinks | None = None) -> Services:
    uow = SqlUnitOfWorkFactory(engine, clock)
    outbound = build_outbound(settings, uow, clock, sinks=sinks)
    identity = IdentityService(
        uow, clock,
        admin_telegram_ids=settings.admin_telegram_ids,
        defaults=IdentityDefaults(settings.default_locale, settings.default_timezone, settings.zh_script),
    )
    sms_program = SmsProgram.from_settings(settings)
    services = Services(
        uow=uow,
        clock=clock,
        identity=identity,
        invites=InviteService(uow, clock, ttl=timedelta(hours=settings.invite_ttl_hours)),
        roles=RoleService(uow, clock),
        staff=StaffService(uow, clock),
        departments=DepartmentService(uow, clock),
        customers=CustomerService(uow, clock, phone_region=settings.default_phone_region),
        contacts=ContactService(uow, clock, phone_region=settings.default_phone_region),
        leads=LeadService(uow, clock, phone_region=settings.default_phone_region),
        followups=FollowUpService(uow, clock),
        importing=ImportService(uow, clock, CustomerService(uow, clock, phone_region=settings.default_phone_region),
                                SpreadsheetFiles()),
        exporting=ExportService(uow, clock, SpreadsheetFiles(), phone_region=settings.default_phone_region),
        subscriptions=SubscriptionService(uow, clock, sms_program, CatalogTexts(lambda: Catalogs().messages)),
        sms_policy=ConsentAndQuietHoursPolicy(uow, sms_program),
        campaigns=CampaignService(uow, clock, sms_program),
        mailing_labels=LabelService(uow, clock, ReportlabLabelRenderer(),
                                    sender_address(settings.company_name, settings.company_address)),
        reminders=ReminderService(uow, clock, default_locale=settings.default_locale,
                                  default_timezone=settings.default_timezone),
        agenda=AgendaService(uow, clock),
        messaging=outbound.messaging,
        outbox_worker=outbound.dispatcher,
        inbound_sms=IgnoreInboundSms(),
        segments=SegmentService(uow, clock),
        handover=HandoverService(uow, clock),
        nudges=NudgeService(uow, clock, default_timezone=settings.default_timezone),
    )
    services.messaging.campaigns.segments = services.segments.segments  # campaigns send to a saved segment's customers
    # The SMS programme decides consent and quiet hours before each send, hears about carrier opt-outs, and
    # answers texts customers send us (STOP, HELP, ...).
    outbound.connect(policy=services.messaging.sms_policy, consent=services.messaging.subscriptions)
    services.inbound_sms = services.messaging.subscriptions
    # Campaigns and labels can target a saved segment.
    services.messaging.campaigns.segments = services.messaging.mailing_labels.segments = services.segments.segments
    return services


async def prepare_database(engine: AsyncEngine, services: Services, settings: Settings) -> None:
    """Migrate and seed defaults. Must run before Application.initialize(), which loads persisted state."""
    from storage.migrate import upgrade  # Alembic is only needed here; keep it out of the resident bot

    await upgrade(engine)
    await ensure_defaults(services.uow, settings.company_name)


@dataclass
class Runtime:
    """Everything the bot process owns; closed together."""

    settings: Settings
    engine: AsyncEngine
    services: Services
    catalogs: Catalogs


def build_runtime(settings: Settings, *, clock: Clock | None = None, sinks: Sinks | None = None) -> Runtime:
    engine = create_engine(settings.db_url)
    return Runtime(settings, engine, build_services(settings, engine, clock or SystemClock(), sinks=sinks),
                   Catalogs())


async def start_offline(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """What run_polling does before polling, for the console and tests that feed updates themselves."""
    runtime: Runtime = app.bot_data["runtime"]
    await prepare_database(runtime.engine, runtime.services, runtime.settings)
    await app.initialize()
    await publish_commands(app, runtime)
    await app.start()


class CrmApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application, with each update's reads sharing one database transaction (storage/uow.py), and
    ``on_update`` callbacks (the /metrics counter) called for every update as it arrives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_update: list[Callable[[], None]] = []

    async def process_update(self, update: object) -> None:
        for callback in self.on_update:
            callback()
        async with self.reads():
            await super().process_update(update)

    def reads(self) -> AbstractAsyncContextManager[None]:
        """One read transaction for what runs inside — an update, a job's round — on the connection kept
        between them (storage/uow.py); a job that only looks whether there is work costs no connection of its
        own then."""
        uow = self.bot_data.get("uow")
        if isinstance(uow, SqlUnitOfWorkFactory):
            return uow.shared_reads(keep_connection=True)
        return contextlib.nullcontext()

    async def shutdown(self) -> None:
        await super().shutdown()
        uow = self.bot_data.get("uow")
        if isinstance(uow, SqlUnitOfWorkFactory):
            await uow.close()


def build_application(
    runtime: Runtime,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    persistence: bool = True,
    rate_limiter: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    settings = runtime.settings
    builder = (
        Application.builder()
        .application_class(CrmApplication)
        .token(settings.telegram_bot_token or OFFLINE_TOKEN)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .context_types(ContextTypes(context=CrmContext))
        .defaults(Defaults(tzinfo=None))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # The pool sizes PTB's builder would choose: many for calls, one for the long poll.
    builder = builder.request(request if request is not None else JsonHTTPXRequest(connection_pool_size=256))
    builder = builder.get_updates_request(get_updates_request if get_updates_request is not None
                                          else JsonHTTPXRequest(connection_pool_size=1))
    if persistence:
        builder = builder.persistence(SqlPersistence(runtime.engine))
    if rate_limiter:
        builder = builder.rate_limiter(TelegramRateLimiter(max_retries=3))
    app = builder.build()
    app.bot_data["runtime"] = runtime
    app.bot_data["services"] = runtime.services
    app.bot_data["uow"] = runtime.services.uow
    app.bot_data["i18n"] = runtime.catalogs
    app.bot_data["settings"] = settings
    register(app)
    scheduler.register(app)
    return app


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await publish_commands(app, app.bot_data["runtime"])


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    runtime: Runtime = app.bot_data["runtime"]
    await runtime.engine.dispose()


async def publish_commands(app: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime) -> None:
    """The command menu in each language. Telegram keys menus by two-letter code, so `zh` gets one script
    (ZH_SCRIPT); users who prefer the other still see every reply in their own script."""
    settings = runtime.settings
    menus = {
        "": settings.default_locale,
        "en": locales.EN,
        "zh": settings.zh_script,
    }
    for language_code, locale in menus.items():
        commands = [BotCommand(c.name, runtime.catalogs.t(locale, c.description_key)[:256]) for c in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=language_code or None)
