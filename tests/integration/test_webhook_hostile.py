"""Hostile and faulty webhook traffic: chunked bodies past the limit, JSON that is no update, the same update
delivered again, and updates stored but not handled when the process died."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.http import MAX_WEBHOOK_BYTES
from bot.update_inbox import UpdateInbox
from crm.core.clock import ManualClock
from storage.inbound_updates import InboundUpdates, inbound_updates
from tests.integration.test_http_endpoints import SECRET, Endpoint, endpoint
from tests.support.bot_harness import ADMIN_ID

GOOD = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


async def _until(predicate, limit: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _handled_ids(engine: AsyncEngine) -> dict[int, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(inbound_updates.c.update_id, inbound_updates.c.handled_at))
        return {int(i): h is not None for i, h in rows}


@pytest.mark.parametrize("path", ["/telegram", "/twilio/sms", "/twilio/status"])
async def test_chunked_body_past_the_limit_is_refused(engine: AsyncEngine, clock: ManualClock, path: str) -> None:
    async with endpoint(engine, clock) as ep:
        headers = {**GOOD, "X-Twilio-Signature": "anything", "Content-Type": "application/x-www-form-urlencoded"}
        answer = await ep.http.post(path, content=_chunks(5 * MAX_WEBHOOK_BYTES), headers=headers)
        assert "content-length" not in answer.request.headers  # really chunked: no length declared
        assert answer.status_code == 413
        assert await _handled_ids(engine) == {}


async def test_declared_length_past_the_limit_is_refused(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        answer = await ep.http.post("/telegram", content=b"{" * (MAX_WEBHOOK_BYTES + 1), headers=GOOD)
        assert answer.status_code == 413


@pytest.mark.parametrize("body", [b"[1,2]", b"null", b"1", b'"x"', b"{}", b'{"update_id": "7"}',
                                  b'{"update_id": true}', b'{"update_id": 5, "message": [1]}', b"\xff\xfe"])
async def test_json_that_is_no_update_is_400(engine: AsyncEngine, clock: ManualClock, body: bytes,
                                             caplog: pytest.LogCaptureFixture) -> None:
    async with endpoint(engine, clock) as ep:
        answer = await ep.http.post("/telegram", content=body, headers=GOOD)
        assert answer.status_code == 400
        assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]
        assert await _handled_ids(engine) == {}


async def test_the_same_update_three_times_is_handled_once(engine: AsyncEngine, clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        ada = ep.bot.user(ADMIN_ID, "Ada")
        update = ep.bot.api.text(ada.user, "/help", enqueue=False)
        for _ in range(3):
            assert (await ep.http.post("/telegram", json=update, headers=GOOD)).status_code == 200
        await _until(lambda: bool(ep.bot.api.sent_messages(ada.user)))
        await _settle(ep, engine, update["update_id"])
        assert len(ep.bot.api.sent_messages(ada.user)) == 1
        # And again after the worker marked it handled: still once.
        assert (await ep.http.post("/telegram", json=update, headers=GOOD)).status_code == 200
        await _settle(ep, engine, update["update_id"])
        assert len(ep.bot.api.sent_messages(ada.user)) == 1


async def _settle(ep: Endpoint, engine: AsyncEngine, update_id: int) -> None:
    """Wait until the worker has handled everything stored (the update queue has nothing to do with it)."""
    async def done() -> bool:
        return all((await _handled_ids(engine)).values()) and update_id in await _handled_ids(engine)

    deadline = asyncio.get_running_loop().time() + 10
    while not await done():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_stored_but_unhandled_updates_are_handled_at_start_in_order(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    async with endpoint(engine, clock) as ep:
        ada = ep.bot.user(ADMIN_ID, "Ada")
        first = ep.bot.api.text(ada.user, "/start", enqueue=False)
        second = ep.bot.api.text(ada.user, "/help", enqueue=False)
        store = InboundUpdates(engine)
        # What a process killed after answering 200 leaves behind: stored, not handled (second stored first).
        assert await store.store(second["update_id"], json.dumps(second))
        assert await store.store(first["update_id"], json.dumps(first))
        assert not await store.store(first["update_id"], json.dumps(first))
        inbox = UpdateInbox(ep.bot.app, store)
        try:
            await inbox.start()
            await _until(lambda: len(ep.bot.api.sent_messages(ada.user)) >= 2)
        finally:
            await inbox.stop()
        assert await _handled_ids(engine) == {first["update_id"]: True, second["update_id"]: True}
        welcome, helped = ep.bot.api.sent_messages(ada.user)[:2]
        assert "Ada" in (welcome.text or "") and "Ada" not in (helped.text or "")  # /start's greeting came first


async def test_updates_handed_on_in_memory_and_leftovers_in_the_table_are_each_handled_once_in_order(
        engine: AsyncEngine, clock: ManualClock) -> None:
    """A long poll hands its batch on parsed; what an earlier process left is read from the table. An update that
    is both (stored by this process while the table is read at start) is handled once, in update_id order."""
    async with endpoint(engine, clock) as ep:
        ada = ep.bot.user(ADMIN_ID, "Ada")
        first = ep.bot.api.text(ada.user, "/start", enqueue=False)
        second = ep.bot.api.text(ada.user, "/help", enqueue=False)
        third = ep.bot.api.text(ada.user, "/help", enqueue=False)
        store = InboundUpdates(engine)
        assert await store.store(first["update_id"], json.dumps(first))  # left by a killed process
        assert await store.store(second["update_id"], json.dumps(second))
        inbox = UpdateInbox(ep.bot.app, store)
        parsed = [Update.de_json(u, ep.bot.app.bot) for u in (second, third)]
        await inbox.receive_updates(parsed)  # the second is a redelivery (stored before), the third is new
        try:
            await inbox.start()
            await _until(lambda: len(ep.bot.api.sent_messages(ada.user)) >= 3)
            fourth = ep.bot.api.text(ada.user, "/help", enqueue=False)
            await inbox.receive_updates([Update.de_json(fourth, ep.bot.app.bot)])  # in memory only
            await _until(lambda: len(ep.bot.api.sent_messages(ada.user)) >= 4)
            await asyncio.sleep(0.2)  # anything handled twice would have replied by now
        finally:
            await inbox.stop()
        assert await _handled_ids(engine) == {u["update_id"]: True for u in (first, second, third, fourth)}
        replies = ep.bot.api.sent_messages(ada.user)
        assert len(replies) == 4
        assert "Ada" in (replies[0].text or "")  # /start's greeting first
