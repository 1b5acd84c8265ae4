"""Twilio routes on a bot without TWILIO_AUTH_TOKEN / PUBLIC_BASE_URL: one warning at start, then every request
is refused with 503 and writes nothing to the log, so posting to them cannot fill the disk."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.http import build_http_app
from crm.core.clock import ManualClock
from tests.support.bot_harness import running_bot


async def test_unconfigured_twilio_routes_refuse_quietly(
    engine: AsyncEngine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(engine, clock) as bot:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            asgi = build_http_app(bot.app)
            start = [r for r in caplog.records if r.name == "bot.http"]
            assert [r.levelno for r in start] == [logging.WARNING]
            assert "TWILIO_AUTH_TOKEN" in start[0].getMessage()
            caplog.clear()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="https://x.test") as http:
                statuses = set()
                for number in range(200):
                    route = "/twilio/sms" if number % 2 else "/twilio/status"
                    signed = {"X-Twilio-Signature": "forged"} if number % 3 else {}
                    answer = await http.post(route, data={"From": "+886912345678", "Body": "hi"}, headers=signed)
                    statuses.add(answer.status_code)
            assert statuses == {503}
            # httpx's lines are the test client's own, not the server's.
            assert [r for r in caplog.records if r.levelno >= logging.INFO and r.name != "httpx"] == []
