"""Heavy work off the event loop: the port, and the inline stand-in used where no worker is wired.

The bot serves everyone from one event loop. An export of 100,000 customers (7 s of database reads and Python)
run on it made a rep's phone lookup wait 4.8 s. A service with such a job hands it to a ``Worker``: the job is a
coroutine function that gets a unit-of-work factory of its own; storage's worker (storage/offloop.py) runs it in
a thread with its own event loop and its own database connections, so the bot's loop only waits for the answer.
Progress callbacks that touch the chat belong to the bot's loop: ``relay`` wraps one so the job may await it
from wherever it runs.

A thread still shares the interpreter lock with the bot's loop: a job that is mostly Python (formatting 100,000
phone numbers for an export, checking and writing an import) slows every lookup while it runs. ``run_apart`` runs
such a job in another process, where it competes for a CPU core only; its arguments and result cross by pickling,
and progress comes back through a pipe (the latest report wins: a slow chat never holds the job up).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

U = TypeVar("U")
U_co = TypeVar("U_co", covariant=True)
T = TypeVar("T")
C = TypeVar("C", bound=Callable[..., Awaitable[Any]])


class Worker(Protocol[U_co]):
    async def run(self, job: Callable[[U_co], Awaitable[T]]) -> T:
        """``await job(uow_factory)`` away from the caller's event loop; its result or exception comes back."""
        ...

    def relay(self, callback: C) -> C:
        """``callback`` (a coroutine function of the caller's loop) made safe to await from inside a job."""
        ...

    async def run_apart(self, job: Callable[..., Awaitable[T]], *args: Any,
                        progress: Callable[..., Awaitable[None]] | None = None) -> T:
        """``await job(uow_factory, *args)`` in a separate process with its own database connections. ``job`` is
        a module-level coroutine function; ``args`` and the result must pickle. A cancelled caller stops
        waiting; the process finishes a job without ``progress`` and its result is dropped.

        With ``progress`` (a coroutine function of the caller's loop), the job is called with ``progress=`` an
        awaitable of its own; each call reports to the caller (arguments must pickle), and raises
        ``asyncio.CancelledError`` inside the job once the caller was cancelled — a writing job reports as it
        goes and so rolls back instead of committing for a caller that is gone."""
        ...


class InlineWorker(Generic[U]):
    """Runs the job on the caller's loop with the caller's factory: tests, the console demo, in-memory SQLite."""

    def __init__(self, uow: U) -> None:
        self._uow = uow

    async def run(self, job: Callable[[U], Awaitable[T]]) -> T:
        return await job(self._uow)

    def relay(self, callback: C) -> C:
        return callback

    async def run_apart(self, job: Callable[..., Awaitable[T]], *args: Any,
                        progress: Callable[..., Awaitable[None]] | None = None) -> T:
        if progress is not None:
            return await job(self._uow, *args, progress=progress)
        return await job(self._uow, *args)
