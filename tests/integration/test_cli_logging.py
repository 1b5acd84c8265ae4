"""`crmbot`'s logging: a job tick (the outbox runs one every second) writes nothing at the default level;
LOG_LEVEL=DEBUG brings APScheduler's lines back; httpx, whose lines carry Bot API URLs with the token, stays
at WARNING."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.cli import CHATTY_LOGGERS, TOKEN_LOGGERS, configure_logging


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    names = ["", *CHATTY_LOGGERS, *TOKEN_LOGGERS]
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def _one_tick() -> None:
    ran = asyncio.Event()

    async def tick() -> None:
        ran.set()

    scheduler = AsyncIOScheduler()
    scheduler.start()
    try:
        scheduler.add_job(tick, id="outbox.dispatch")  # no trigger: once, now
        await ran.wait()
        await asyncio.sleep(0)  # the executor logs "executed successfully" after the job's coroutine returns
    finally:
        scheduler.shutdown(wait=False)


def _scheduler_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]


async def test_job_ticks_are_silent_at_info(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("INFO")
    assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    with caplog.at_level(logging.INFO):
        await _one_tick()
    assert _scheduler_lines(caplog) == []


async def test_debug_brings_the_scheduler_back_but_not_httpx(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    with caplog.at_level(logging.DEBUG):
        await _one_tick()
    assert any(line.startswith('Running job "') for line in _scheduler_lines(caplog))


def test_a_stricter_level_applies_to_the_libraries_too() -> None:
    configure_logging("ERROR")
    assert all(logging.getLogger(name).getEffectiveLevel() == logging.ERROR for name in CHATTY_LOGGERS + TOKEN_LOGGERS)
