"""Drive the real PTB Application over the in-process Bot API, as a person in a chat would."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import OFFLINE_TOKEN, Runtime, build_application, build_services, start_offline
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from tests.fakes.bot_api import ChatMessage, FakeBotApi, FakeUser

ADMIN_ID = 1001


@dataclass
class Chatter:
    """One Telegram user talking to the bot."""

    harness: BotHarness
    user: FakeUser
    seen: int = 0

    async def send(self, text: str) -> list[ChatMessage]:
        return await self._do(self.harness.api.text(self.user, text, enqueue=False))

    async def press(self, label_or_index: str | int, message_id: int | None = None) -> list[ChatMessage]:
        """Press a button on the latest message with a keyboard (or ``message_id``)."""
        return await self._do(self.harness.api.press_button(self.user, message_id, label_or_index, enqueue=False))

    async def press_data(self, data: str, message_id: int | None = None) -> list[ChatMessage]:
        return await self._do(self.harness.api.press(self.user, message_id, data, enqueue=False))

    async def share_contact(self, phone: str, first_name: str, last_name: str | None = None) -> list[ChatMessage]:
        return await self._do(self.harness.api.contact(self.user, phone, first_name, last_name, enqueue=False))

    async def photo(self) -> list[ChatMessage]:
        return await self._do(self.harness.api.photo(self.user, enqueue=False))

    async def _do(self, update: dict[str, Any]) -> list[ChatMessage]:
        """Deliver the update and return the bot messages it sent or changed in this chat."""
        chat = self.harness.api.chat(self.user.id)
        before = {m.message_id: _snapshot(m) for m in chat.bot_messages}
        await self.harness.api.deliver(self.harness.app, update)
        unanswered = self.harness.api.unanswered_callback_queries()
        assert not unanswered, f"callback queries left unanswered: {unanswered}"
        return [m for m in chat.bot_messages if before.get(m.message_id) != _snapshot(m)]

    async def text_of(self, text: str) -> str:
        """Send text and return everything the bot answered, joined."""
        return "\n".join(m.text or "" for m in await self.send(text))

    @property
    def last(self) -> ChatMessage:
        return self.harness.api.last_message(self.user.id)

    def labels(self) -> list[str]:
        message = self.harness.api.chat(self.user.id).last_keyboard_message()
        return [b.text for b in message.buttons] if message else []


def _snapshot(message: ChatMessage) -> tuple[Any, ...]:
    return (message.text, tuple(tuple(r) for r in message.reply_markup), message.deleted)


@dataclass
class BotHarness:
    api: FakeBotApi
    app: Application[Any, Any, Any, Any, Any, Any]
    runtime: Runtime
    clock: ManualClock
    chatters: dict[int, Chatter] = field(default_factory=dict)

    def user(self, user_id: int, first_name: str, *, last_name: str | None = None, username: str | None = None,
             language_code: str = "en") -> Chatter:
        fake = self.api.add_user(user_id, first_name, last_name=last_name, username=username,
                                 language_code=language_code)
        chatter = self.chatters[user_id] = Chatter(self, fake)
        return chatter

    @property
    def services(self) -> Any:
        return self.runtime.services

    def told(self, replies: list[ChatMessage], text: str) -> bool:
        """Whether the user was told ``text``: as the alert on their press, or in a message it produced
        (an error found after the press was answered arrives as a message)."""
        answers = [c for c in self.api.calls_to("answerCallbackQuery") if c.error is None]
        alert = answers[-1].params.get("text") or "" if answers else ""
        return text in alert or any(text in (m.text or "") for m in replies)

    def t(self, locale: str, key: str, **params: Any) -> str:
        return self.runtime.catalogs.t(locale, key, **params)


@asynccontextmanager
async def running_bot(engine: AsyncEngine, clock: ManualClock, **settings: Any) -> AsyncIterator[BotHarness]:
    with tempfile.TemporaryDirectory(prefix="crmbot-test-") as scratch:  # files the bot keeps (receipts)
        async with _running_bot(engine, clock, **{"data_dir": Path(scratch), **settings}) as bot:
            yield bot


@asynccontextmanager
async def _running_bot(engine: AsyncEngine, clock: ManualClock, **settings: Any) -> AsyncIterator[BotHarness]:
    config = Settings(_env_file=None, admin_telegram_ids=frozenset({ADMIN_ID}), **settings)
    runtime = Runtime(config, engine, build_services(config, engine, clock), _catalogs())
    # Flood limits are off here: functional tests talk faster than 30 messages/s. The fake's own tests and the
    # reminder benchmark exercise the limits through PTB's rate limiter.
    api = FakeBotApi(token=OFFLINE_TOKEN, bot_username="crm_test_bot", global_limit=None)
    app = build_application(runtime, request=api, get_updates_request=api.updates_request(), rate_limiter=False)
    await start_offline(app)
    try:
        yield BotHarness(api, app, runtime, clock)
    finally:
        await app.stop()
        await app.shutdown()


_CATALOGS: Catalogs | None = None


def _catalogs() -> Catalogs:
    global _CATALOGS
    if _CATALOGS is None:
        _CATALOGS = Catalogs()
    return _CATALOGS


async def join(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en") -> tuple[Chatter, Actor]:
    """A colleague invited by the admin (Ada) into her department with ``role``, joined through the chat."""
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], admin.department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor
