"""Intel photos kept under DATA_DIR besides Telegram's copy (a file id stops working when the bot's token
changes): one file per intel item, ``0600`` in a ``0700`` folder, as expense receipts are."""

from __future__ import annotations

import os
from pathlib import Path

MAX_FILE_BYTES = 10 * 1024 * 1024


class IntelFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, intel_id: int, data: bytes) -> str:
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"intel photo of {len(data)} bytes")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # mkdir's mode is reduced by the umask, and an existing folder keeps its own
        name = f"intel-{int(intel_id)}.jpg"
        path = self.folder / name
        partial = path.with_suffix(".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)  # a half-written file never takes the name
        return f"{self.folder.name}/{name}"
