"""storage/offloop.ThreadWorker: while a job runs in its thread, full garbage collections wait (they stop every
thread, the bot's loop included, for as long as walking the job's rows takes) and the GIL is handed back sooner;
both are as before once the last job has ended."""

from __future__ import annotations

import asyncio
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
