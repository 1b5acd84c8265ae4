"""Our flood-limit keeper against the Bot API fake's strict sliding windows, on a virtual clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.rate_limit import SlidingWindow, TelegramRateLimiter
from tests.bot.test_fake_bot_api import busiest_window, timedelta_retry_after, virtual_time  # noqa: F401
from tests.fakes.bot_api import FakeBotApi, RateLimit


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_a_burst_to_100_people_goes_out_at_30_a_second_without_a_single_429() -> None:
    loop = asyncio.get_running_loop()
    with virtual_time(loop) as now:
        api = FakeBotApi(clock=lambda: loop.time())
        users = [api.add_user(7000 + n, f"Rep {n}") for n in range(100)]
        app = api.application_builder().rate_limiter(TelegramRateLimiter()).build()
        async with app:
            started = now()
            await asyncio.gather(*(app.bot.send_message(user.id, "Quarterly targets are out") for user in users))
            elapsed = now() - started
    sends = api.calls_to("sendMessage")
    assert [c.error for c in sends] == [None] * 100
    assert {m.chat_id for m in api.sent_messages()} == {u.id for u in users}
    times = [c.time for c in sends]
    assert busiest_window(times) == 30  # as fast as allowed (with a margin), never faster
    assert 3.0 <= elapsed < 3.5


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_a_group_gets_twenty_a_minute_and_other_chats_are_not_held_up() -> None:
    loop = asyncio.get_running_loop()
    with virtual_time(loop) as now:
        api = FakeBotApi(clock=lambda: loop.time())
        group = api.add_group("Sales team")
        alice = api.add_user(7001, "Alice")
        app = api.application_builder().rate_limiter(TelegramRateLimiter()).build()
        async with app:
            started = now()
            to_group = asyncio.gather(*(app.bot.send_message(group.id, f"update {n}") for n in range(25)))
            await asyncio.sleep(1)
            await app.bot.send_message(alice.id, "your reminder")  # not queued behind the group's minute
            alice_at = now() - started
            await to_group
            elapsed = now() - started
    assert alice_at < 1.1
    group_times = [c.time for c in api.calls_to("sendMessage") if c.params["chat_id"] == group.id]
    assert all(c.error is None for c in api.calls_to("sendMessage"))
    assert busiest_window(group_times, 60.0) == 20 and 61.0 <= elapsed < 62.0


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_a_429_pauses_everyone_for_retry_after_then_the_message_is_retried() -> None:
    loop = asyncio.get_running_loop()
    with virtual_time(loop) as now:
        # Telegram stricter than we assumed: 5 a second.
        api = FakeBotApi(clock=lambda: loop.time(), global_limit=RateLimit(5, 1.0))
        users = [api.add_user(7000 + n, f"Rep {n}") for n in range(8)]
        app = api.application_builder().rate_limiter(TelegramRateLimiter(max_retries=3)).build()
        async with app:
            started = now()
            await asyncio.gather(*(app.bot.send_message(user.id, "hello") for user in users))
            elapsed = now() - started
    sends = api.calls_to("sendMessage")
    assert len([c for c in sends if c.error is None]) == 8  # every message arrived
    refused = [c for c in sends if c.error is not None]
    assert refused and elapsed >= 1.0  # the 429s were answered by waiting retry_after
    first_refusal = min(c.time for c in refused)
    assert all(c.time >= first_refusal + 1.0 for c in sends if c.time > first_refusal and c.error is None)


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_without_retries_a_429_reaches_the_caller() -> None:
    from telegram.error import RetryAfter

    loop = asyncio.get_running_loop()
    with virtual_time(loop):
        api = FakeBotApi(clock=lambda: loop.time(), global_limit=RateLimit(1, 1.0))
        users = [api.add_user(7000 + n, f"Rep {n}") for n in range(2)]
        app = api.application_builder().rate_limiter(TelegramRateLimiter()).build()
        async with app:
            await app.bot.send_message(users[0].id, "first")
            with pytest.raises(RetryAfter):
                await app.bot.send_message(users[1].id, "second")


def test_sliding_window_reserves_in_order_and_never_overfills() -> None:
    window = SlidingWindow(3, 1.0)
    assert [window.reserve(10.0) for _ in range(3)] == [10.0, 10.0, 10.0]
    assert window.reserve(10.2) == 11.0  # the 4th waits for the 1st to leave the window
    assert window.reserve(10.3) == 11.0
    assert window.reserve(10.4) == 11.0
    assert window.reserve(10.5) == 12.0  # the window at 11.0 is full again
    assert window.reserve(13.5) == 13.5  # a quiet spell: no wait


async def test_under_the_limit_a_request_does_not_wait() -> None:
    limiter = TelegramRateLimiter(clock=time.monotonic)
    sleeps = 0
    real_sleep = asyncio.sleep

    async def counting_sleep(delay: float) -> None:
        nonlocal sleeps
        sleeps += 1
        await real_sleep(delay)

    asyncio.sleep = counting_sleep  # type: ignore[assignment]
    try:
        for n in range(29):
            await limiter._take_turn({"chat_id": 1000 + n})
        await limiter._take_turn({"chat_id": -100})  # a group's first message of the minute: the 30th
    finally:
        asyncio.sleep = real_sleep
    assert sleeps == 0
