"""Copies of contract files under DATA_DIR/contracts, written by storage/chat_files.py (the folder 0700, each
file 0600, replaced atomically), names made safe.

A Telegram file id belongs to one bot token; the copy keeps the file when the token changes. Files are written
off the event loop (a thread).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from crm.contracts.model import StoredFile
from storage.chat_files import NAME_LIMIT, ChatFiles, safe_name

__all__ = ["FOLDER", "NAME_LIMIT", "ContractFolder", "safe_name"]

FOLDER = "contracts"


class ContractFolder:
    def __init__(self, data_dir: Path) -> None:
        self.files = ChatFiles(Path(data_dir))

    def _write(self, contract_id: int, name: str, data: bytes) -> StoredFile:
        relative = f"{contract_id}-{safe_name(name)}"
        self.files.write(f"{FOLDER}/{relative}", data)
        return StoredFile(relative, len(data))

    def _read(self, path: str) -> bytes:
        if "/" in path or "\\" in path or path in ("", ".", ".."):
            raise FileNotFoundError(path)  # a stored path never leaves the folder
        return self.files.read(f"{FOLDER}/{path}")

    async def save(self, contract_id: int, name: str, data: bytes) -> StoredFile:
        return await asyncio.to_thread(self._write, contract_id, name, data)

    async def read(self, path: str) -> bytes:
        return await asyncio.to_thread(self._read, path)
