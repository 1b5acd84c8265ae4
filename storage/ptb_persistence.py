"""PTB persistence in our own database, so a restart in the middle of a flow resumes where the user was.

PTB hands us only the users/chats whose data changed since the last flush, and we write one row per changed
key (an upsert), so the cost is proportional to activity, never to the number of users. Data must be JSON:
handlers keep drafts as plain dicts of strings and numbers.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage import tables as t


class SqlPersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    def __init__(self, engine: AsyncEngine, *, update_interval: float = 1.0) -> None:
        # Callback data is not stored: our buttons carry ids, never Python objects. bot_data holds the service
        # container, which is wiring, not state.
        super().__init__(store_data=PersistenceInput(bot_data=False, callback_data=False),
                         update_interval=update_interval)
        self._engine = engine
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        # What each row holds now. PTB offers every user who sent an update for writing, changed or not;
        # comparing with the last written JSON keeps a busy bot from rewriting unchanged rows every second.
        self._written: dict[tuple[str, int], str] = {}

    async def _upsert(self, kind: str, key: int, data: dict[str, Any]) -> None:
        encoded = json.dumps(data, default=str, sort_keys=True)
        if self._written.get((kind, key)) == encoded:
            return
        data = json.loads(encoded)
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(t.ptb_data).where(t.ptb_data.c.kind == kind, t.ptb_data.c.key == key).values(data=data))
            if result.rowcount == 0:
                await conn.execute(insert(t.ptb_data).values(kind=kind, key=key, data=data))
        self._written[(kind, key)] = encoded

    async def _load(self, kind: str) -> dict[int, dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(t.ptb_data.c.key, t.ptb_data.c.data).where(t.ptb_data.c.kind == kind))
            loaded = {int(k): dict(v) for k, v in rows}
        for k, v in loaded.items():
            self._written[(kind, k)] = json.dumps(v, default=str, sort_keys=True)
        return loaded

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return await self._load("user")

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return await self._load("chat")

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(t.ptb_conversations.c.key, t.ptb_conversations.c.state)
                .where(t.ptb_conversations.c.name == name))
            return {tuple(json.loads(key)): state["state"] for key, state in rows}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        encoded = json.dumps(list(key))
        async with self._writer.begin() as conn:
            await conn.execute(delete(t.ptb_conversations).where(
                t.ptb_conversations.c.name == name, t.ptb_conversations.c.key == encoded))
            if new_state is not None:
                await conn.execute(insert(t.ptb_conversations).values(
                    name=name, key=encoded, state={"state": new_state}))

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._upsert("user", user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        await self._upsert("chat", chat_id, data)

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop("chat", chat_id)

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop("user", user_id)

    async def _drop(self, kind: str, key: int) -> None:
        self._written.pop((kind, key), None)
        async with self._writer.begin() as conn:
            await conn.execute(delete(t.ptb_data).where(t.ptb_data.c.kind == kind, t.ptb_data.c.key == key))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
