"""Composition root: builds the database, the services and the PTB Application from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.context import CrmContext
from bot.i18n import Catalogs
from bot.module import Wiring
from bot.modules import MODULES, check_order, commands
from bot.rate_limit import TelegramRateLimiter
from bot.settings import Settings
from bot.telegram_request import JsonHTTPXRequest
from crm.core import locales
from crm.core.clock import Clock, SystemClock
from crm.core.events import MessageBus
from crm.organisation.defaults import ensure_defaults
from crm.services import Services
from outbound.dispatch_wiring import Sinks
from storage.chat_files import ChatFiles
from storage.engine import create_engine
from storage.ptb_persistence import SqlPersistence
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)

# The console demo and tests have no real token; the fake Bot API accepts this one.
OFFLINE_TOKEN = "123456789:offline-console-token-for-the-local-demo"


def build_services(settings: Settings, engine: AsyncEngine, clock: Clock, *, sinks: Sinks | None = None) -> Services:
    """Each registered module's services, in registry order (a module may use those built before it)."""
    check_order()
    bus = MessageBus()  # what modules hear of each other (docs/decisions.md, "Domain events")
    for module in MODULES:
        if module.subscribe is not None:
            module.subscribe(bus)
    wiring = Wiring(settings, SqlUnitOfWorkFactory(engine, clock, bus=bus), clock, sinks)
    for module in MODULES:
        wiring.built[module.name] = module.build(wiring)
    return Services(uow=wiring.uow, clock=clock, **wiring.built)  # type: ignore[arg-type]  # one field a module


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
        # Work a handler started and left running (an import, an export): the console demo waits for it
        # between the lines of a script, as a person would wait for the answer.
        self.background: set[asyncio.Task[Any]] = set()

    def create_task(self, coroutine: Any, update: object | None = None, *, name: str | None = None) -> Any:
        task: asyncio.Task[Any] = super().create_task(coroutine, update, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def settle(self, at_most: float) -> None:
        """Until the background work started so far is done (or ``at_most`` seconds have passed)."""
        pending = {task for task in self.background if not task.done()}
        if pending:
            await asyncio.wait(pending, timeout=at_most)

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
        # Jobs take UTC datetimes from the database; PTB must not localise them (its default would be UTC anyway,
        # but None keeps APScheduler's own handling of naive times, as measured and tested).
        .defaults(Defaults(tzinfo=None))  # type: ignore[arg-type]
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
        # The builder's type follows the bot's rate-limit argument type (None), not the limiter's own (int).
        builder = builder.rate_limiter(TelegramRateLimiter(max_retries=3))  # type: ignore[arg-type]
    app = builder.build()
    app.bot_data["runtime"] = runtime
    app.bot_data["services"] = runtime.services
    app.bot_data["uow"] = runtime.services.uow
    app.bot_data["i18n"] = runtime.catalogs
    app.bot_data["settings"] = settings
    app.bot_data["chat_files"] = ChatFiles(settings.data_dir)
    app.bot_data["commands"] = commands()
    handlers.register_first(app)
    for module in MODULES:  # Note: order matters — the registry's order is the handlers' order in group 0.
        for register in module.handlers:
            register(app)
    handlers.register_last(app)
    for module in MODULES:
        for schedule in module.jobs:
            schedule(app)
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
        menu = [BotCommand(c.name, runtime.catalogs.t(locale, c.description_key)[:256]) for c in commands()]
        await app.bot.set_my_commands(menu, language_code=language_code or None)
