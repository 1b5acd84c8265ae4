"""Read-heavy jobs (exports, PDFs, imports, reports to come) in a thread with their own database connections.

``ThreadWorker.run(job)`` starts a thread running its own event loop, opens a fresh engine on the same database
there (SQLite in WAL mode lets it read while the bot reads and writes; a writer takes the write lock with
``BEGIN IMMEDIATE`` like any other, and the bot's writers wait for it by yielding, storage/sqlite_inline.py), and
awaits ``job(SqlUnitOfWorkFactory)`` on that loop. The bot's loop only awaits a future. A cancelled caller (the bot
stopping) cancels the job inside its loop, so a half-done import rolls back instead of committing later.

The thread still shares the GIL with the bot. A CPU-bound thread holds it for up to the switch interval (5 ms by
default) each time the loop thread wants it back — after every select() and every SQLite statement, which release
it — so a lookup of a dozen statements would wait tens of milliseconds. While a job runs the interval is
lowered to 0.5 ms: the job loses a little throughput to switching; the loop gets the GIL back quickly.

The garbage collector stops every thread, and a full collection walks every object alive: the job's
100,000 rows too. Measured during an export of 20,000 customers, full collections took 160 ms to 1.3 s each, and
they were the lookups' worst waits. While a job runs full collections wait (young ones go on, and catch most
cycles); they resume when the last job ends, by then the job's rows are freed by reference counting.

One job runs at a time in the process, whichever worker started it (each a connection and a Python thread); more
wait their turn (``slots`` bounds how many of one worker's jobs may be started and waiting). One at a time:
with two busy job threads the loop thread lost the lock to one or the other far more often (a lookup's p95 during
an export and an import of 30,000 together: 4.5× idle with two slots, 1.9× with one, and both jobs were done
sooner, 13.6 s against 17–20 s, for not fighting over one lock; docs/performance.md).

``run_apart`` runs a job in a child process instead (``spawn``: a fresh interpreter, no copied locks or
connections), on its turn like the others, in a pool kept for the life of the process so only the first such job
pays the start. The child runs at a lower CPU priority than the bot (niceness 10): where both want a core, the
loop that answers people gets it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import Clock
from crm.core.events import MessageBus
from crm.core.offloop import C, InlineWorker, Worker
from storage.engine import create_engine
from storage.uow import SqlUnitOfWorkFactory

T = TypeVar("T")
log = logging.getLogger(__name__)
JOB_SWITCH_INTERVAL = 0.0005
JOB_FULL_COLLECTIONS_AFTER = 1_000_000  # young collections before a full one, while a job runs: in effect none
JOB_NICENESS = 10  # the child process's CPU priority below the bot's (0); see _in_the_background
RELAY_WAIT_SECONDS = 60.0  # the longest a job waits for the bot's loop to take a progress report

_switch_lock = threading.Lock()
_jobs_running = 0
_switch_before = 0.005
_thresholds_before = gc.get_threshold()


def _job_started() -> None:
    global _jobs_running, _switch_before, _thresholds_before
    with _switch_lock:
        if _jobs_running == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_before, JOB_SWITCH_INTERVAL))
            _thresholds_before = gc.get_threshold()
            young, middle, _ = _thresholds_before
            gc.set_threshold(young, middle, max(_thresholds_before[2], JOB_FULL_COLLECTIONS_AFTER))
        _jobs_running += 1


def _job_ended() -> None:
    global _jobs_running
    with _switch_lock:
        _jobs_running -= 1
        if _jobs_running == 0:
            sys.setswitchinterval(_switch_before)
            gc.set_threshold(*_thresholds_before)


# Jobs of every worker of the process take turns (each module has its own worker): waited for in the job's
# thread, not on the bot's loop.
_turns = threading.Semaphore(1)
# False: ``run_apart`` jobs run in a job thread like ``run``'s — for tests that pause a job half-way from the
# test's own process (a child process is out of their reach).
RUN_APART = True
_in_job = threading.local()
_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _process_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_in_the_background)
        return _pool


def _in_the_background() -> None:
    """In the child process, at its start: a lower CPU priority than the bot's. On a machine with other work (the
    database, other services) the child and the bot's loop compete for the same cores; the loop answers people
    and should win. Measured during 50 digests at 08:30 on 2 cores under load 3: a lookup's p95 1.6–2.2× idle
    with the child at the bot's priority, 1.3–1.4× at niceness 10, the digests as fast (docs/digests.md). On an
    idle core the child runs at full speed either way."""
    with contextlib.suppress(AttributeError, OSError):  # os.nice: POSIX only
        os.nice(JOB_NICENESS)


def _apart(url: str, clock: Clock, job: Callable[..., Awaitable[T]], args: tuple[Any, ...],
           report: _PipeReport | None = None) -> T:
    """In the child process: the job on an engine of its own."""

    async def body() -> T:
        engine = create_engine(url)
        try:
            factory = SqlUnitOfWorkFactory(engine, clock)
            if report is not None:
                return await job(factory, *args, progress=report)
            return await job(factory, *args)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(body())
    finally:
        if report is not None:
            report.close()


class _PipeReport:
    """The child's end of a job's progress pipe, handed to the job as its ``progress``: each call sends its
    arguments to the parent; a "stop" from the parent (its caller was cancelled) raises CancelledError here, in the
    job, so a writing job rolls back."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def __call__(self, *args: Any) -> None:
        if self._conn.poll() and self._conn.recv() == _STOP:
            raise asyncio.CancelledError()
        self._conn.send(args)

    def close(self) -> None:
        self._conn.close()


