"""`crmbot console` the way a newcomer runs it: a scripted session piped in, the transcript read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _console(tmp_path: Path, script: str, *args: str) -> str:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "TELEGRAM_BOT_TOKEN": "", "DATABASE_URL": ""}
    result = subprocess.run([sys.executable, "-m", "bot", "run", *args], input=script, capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_piped_demo_session(tmp_path: Path) -> None:
    out = _console(tmp_path, "/help\n/roles\n3\n!as jason\n/roles\n/me\n")
    assert "Demo company created" in out
    assert "[1] Admin" in out and "Sales rep" in out  # buttons rendered as numbered choices
    assert "Operations:" in out  # pressing 3 opened the rep role
    assert "You don't have permission" in out  # Jason is a rep
    assert "Jason Chen" in out
    # A second start reuses the same demo database: no second seeding.
    again = _console(tmp_path, "/me\n", "--as", "美玲")
    assert "Demo company created" not in again and "林美玲" in again


def test_console_without_demo_refuses_strangers(tmp_path: Path) -> None:
    out = _console(tmp_path, "/help\n", "--no-demo", "--as", "wang_fang")
    assert "private bot" in out or "內部" in out or "内部" in out


def test_piped_session_imports_a_csv_sent_with_file(tmp_path: Path) -> None:
    # The check and the write run in the background; each script line waits for them, as a person would.
    (tmp_path / "customers.csv").write_text("name,phone\nAlice Wong,0911 222 333\nBob Lee,0922 333 444\n",
                                            encoding="utf-8")
    out = _console(tmp_path, "!file customers.csv\n1\n1\n")
    assert "What is in customers.csv?\n  [1] 👥 Customers\n  [2] 📦 Products" in out  # Ada may import both
    assert "Checking customers.csv" in out
    assert "customers.csv — 2 rows" in out and "2 ready to import" in out
    assert "[1] Import 2 valid rows  [2] Cancel" in out
    assert "✅ Imported 2 customers; 0 rows were skipped." in out
