"""The first hour with crmbot, driven as a newcomer does it: the console demo piped a script, then the `crmbot`
commands in a shell, from a folder of their choosing. Checked on what they read and the files they find."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _crmbot(cwd: Path, *args: str, stdin: str = "", data_dir: str = "data") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": data_dir, "TELEGRAM_BOT_TOKEN": "", "DATABASE_URL": "", "LOG_LEVEL": "INFO",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=180, check=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The newcomer's folder, with DATA_DIR=data relative to it (the default's shape)."""
    return tmp_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_demo_then_cli(home: Path) -> None:
    script = "/export\n1\n/labels\n1\nAcme\n1\n3\n1\n"
    run = _crmbot(home, "run", stdin=script)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "could not save" not in out
    saved = re.search(r"📎 (customers-[0-9-]+\.csv) \([0-9.]+ KB\) saved to (\S+)", out)
    assert saved is not None, out
    path = Path(saved.group(2))
    assert path.is_absolute() and path.parent == home / "data" / "console-downloads"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 31  # a header and the 30 demo customers Ada sees
    # Acme has no postal address: the bot's only reply is a pop-up alert on the pressed button.
    assert "bot (pop-up): None of them has an address on file (1 without one)." in out
    assert "Database: sqlite:///data/console-demo.db" in run.stderr

    # Then the CLI, which uses the real database unless told --demo, and says which one it opened.
    sheet = home / "leads.csv"
    sheet.write_text("Name,Phone\nNew Lead Co,0987 654 321\n", encoding="utf-8")
    real = _crmbot(home, "import", "customers", str(sheet), "--dry-run")
    assert real.returncode == 2 and "No active admin yet" in real.stderr
    assert "Database: sqlite:///data/crmbot.db" in real.stderr

    demo = _crmbot(home, "import", "customers", str(sheet), "--dry-run", "--demo")
    assert demo.returncode == 0, demo.stderr
    assert "Database: sqlite:///data/console-demo.db" in demo.stderr
    assert "1 rows" in demo.stdout or "1 row" in demo.stdout

    migrated = _crmbot(home, "migrate", data_dir=str(home / "elsewhere"))
    assert migrated.returncode == 0
    assert f"Database: sqlite:///{(home / 'elsewhere' / 'crmbot.db').as_posix()}" in migrated.stderr


def test_database_password_is_never_printed(home: Path) -> None:
    env_url = "postgresql+asyncpg://crm:s3cret@db.internal:5432/crm"
    result = subprocess.run([sys.executable, "-m", "bot", "backup", "out.dump"], capture_output=True, text=True,
                            cwd=home, timeout=60, check=False,
                            env={**os.environ, "DATABASE_URL": env_url, "DATA_DIR": "data",
                                 "PYTHONPATH": str(ROOT)})
    assert "Database: postgresql://crm@db.internal:5432/crm" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_new_data_is_private_and_backup_never_overwrites_by_surprise(home: Path) -> None:
    assert _crmbot(home, "migrate").returncode == 0
    data = home / "data"
    assert _mode(data) == 0o700 and _mode(data / "crmbot.db") == 0o600

    target = home / "backups" / "monday.db"
    first = _crmbot(home, "backup", str(target))
    assert first.returncode == 0, first.stderr
    assert _mode(target) == 0o600
    with sqlite3.connect(target) as db:
        assert db.execute("select count(*) from roles").fetchone()[0] >= 5

    target.write_bytes(b"last week's backup")
    again = _crmbot(home, "backup", str(target))
    assert again.returncode != 0 and "--force" in again.stderr
    assert target.read_bytes() == b"last week's backup"

    forced = _crmbot(home, "backup", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    with sqlite3.connect(target) as db:
        assert db.execute("select count(*) from roles").fetchone()[0] >= 5
    assert [p.name for p in target.parent.iterdir() if "partial" in p.name] == []
