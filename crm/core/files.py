"""The port for private copies of files sent in chat (photos, receipts, contracts, documents).

A Telegram file id belongs to one bot token; the copy under DATA_DIR is what remains when the token changes or
Telegram forgets the file. Paths are relative to DATA_DIR, with ``/`` between parts, and never leave it.
"""

from __future__ import annotations

from typing import Protocol


class ChatFileStore(Protocol):
    def write(self, relative: str, data: bytes) -> str:
        """Write ``data`` at ``relative`` (replacing what was there, atomically); the path as stored."""
        ...

    def read(self, relative: str) -> bytes: ...

    def remove(self, relative: str) -> None: ...
