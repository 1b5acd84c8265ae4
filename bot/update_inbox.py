"""Updates stored first (storage/inbound_updates.py), then handled one at a time in update_id order.

The webhook answers Telegram only after ``receive`` has committed the update, and the long-polling loop
(``poll``) asks for the next offset — which acknowledges the batch — only after the batch is stored. So an
update is never lost to a crash between acknowledging and handling: a stored update not yet marked handled is
handled by the next process that starts. An update killed halfway through its handling is handled again (at
least once, never zero times); an update delivered twice is stored once and handled once.

What this process stored itself is handed to the worker in memory, already parsed, once it is committed: the
table is read back only for what an earlier process left (at start) and after a failure. Reading each update
back and parsing its JSON a second time cost about as much CPU as a whole command's handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from storage.inbound_updates import InboundUpdates

__all__ = ["POLL_TIMEOUT", "UpdateInbox", "poll"]

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]
POLL_TIMEOUT = 10  # seconds a getUpdates call waits for updates (PTB's Updater default)
STOP_WAIT_SECONDS = 30.0  # for the update being handled when the process is asked to stop
BATCH = 100  # stored updates read from the table at a time


class UpdateInbox:
    def __init__(self, app: AnyApp, store: InboundUpdates) -> None:
        self._app = app
        self._store = store
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Stored and committed by this process, not handled yet, in the order stored; their ids in a set too.
        self._queued: deque[Update] = deque()
        self._queued_ids: set[int] = set()
        self._read_table = True  # what an earlier process (or a failed round) left is only in the table

    async def receive(self, update_id: int, body: str, update: Update | None = None) -> bool:
        """Store the update durably and let the worker know; False for an update_id seen before.
        ``update``: the body already parsed, handed on as it is."""
        stored = bool(await self._store.store_many([(update_id, body)]))
        if stored:
            self._queue([update] if update is not None else None)
        return stored

    async def receive_many(self, updates: list[tuple[int, str]]) -> None:
        """Store a batch durably, in one transaction, and let the worker know."""
        if updates:
            await self._store.store_many(updates)
            self._queue(None)

    async def receive_updates(self, updates: Sequence[Update]) -> None:
        """A long poll's batch: stored in one transaction, then handed to the worker as parsed."""
        if not updates:
            return
        new = set(await self._store.store_many([(u.update_id, json.dumps(u.to_dict())) for u in updates]))
        self._queue([u for u in updates if u.update_id in new])

    def _queue(self, updates: list[Update] | None) -> None:
        if updates is None:
            self._read_table = True  # stored without a parsed copy: the worker reads it from the table
        else:
            self._queued.extend(updates)
            self._queued_ids.update(u.update_id for u in updates)
        self.wake()

    async def start(self) -> None:
        """Handle what an earlier process stored and did not handle, then whatever arrives."""
        pruned = await self._store.prune()
        if pruned:
            log.debug("forgot %d handled updates", pruned)
        if self._task is None and not self._stopping:
            self._task = asyncio.create_task(self._work(), name="stored-updates")
        self.wake()

    def wake(self) -> None:
        # Started on first use too (once the Application runs), so an HTTP app built without run() (tests,
        # embedding) handles what it stores; before that, start() starts it.
        if self._task is None and not self._stopping and self._app.running:
            self._task = asyncio.create_task(self._work(), name="stored-updates")
        self._wake.set()

    async def stop(self) -> None:
        """Let the update being handled finish (what is left stays stored for the next start)."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_WAIT_SECONDS)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _work(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before reading, so an update stored during the read wakes the next round
            if self._read_table:
                if not await self._work_from_table():
                    await asyncio.sleep(1)
                continue
            if not self._queued:
                await self._wake.wait()
                continue
            update = self._queued.popleft()
            if update.update_id in self._queued_ids:  # else handled already, read from the table
                self._queued_ids.discard(update.update_id)
                await self._handle(update.update_id, update)

    async def _work_from_table(self) -> bool:
        """Handle what the table holds unhandled, oldest first; False when it could not be read."""
        self._read_table = False
        try:
            batch = await self._store.unhandled(limit=BATCH)
        except Exception:
            self._read_table = True
            log.warning("stored webhook updates could not be read; trying again", exc_info=True)
            return False
        if len(batch) == BATCH:
            self._read_table = True  # more behind this batch
        for update_id, body in batch:
            if self._stopping:
                return True
            # Stored by this process too: handled here, its queued copy skipped.
            self._queued_ids.discard(update_id)
            await self._handle(update_id, body)
        return True

    async def _handle(self, update_id: int, body: str | Update) -> None:
        try:
            update = Update.de_json(json.loads(body), self._app.bot) if isinstance(body, str) else body
            await self._app.process_update(update)
        except Exception:
            # process_update hands handler errors to the error handler; what reaches here is an update that can
            # never be handled (the webhook parsed it once, so this is rare). Retrying it would block every later one.
            log.exception("webhook update %s could not be handled; skipped", update_id)
        while True:
            try:
                await self._store.mark_handled(update_id)
                return
            except Exception:
                # Handled but not marked: it must not be handled twice by this process, so wait for the database.
                log.warning("webhook update %s handled but not yet marked; trying again", update_id, exc_info=True)
                await asyncio.sleep(1)


async def poll(app: AnyApp, inbox: UpdateInbox, allowed_updates: list[str], stop: asyncio.Event) -> None:
    """Long polling that stores each batch before asking for the next offset. PTB's Updater asks for the next
    batch as soon as it queued the last one, unhandled, so a crash lost what was queued (docs/decisions.md)."""
    offset: int | None = None  # None at start: whatever Telegram has not had acknowledged, stored or not
    failures = 0
    while not stop.is_set():
        try:
            updates = await app.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed_updates)
            await inbox.receive_updates(updates)
        except InvalidToken:
            log.error("Telegram refused TELEGRAM_BOT_TOKEN; stopping")
            stop.set()
            return
        except Exception as exc:
            # Not acknowledged: the same offset brings the batch again, and what was stored of it is dropped then.
            failures += 1
            level = logging.WARNING if isinstance(exc, TelegramError) else logging.ERROR
            log.log(level, "getting updates failed (%s); trying again", exc, exc_info=level == logging.ERROR)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(2.0 ** failures, 30.0))
            continue
        failures = 0
        if updates:
            offset = updates[-1].update_id + 1