_STOP = "stop"


class _ProgressReader:
    """The parent's end: reports read as they arrive (a reader on the loop), handed to ``progress`` one at a time,
    the latest winning over any the callback had no time for."""

    def __init__(self, conn: Connection, progress: Callable[..., Awaitable[None]]) -> None:
        self._conn = conn
        self._progress = progress
        self._loop = asyncio.get_running_loop()
        self._latest: tuple[Any, ...] | None = None
        self._busy: asyncio.Future[None] | None = None
        self._loop.add_reader(conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            while self._conn.poll():
                self._latest = self._conn.recv()
        except (EOFError, OSError):
            self._loop.remove_reader(self._conn.fileno())
        self._next()

    def _next(self) -> None:
        if self._busy is not None or self._latest is None:
            return
        args, self._latest = self._latest, None
        self._busy = asyncio.ensure_future(self._progress(*args), loop=self._loop)
        self._busy.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._busy = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("a progress report failed", exc_info=task.exception())
        self._next()

    def stop_job(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(_STOP)

    async def finish(self) -> None:
        """After the job: the last report delivered, the pipe closed."""
        self._loop.remove_reader(self._conn.fileno())
        with contextlib.suppress(EOFError, OSError):
            while self._conn.poll():
                self._latest = self._conn.recv()
        self._next()
        while self._busy is not None:
            await asyncio.gather(self._busy, return_exceptions=True)
        self._conn.close()


class ThreadWorker:
    def __init__(self, url: str, clock: Clock, *, bus: MessageBus | None = None, slots: int = 2) -> None:
        self._url = url
        self._clock = clock
        self._bus = bus
        self._waiting: asyncio.Semaphore | None = None
        self._slot_count = slots

    async def run(self, job: Callable[[SqlUnitOfWorkFactory], Awaitable[T]]) -> T:
        if getattr(_in_job, "active", False):
            # Started from inside a job: it already holds the turn and is off the bot's loop, so run it here
            # (waiting for a turn of its own would wait for itself).
            return await self._body(job)
        if self._waiting is None:
            self._waiting = asyncio.Semaphore(self._slot_count)
        async with self._waiting:
            return await self._run(job)

    async def _run(self, job: Callable[[SqlUnitOfWorkFactory], Awaitable[T]]) -> T:
        outcome: Future[T] = Future()
        handle: dict[str, Any] = {}
        ready = threading.Event()

        async def body() -> T:
            handle["loop"], handle["task"] = asyncio.get_running_loop(), asyncio.current_task()
            ready.set()
            return await self._body(job)

        def main() -> None:
            settle: Callable[[], object]
            with _turns:
                _in_job.active = True
                _job_started()
                try:
                    settle = partial(outcome.set_result, asyncio.run(body()))
                except asyncio.CancelledError:
                    settle = outcome.cancel
                except BaseException as error:  # handed to the caller
                    settle = partial(outcome.set_exception, error)
                finally:
                    ready.set()
                    _job_ended()
                    _in_job.active = False
            # Only now: a caller told earlier could still see the job's switch interval and thresholds.
            settle()

        thread = threading.Thread(target=main, name="crm-offloop", daemon=True)
        thread.start()
        waiting = asyncio.wrap_future(outcome)
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            await asyncio.to_thread(ready.wait)
            loop, task = handle.get("loop"), handle.get("task")
            if loop is not None and task is not None and not outcome.done():
                with contextlib.suppress(RuntimeError):  # the job's loop has just closed: it finished anyway
                    loop.call_soon_threadsafe(task.cancel)
            await asyncio.gather(waiting, return_exceptions=True)  # rolled back before we say we stopped
            raise

    async def _body(self, job: Callable[[SqlUnitOfWorkFactory], Awaitable[T]]) -> T:
        engine: AsyncEngine = create_engine(self._url)
        try:
            return await job(SqlUnitOfWorkFactory(engine, self._clock, bus=self._bus))
        finally:
            await engine.dispose()

    async def run_apart(self, job: Callable[..., Awaitable[T]], *args: Any,
                        progress: Callable[..., Awaitable[None]] | None = None) -> T:
        if not RUN_APART:
            relayed = self.relay(progress) if progress is not None else None

            async def in_thread(factory: SqlUnitOfWorkFactory) -> T:
                if relayed is not None:
                    return await job(factory, *args, progress=relayed)
                return await job(factory, *args)

            return await self.run(in_thread)
        pool = _process_pool()
        reader: _ProgressReader | None = None
        report: _PipeReport | None = None
        if progress is not None:
            here, there = multiprocessing.Pipe()
            reader, report = _ProgressReader(here, progress), _PipeReport(there)
        try:
            if getattr(_in_job, "active", False):  # from inside a job: it holds the turn already
                return await asyncio.wrap_future(pool.submit(_apart, self._url, self._clock, job, args, report))

            def on_its_turn() -> T:
                # A child process takes a turn like a thread job: beside an import's thread it would take the
                # second core the bot's loop needs (2 cores: the loop, the import, the export child). Waited for
                # in a worker thread, which a cancelled caller leaves to finish and give the turn back.
                with _turns:
                    return pool.submit(_apart, self._url, self._clock, job, args, report).result()

            return await asyncio.to_thread(on_its_turn)
        except asyncio.CancelledError:
            if reader is not None:
                reader.stop_job()
            raise
        finally:
            if report is not None:
                report.close()  # the child has its own copy of this end
            if reader is not None:
                await reader.finish()

    def relay(self, callback: C) -> C:
        home = asyncio.get_running_loop()

        async def relayed(*args: Any, **kwargs: Any) -> Any:
            if asyncio.get_running_loop() is home:
                return await callback(*args, **kwargs)

            async def at_home() -> Any:
                return await callback(*args, **kwargs)

            if home.is_closed():
                return None  # the bot is gone (shut down mid-job): nobody to tell, and nothing to wait for
            # Bounded: a home loop that stops while the job waits would otherwise hold the job (and its deferred
            # collections) for ever; progress that cannot be shown is not worth a stuck job.
            handed = asyncio.run_coroutine_threadsafe(at_home(), home)
            try:
                return await asyncio.wait_for(asyncio.wrap_future(handed), RELAY_WAIT_SECONDS)
            except TimeoutError:
                handed.cancel()
                return None

        return relayed  # type: ignore[return-value]  # same signature as callback


def worker_beside(uow: SqlUnitOfWorkFactory, clock: Clock) -> Worker[Any]:
    """A worker on the database ``uow`` uses; inline where a second connection would see another database
    (in-memory SQLite)."""
    url = uow.engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return InlineWorker(uow)
    return ThreadWorker(url.render_as_string(hide_password=False), clock, bus=uow.bus)
