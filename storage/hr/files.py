"""Files attached to HR events, kept under DATA_DIR besides Telegram (a file id stops working when the bot's
token changes): one file per event, ``0600`` in a ``0700`` folder, as intel photos and receipts are."""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_suffix(name: str) -> str:
    """The original extension, if it is a plain one (the file itself is named by the event)."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix and len(suffix) <= 8 and not _UNSAFE.search(suffix[1:]) else ".bin"


class HrFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, event_id: int, name: str, data: bytes) -> str:
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"HR file of {len(data)} bytes")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # mkdir's mode is reduced by the umask, and an existing folder keeps its own
        file_name = f"event-{int(event_id)}{safe_suffix(name)}"
        path = self.folder / file_name
        partial = path.with_name(path.name + ".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)  # a half-written file never takes the name
        return f"{self.folder.name}/{file_name}"
