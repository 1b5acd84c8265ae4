"""outbound.telegram_send.deliver over the Bot API fake: each answer Telegram can give a push, and what it becomes.

Scheduled jobs and the outbox's Telegram channel decide what to do from the outcome alone (retry, give up, count
as sent), so a wrong mapping here would make reminders come twice or never."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from crm.messaging.ports.outbox import PushPermanentError, PushTransientError
from outbound.dispatch_telegram import TelegramBotPusher
from outbound.telegram_send import Delivery, Outcome, Sent, deliver
from tests.fakes.bot_api import FakeBotApi, RateLimit

TOKEN = "123456:deliver-test"
REP = 7101


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Unreachable(FakeBotApi):
    """The fake, except that sends fail the way an unreachable or slow Telegram makes PTB fail."""

    def __init__(self, error: Exception) -> None:
        super().__init__(token=TOKEN)
        self.error: Exception | None = None
        self._error = error

    def fail_from_now(self) -> None:
        self.error = self._error

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self.error is not None:
            raise self.error
        return await super().do_request(url, method, *args, **kwargs)


async def _bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    # A plain Bot, without the application's rate limiter: a 429 must reach deliver() as Telegram sent it.
    bot = Bot(api.token, request=api, get_updates_request=api.updates_request())
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta, no deprecation warning


@pytest.fixture
def api() -> FakeBotApi:
    api = FakeBotApi(token=TOKEN)
    api.add_user(REP, "Rep")
    return api


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async for bot in _bot(api):
        yield bot


async def test_a_push_that_arrives_is_sent_with_its_message(api: FakeBotApi, bot: Bot) -> None:
    delivery = await deliver(bot, REP, "<b>Call Acme</b>", [[("✅ Done", "fu:done:1")]])
    shown = api.last_message(REP)
    assert delivery == Delivery(Outcome.SENT, Sent(REP, shown.message_id))
    assert delivery.ok and delivery.retry_after is None
    assert shown.text == "Call Acme" and shown.reply_markup == [[("✅ Done", "fu:done:1")]]


async def test_blocked_and_never_started_chats_are_gone(api: FakeBotApi, bot: Bot) -> None:
    api.block(REP)
    blocked = await deliver(bot, REP, "reminder")
    assert blocked.outcome is Outcome.GONE and "blocked" in blocked.error
    api.add_user(7102, "Stranger", started=False)
    missing = await deliver(bot, 7102, "reminder")
    assert missing.outcome is Outcome.GONE and "chat not found" in missing.error.lower()
    assert not blocked.ok and not missing.ok
    assert api.sent_messages(REP) == []


async def test_a_message_telegram_refuses_failed(api: FakeBotApi, bot: Bot) -> None:
    unparsable = await deliver(bot, REP, "<b>unclosed")
    assert unparsable.outcome is Outcome.FAILED and "parse entities" in unparsable.error
    too_long = await deliver(bot, REP, "x" * 5000)
    assert too_long.outcome is Outcome.FAILED
    assert api.sent_messages(REP) == []


async def test_flood_control_is_retried_after_telegrams_wait() -> None:
    clock = _Clock()
    api = FakeBotApi(token=TOKEN, global_limit=RateLimit(1, 60.0), clock=clock)
    api.add_user(REP, "Rep")
    async for bot in _bot(api):
        assert (await deliver(bot, REP, "first")).ok
        flooded = await deliver(bot, REP, "second")
        assert flooded.outcome is Outcome.RETRY
        assert flooded.retry_after == 60.0
        clock.now += 60
        assert (await deliver(bot, REP, "second")).ok
    assert [m.text for m in api.sent_messages(REP)] == ["first", "second"]


@pytest.mark.parametrize(("error", "outcome"), [
    (NetworkError("connection reset"), Outcome.RETRY),
    (OSError("no route to host"), Outcome.RETRY),  # PTB turns what is not its own into NetworkError
    (TimedOut(), Outcome.UNCERTAIN),  # the request may have arrived: a reminder counts it as sent
])
async def test_network_trouble(error: Exception, outcome: Outcome) -> None:
    api = _Unreachable(error)
    api.add_user(REP, "Rep")
    async for bot in _bot(api):
        api.fail_from_now()
        delivery = await deliver(bot, REP, "reminder")
    assert delivery.outcome is outcome
    assert delivery.retry_after is None  # no wait from Telegram: the caller's own back-off


async def test_a_bot_wide_problem_is_retried_not_blamed_on_the_chat(api: FakeBotApi, bot: Bot) -> None:
    api.token = "123456:revoked"  # the fake now answers 401, as Telegram does for a revoked token
    delivery = await deliver(bot, REP, "reminder")
    assert delivery.outcome is Outcome.RETRY


async def test_edits(api: FakeBotApi, bot: Bot) -> None:
    first = await deliver(bot, REP, "⏳ queued")
    assert first.sent is not None
    message_id = first.sent.message_id
    edited = await deliver(bot, REP, "✅ delivered", edit_message_id=message_id)
    assert edited.ok and api.last_message(REP).text == "✅ delivered"
    # Showing the same status again changes nothing, and that is not a failure.
    assert await deliver(bot, REP, "✅ delivered", edit_message_id=message_id) == Delivery(Outcome.SENT)
    gone = await deliver(bot, REP, "✅ delivered", edit_message_id=message_id + 100)
    assert gone.outcome is Outcome.FAILED and "not found" in gone.error  # the caller sends a new message


async def test_the_outbox_channel_maps_outcomes_to_its_errors() -> None:
    clock = _Clock()
    api = FakeBotApi(token=TOKEN, global_limit=RateLimit(1, 30.0), clock=clock)
    api.add_user(REP, "Rep")
    api.add_user(7102, "Gone")
    api.block(7102)
    pusher = TelegramBotPusher()
    with pytest.raises(PushTransientError, match="not running"):
        await pusher.push(REP, "hello")
    async for bot in _bot(api):
        pusher.bind(bot)
        message_id = await pusher.push(REP, "<b>Hello</b> " + "x" * 5000)  # cut to fit, not refused
        shown = api.last_message(REP)
        assert message_id == str(shown.message_id)
        assert shown.html is not None and shown.text is not None
        assert len(shown.html) == 4096 and shown.text.endswith("x…")
        with pytest.raises(PushTransientError) as flooded:
            await pusher.push(REP, "again")
        assert flooded.value.retry_after == 30.0
        clock.now += 30
        with pytest.raises(PushPermanentError, match="blocked"):
            await pusher.push(7102, "hello")
