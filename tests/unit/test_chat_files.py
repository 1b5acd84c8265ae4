"""storage/chat_files.py: the one writer of private copies of files sent in chat."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.chat_files import ChatFiles


def test_copies_are_private_atomic_and_stay_inside_the_data_dir(tmp_path: Path) -> None:
    files = ChatFiles(tmp_path / "data")
    relative = files.write("office/7/v1-報價單.pdf", b"%PDF-1")
    assert relative == "office/7/v1-報價單.pdf"
    path = tmp_path / "data" / "office" / "7" / "v1-報價單.pdf"
    assert path.read_bytes() == b"%PDF-1" and files.read(relative) == b"%PDF-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for folder in (path.parent, path.parent.parent):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    os.chmod(path.parent, 0o755)  # an existing folder is put back to 0700
    files.write(relative, b"%PDF-2")
    assert files.read(relative) == b"%PDF-2" and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing half-written left beside it
    files.remove(relative)
    files.remove(relative)  # already gone: nothing to do
    assert not path.exists()
    for bad in ("../escape", "/etc/passwd", "a/../../b", "", "a//b"):
        with pytest.raises(ValueError):
            files.write(bad, b"x")
