"""A copy of an announcement's attachment under DATA_DIR, readable by the bot's user only: Telegram's file id is
what is sent again, the copy is what remains if Telegram forgets the file (or the bot moves to another token)."""

from __future__ import annotations

import secrets

from telegram import Bot

from crm.core.files import ChatFileStore

FOLDER = "announcements"
MAX_BYTES = 20 * 1024 * 1024  # the most a bot may download through getFile


async def keep_copy(bot: Bot, files: ChatFileStore, file_id: str, suffix: str) -> str | None:
    """Download the file and keep it (mode 0600, storage/chat_files.py); its path relative to DATA_DIR, or None
    when Telegram would not hand it over (the announcement keeps the file id)."""
    try:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > MAX_BYTES:
            return None
        content = bytes(await file.download_as_bytearray())
    except Exception:  # the copy is a spare; the file id is what the announcement needs
        return None
    safe = "".join(ch for ch in suffix if ch.isalnum())[:8]
    name = f"{secrets.token_hex(12)}.{safe}" if safe else secrets.token_hex(12)
    return files.write(f"{FOLDER}/{name}", content)
