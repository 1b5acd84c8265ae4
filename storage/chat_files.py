"""Private copies of files sent in chat, under DATA_DIR: every folder ``0700``, every file ``0600``.

The one place that writes them (receipts, intel photos, contract files, ticket attachments, announcements'
attachments, office documents), so the modes, the atomic replace and the "never leave DATA_DIR" check are the
same for all. ``mkdir``'s mode is cut by the umask and an existing folder keeps its own, hence the ``chmod``;
a file is written beside its name and renamed, so a half-written file never takes the name.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

DIR_MODE = 0o700
FILE_MODE = 0o600
NAME_LIMIT = 80
_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(name: str) -> str:
    """The last part of a path, NFKC, without control characters, anything but letters (any script), digits,
    ``.``, ``-`` and ``_`` turned into ``_``, no leading dots (hidden files, ``..``), at most NAME_LIMIT
    characters with its extension kept; "file" when nothing is left."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).lstrip("._").rstrip("_") or "file"
    if len(base) > NAME_LIMIT:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        base = base[: NAME_LIMIT - len(ext) - 1] + "." + ext if ext else base[:NAME_LIMIT]
    return base


class ChatFiles:
    """Implements ``crm.core.files.ChatFileStore`` on a folder (DATA_DIR)."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)

    def _target(self, relative: str) -> Path:
        parts = relative.split("/")
        if any(part in ("..", ".", "") or "\\" in part or "\0" in part for part in parts):
            raise ValueError(f"not a path inside DATA_DIR: {relative!r}")
        return self.root.joinpath(*parts)

    def _folder(self, target: Path) -> None:
        """Make the folders from DATA_DIR down to the file's own, each 0700 (DATA_DIR itself is the engine's)."""
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        folder = self.root
        for part in target.relative_to(self.root).parts[:-1]:
            folder = folder / part
            folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            os.chmod(folder, DIR_MODE)

    def write(self, relative: str, data: bytes) -> str:
        target = self._target(relative)
        self._folder(target)
        partial = target.with_name(f".{target.name}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # an existing .part keeps its own mode through O_CREAT
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
        return PurePosixPath(*target.relative_to(self.root).parts).as_posix()

    def read(self, relative: str) -> bytes:
        return self._target(relative).read_bytes()

    def remove(self, relative: str) -> None:
        self._target(relative).unlink(missing_ok=True)
