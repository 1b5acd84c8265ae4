"""Updates stored first (storage/inbound_updates.py), then handled one at a time in update_id order.

The webhook answers Telegram only after ``receive`` has committed the update, and the long-polling loop
(``poll``) asks for the next offset — which acknowledges the batch — only after the batch is stored. So an
update is never lost to a crash between acknowledging and handling: a stored update not yet marked handled is
handled by the next process that starts. An update killed halfway through its handling is handled again (at
least once, never zero times); an update delivered twice is stored once and handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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


class UpdateInbox:
    def __init__(self, app: AnyApp, store: InboundUpdates) -> None:
        self._app = app
        self._store = store
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def receive(self, update_id: int, body: str) -> bool:
        """Store the update durably and let the worker know; False for an update_id seen before."""
        stored = await self._store.store(update_id, body)
        self.wake()
        return stored

    async def receive_many(self, updates: list[tuple[int, str]]) -> None:
        """Store a batch durably, in one transaction, and let the worker know."""
        if updates:
            await self._store.store_many(updates)
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
            try:
                batch = await self._store.unhandled()
            except Exception:
                log.warning("stored webhook updates could not be read; trying again", exc_info=True)
                await asyncio.sleep(1)
                continue
            for update_id, body in batch:
                if self._stopping:
                    return
                await self._handle(update_id, body)
            if not batch:
                await self._wake.wait()

    async def _handle(self, update_id: int, body: str) -> None:
        try:
            update = Update.de_json(json.loads(body), self._app.bot)
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
            await inbox.receive_many([(u.update_id, json.dumps(u.to_dict())) for u in updates])
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
