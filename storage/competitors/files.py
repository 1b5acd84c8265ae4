"""Intel photos kept under DATA_DIR besides Telegram's copy (a file id stops working when the bot's token
changes): one file per intel item, written by storage/chat_files.py (``0600`` in a ``0700`` folder)."""

from __future__ import annotations

from pathlib import Path

from storage.chat_files import ChatFiles

MAX_FILE_BYTES = 10 * 1024 * 1024


class IntelFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = ChatFiles(folder.parent)

    def save(self, intel_id: int, data: bytes) -> str:
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"intel photo of {len(data)} bytes")
        return self.files.write(f"{self.folder.name}/intel-{int(intel_id)}.jpg", data)
