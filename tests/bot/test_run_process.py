"""`crmbot run` as a real process with a token, long-polling a Bot API endpoint over HTTP (the fake, served on
loopback), answering a user, and shutting down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_http import serve_bot_api

TOKEN = "987654321:process-test-token-abcdefghijk"
ROOT = Path(__file__).resolve().parents[2]


async def _wait_for(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the bot")
        await asyncio.sleep(0.05)


async def test_run_long_polls_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN, bot_username="crm_process_bot")
    admin = api.add_user(1001, "Ada", language_code="zh-hant")
    async with serve_bot_api(api) as base_url:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base_url,
               "TELEGRAM_API_FILE_URL": base_url.replace("/bot", "/file/bot"), "DATA_DIR": str(tmp_path),
               "ADMIN_TELEGRAM_IDS": "1001", "LOG_LEVEL": "WARNING", "DATABASE_URL": "", "HTTP_PORT": "0"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=str(tmp_path), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None  # PIPE
        try:
            await _wait_for(lambda: bool(api.calls_to("getUpdates")) or process.returncode is not None)
            assert process.returncode is None, (await process.stderr.read()).decode()
            api.text(admin, "/start")  # queued for the next getUpdates
            await _wait_for(lambda: bool(api.sent_messages(admin.id)))
            assert "您好" in (api.last_message(admin.id).text or "")
            languages = {c.params.get("language_code") for c in api.calls_to("setMyCommands")}
            assert {None, "en", "zh"} <= languages
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 30)
            stderr = (await process.stderr.read()).decode()
            assert code == 0, stderr
            assert TOKEN.split(":")[1] not in stderr  # the secret never reaches the logs
            assert (tmp_path / "crmbot.db").exists()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
