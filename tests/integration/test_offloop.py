"""storage/offloop.ThreadWorker: while a job runs in its thread, full garbage collections wait (they stop every
thread, the bot's loop included, for as long as walking the job's rows takes) and the GIL is handed back sooner;
both are as before once the last job has ended."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm.core.clock import ManualClock
from storage import offloop
from storage.offloop import JOB_FULL_COLLECTIONS_AFTER, JOB_SWITCH_INTERVAL, ThreadWorker


async def test_full_collections_wait_while_a_job_runs_and_resume_after(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    worker = ThreadWorker(f"sqlite+aiosqlite:///{tmp_path}/offloop.db", clock)
    # The settings are the process's: wait for jobs other tests started (and stopped) to end first.
    for _ in range(600):
        if offloop._jobs_running == 0:
            break
        await asyncio.sleep(0.1)
    assert offloop._jobs_running == 0, "a worker job of an earlier test is still running"
    before = gc.get_threshold(), sys.getswitchinterval()

    async def job(_: Any) -> tuple[tuple[int, int, int], float]:
        return gc.get_threshold(), sys.getswitchinterval()

    thresholds, interval = await worker.run(job)
    assert thresholds == (before[0][0], before[0][1], max(before[0][2], JOB_FULL_COLLECTIONS_AFTER))
    assert interval == min(before[1], JOB_SWITCH_INTERVAL)
    assert (gc.get_threshold(), sys.getswitchinterval()) == before


async def _whoami(factory: Any, label: str) -> tuple[int, str, int]:
    """Module level: what ``run_apart`` sends to the child process has to pickle."""
    import os

    from sqlalchemy import text

    async with factory(write=False) as uow:
        tables = (await uow.connection.execute(text("SELECT count(*) FROM sqlite_master"))).scalar_one()
    return os.getpid(), label, tables


async def test_a_job_run_apart_runs_in_another_process_on_its_own_connection(tmp_path: Path) -> None:
    import os

    from storage.engine import create_engine
    from storage.metadata import metadata

    url = f"sqlite+aiosqlite:///{tmp_path}/apart.db"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    worker = ThreadWorker(url, ManualClock(datetime(2025, 1, 6, 9, 0, tzinfo=UTC)))
    pid, label, tables = await worker.run_apart(_whoami, "hello")
    assert pid != os.getpid()
    assert label == "hello"
    assert tables > 10  # it read the file the tables were created in
    again, _, _ = await worker.run_apart(_whoami, "again")
    assert again == pid  # the pool keeps its process: only the first job pays the start


async def test_jobs_take_turns_and_a_job_may_start_another_without_waiting_for_itself(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    first = ThreadWorker(f"sqlite+aiosqlite:///{tmp_path}/a.db", clock)
    second = ThreadWorker(f"sqlite+aiosqlite:///{tmp_path}/b.db", clock)
    running = 0
    most = 0

    async def job(_: Any) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return 1

    async def nested(_: Any) -> int:
        return await second.run(job) + 1  # inside a job: runs at once, on this job's turn

    results = await asyncio.wait_for(asyncio.gather(first.run(job), second.run(job), first.run(nested)), 30)
    assert list(results) == [1, 1, 2]
    assert most == 1  # two workers, three jobs, never two at once


async def _counting_writer(factory: Any, rows: int, *, progress: Any) -> int:
    """Module level (it runs in the child): writes ``rows`` audit rows in one transaction, reporting each."""
    from sqlalchemy import insert

    from storage.organisation import tables as ot

    async with factory() as uow:
        for n in range(1, rows + 1):
            await uow.connection.execute(insert(ot.audit_log).values(
                actor_id=None, action="test", entity="apart", entity_id=n, before={}, after={},
                at=datetime(2025, 1, 6, tzinfo=UTC)))
            await progress(n, rows)
            await asyncio.sleep(0.05)
        await uow.commit()
    return rows


async def _apart_rows(url: str) -> int:
    from sqlalchemy import func, select

    from storage.engine import create_engine
    from storage.organisation import tables as ot

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(ot.audit_log)
                                           .where(ot.audit_log.c.entity == "apart"))).scalar_one())
    finally:
        await engine.dispose()


async def test_a_job_run_apart_reports_progress_by_pipe_and_a_cancelled_caller_rolls_it_back(
        tmp_path: Path) -> None:
    from storage.engine import create_engine
    from storage.metadata import metadata

    url = f"sqlite+aiosqlite:///{tmp_path}/progress.db"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    worker = ThreadWorker(url, ManualClock(datetime(2025, 1, 6, 9, 0, tzinfo=UTC)))
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    assert await worker.run_apart(_counting_writer, 5, progress=progress) == 5
    assert seen and seen[-1] == (5, 5)  # the last report always arrives; earlier ones may be skipped
    assert seen == sorted(seen)
    assert await _apart_rows(url) == 5

    reported = asyncio.Event()

    async def first_report(done: int, total: int) -> None:
        reported.set()

    task = asyncio.create_task(worker.run_apart(_counting_writer, 200, progress=first_report))
    await asyncio.wait_for(reported.wait(), 60)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # The child stops at its next report and rolls back: wait for the pool to be free again, then count.
    await worker.run_apart(_whoami, "after")
    assert await _apart_rows(url) == 5
