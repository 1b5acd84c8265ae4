"""Copies of contract files under DATA_DIR/contracts: the folder 0700, each file 0600, names made safe.

A Telegram file id belongs to one bot token; the copy keeps the file when the token changes. Files are written
off the event loop (a thread) and replaced atomically (written beside, then renamed).
"""

from __future__ import annotations

import asyncio
import os
import re
import unicodedata
from pathlib import Path

from crm.contracts.model import StoredFile

FOLDER = "contracts"
NAME_LIMIT = 80
_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(name: str) -> str:
    """The last part of a path, NFKC, without control characters, anything but letters (any script), digits,
    ``.``, ``-`` and ``_`` turned into ``_``, no leading dots (hidden files, ``..``), at most NAME_LIMIT
    characters with its extension kept; "file" when nothing is left."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).lstrip(".").strip("_") or "file"
    if len(base) > NAME_LIMIT:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        base = base[: NAME_LIMIT - len(ext) - 1] + "." + ext if ext else base[:NAME_LIMIT]
    return base


class ContractFolder:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / FOLDER

    def _folder(self) -> Path:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # mkdir's mode is cut by the umask, and an existing folder keeps its own
        return self.root

    def _write(self, contract_id: int, name: str, data: bytes) -> StoredFile:
        relative = f"{contract_id}-{safe_name(name)}"
        target = self._folder() / relative
        temporary = target.with_name(f".{relative}.part")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, target)
        return StoredFile(relative, len(data))

    def _read(self, path: str) -> bytes:
        target = (self.root / path).resolve()
        if target.parent != self.root.resolve():
            raise FileNotFoundError(path)  # a stored path never leaves the folder
        return target.read_bytes()

    async def save(self, contract_id: int, name: str, data: bytes) -> StoredFile:
        return await asyncio.to_thread(self._write, contract_id, name, data)

    async def read(self, path: str) -> bytes:
        return await asyncio.to_thread(self._read, path)
