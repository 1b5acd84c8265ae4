"""Crash safety with a real process kill: a dispatcher process sending a campaign through the Twilio adapter to the
local Twilio-compatible server is killed with SIGKILL; a new one finishes the campaign. No message is lost, and
only messages that were in flight at the kill (the server had them, the database did not yet say so) may go twice.
The outcome of the test is the count of duplicates against that in-flight count, measured at the kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, select

from crm.core.clock import SystemClock
from crm.messaging.outbox import NewOutboxMessage, OutboxChannel, enqueue
from storage import tables as t
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory
from tests.support.twilio_api_server import TwilioApiServer

ROOT = Path(__file__).resolve().parents[2]
COUNT = 300
CONCURRENCY = 4
KILL_AFTER = 100  # messages the server has accepted when the first worker is killed


def _number(i: int) -> str:
    return f"+8869{i:08d}"


async def _start_worker(db_url: str, server: TwilioApiServer, log: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.outbox_worker_process", "--db", db_url, "--twilio", server.base_url,
        "--sid", server.account_sid, "--token", server.auth_token, "--rate", "100",
        "--concurrency", str(CONCURRENCY), "--lease", "2",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log.open("ab"),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line.strip() == b"ready", "the worker did not start; see worker.log"
    return process


async def _sent_rows(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        query = select(func.count()).select_from(t.outbox).where(t.outbox.c.status == "sent")
        return int((await conn.execute(query)).scalar_one())


async def _wait_for(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        # Polling: the condition lives in another process and in the database, nothing here can signal it.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_kill_9_mid_campaign_then_restart_loses_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/crash.db"
    engine = create_engine(db_url)
    await upgrade(engine)
    uow = SqlUnitOfWorkFactory(engine, SystemClock())
    async with uow() as unit:
        for i in range(COUNT):
            await enqueue(unit, NewOutboxMessage(OutboxChannel.SMS, _number(i), f"Campaign text {i}",
                                                 campaign_id=1, requested_by=None, idempotency_key=f"camp1:{i}"))
        await unit.commit()

    async with TwilioApiServer() as server:
        for i in range(COUNT):
            server.delay_for(_number(i), 0.02)  # every request takes a moment: some are in flight at the kill
        log = tmp_path / "worker.log"
        first = await _start_worker(db_url, server, log)

        async def enough() -> bool:
            return len(server.created) >= KILL_AFTER

        await _wait_for(enough, 30)
        os.kill(first.pid, signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        await asyncio.sleep(0.2)  # let the server finish requests the dead worker had already written
        accepted_at_kill = len(server.created)
        recorded_at_kill = await _sent_rows(engine)
        in_flight = accepted_at_kill - recorded_at_kill
        # In flight = accepted by the provider, outcome not yet written: the concurrent requests plus what one
        # outcome flush holds (a few messages at 100/s, more when the machine is busy).
        assert 0 <= in_flight <= CONCURRENCY + 20, (accepted_at_kill, recorded_at_kill)
        assert accepted_at_kill < COUNT, "the campaign finished before the kill; the test proves nothing"

        second = await _start_worker(db_url, server, log)
        try:
            async def finished() -> bool:
                return await _sent_rows(engine) == COUNT

            await _wait_for(finished, 60)  # includes the dead worker's lease running out
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()

    await engine.dispose()
    sent_to = Counter(r.param("To") for r in server.created)
    assert set(sent_to) == {_number(i) for i in range(COUNT)}  # nothing lost
    duplicates = sum(n - 1 for n in sent_to.values())
    assert duplicates <= in_flight, (duplicates, in_flight)
