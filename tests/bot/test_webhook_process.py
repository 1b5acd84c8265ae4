"""`crmbot run` as a real process, in webhook mode, at LOG_LEVEL=DEBUG with every channel configured:

- an update answered 200 and then the process killed (-9) before handling it is handled by the next process;
- the same update delivered again (also after that restart) is handled once;
- no configured secret appears anywhere in either process's output, though DEBUG logs Bot API URLs,
  request parameters and whole updates;
- with long polling too, an update fetched and then the process killed before handling it is handled after the
  restart (it was stored before its offset was acknowledged).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_http import free_port, serve_bot_api

TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"  # the shape of a real token (35 characters after ":")
SECRETS = {
    "WEBHOOK_SECRET": "webhook-secret-3f9a1c77e2",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-8d0b52aa91",
    "SMTP_PASSWORD": "smtp-password-51c3e9f0d4",
    "FAX_HTTP_TOKEN": "fax-http-token-b7e2a04c6f",
}


class HoldingBotApi(FakeBotApi):
    """The fake, able to keep the bot's sendMessage calls waiting (the bot is then busy handling an update) and
    then fail them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = asyncio.Event()
        self.release.set()
        self.held = 0

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        if url.lower().endswith("/sendmessage") and not self.release.is_set():
            self.held += 1
            await self.release.wait()
            # The bot that made this call was killed meanwhile: the message never went out.
            return 502, b'{"ok": false, "error_code": 502, "description": "Bad Gateway"}'
        return await super().do_request(url, method, request_data)


async def _wait_for(predicate, limit: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the bot")
        await asyncio.sleep(0.05)


def _stored(db: Path) -> dict[int, bool]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT update_id, handled_at FROM inbound_updates").fetchall()
    return {int(i): h is not None for i, h in rows}


async def test_webhook_process_survives_kill_and_keeps_secrets_out_of_the_log(tmp_path: Path) -> None:
    api = HoldingBotApi(token=TOKEN, bot_username="crm_process_bot")
    admin = api.add_user(1001, "Ada")
    port = free_port()
    logs: list[Path] = []
    processes: list[asyncio.subprocess.Process] = []
    async with serve_bot_api(api) as base_url, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base_url,
               "TELEGRAM_API_FILE_URL": base_url.replace("/bot", "/file/bot"), "DATA_DIR": str(tmp_path),
               "ADMIN_TELEGRAM_IDS": "1001", "LOG_LEVEL": "DEBUG", "DATABASE_URL": "", "HTTP_PORT": str(port),
               "TELEGRAM_WEBHOOK": "1", "PUBLIC_BASE_URL": "https://crm.example.com",
               "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_FROM_NUMBER": "+15005550006",
               "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525", "SMTP_USERNAME": "crm", "MAIL_FROM": "crm@example.com",
               "FAX_GATEWAY": "http", "FAX_HTTP_URL": "http://127.0.0.1:9/fax", **SECRETS}
        secret_header = {"X-Telegram-Bot-Api-Secret-Token": SECRETS["WEBHOOK_SECRET"]}

        async def start() -> asyncio.subprocess.Process:
            log = tmp_path / f"process-{len(logs)}.log"
            logs.append(log)
            with log.open("wb") as out:  # a file, not a pipe: DEBUG output would fill a pipe and stall the bot
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=str(tmp_path), env=env, stdout=out, stderr=out)
            processes.append(process)
            webhooks = len(api.calls_to("setWebhook"))
            await _wait_for(lambda: len(api.calls_to("setWebhook")) > webhooks or process.returncode is not None)
            assert process.returncode is None, log.read_text()
            return process

        try:
            first = await start()
            hello = api.text(admin, "/start", enqueue=False)
            api.release.clear()  # the bot will hang in its answer: stored, acknowledged, not handled
            assert (await http.post("/telegram", json=hello, headers=secret_header)).status_code == 200
            await _wait_for(lambda: api.held > 0)
            first.kill()
            await first.wait()
            assert _stored(tmp_path / "crmbot.db") == {hello["update_id"]: False}
            api.release.set()
            assert api.sent_messages(admin.id) == []

            second = await start()
            await _wait_for(lambda: bool(api.sent_messages(admin.id)))  # handled by the process that came next
            for _ in range(2):  # Telegram delivering it again: stored once, handled once
                assert (await http.post("/telegram", json=hello, headers=secret_header)).status_code == 200
            help_update = api.text(admin, "/help", enqueue=False)
            assert (await http.post("/telegram", json=help_update, headers=secret_header)).status_code == 200
            await _wait_for(lambda: len(api.sent_messages(admin.id)) >= 2)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0, logs[-1].read_text()
            assert [("Ada" in (m.text or "")) for m in api.sent_messages(admin.id)] == [True, False]
            assert _stored(tmp_path / "crmbot.db") == {hello["update_id"]: True, help_update["update_id"]: True}
        finally:
            api.release.set()
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

    output = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "Set Bot API URL" in output and "<redacted>" in output  # DEBUG did log what carries the secrets
    for secret in [TOKEN, TOKEN.split(":")[1], *SECRETS.values()]:
        for form in {secret, quote(secret, safe="")}:
            assert form not in output, f"a secret ({secret[:6]}…) is in the log"
    assert max(len(line) for line in output.splitlines()) < 2_500  # no whole update on one endless line


async def test_polling_process_killed_before_handling_handles_the_update_after_restart(tmp_path: Path) -> None:
    api = HoldingBotApi(token=TOKEN, bot_username="crm_process_bot")
    admin = api.add_user(1001, "Ada")
    processes: list[asyncio.subprocess.Process] = []
    async with serve_bot_api(api) as base_url:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base_url,
               "TELEGRAM_API_FILE_URL": base_url.replace("/bot", "/file/bot"), "DATA_DIR": str(tmp_path),
               "ADMIN_TELEGRAM_IDS": "1001", "LOG_LEVEL": "WARNING", "DATABASE_URL": "", "HTTP_PORT": "0"}

        async def start() -> asyncio.subprocess.Process:
            polls = len(api.calls_to("getUpdates"))
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=str(tmp_path), env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            processes.append(process)
            await _wait_for(lambda: len(api.calls_to("getUpdates")) > polls or process.returncode is not None)
            assert process.returncode is None
            return process

        try:
            first = await start()
            api.release.clear()
            hello = api.text(admin, "/start")  # queued for the next getUpdates
            await _wait_for(lambda: api.held > 0)  # fetched, and the bot is busy answering it
            first.kill()
            await first.wait()
            assert _stored(tmp_path / "crmbot.db") == {hello["update_id"]: False}
            api.release.set()

            second = await start()
            await _wait_for(lambda: bool(api.sent_messages(admin.id)))
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
            assert len(api.sent_messages(admin.id)) == 1
            assert _stored(tmp_path / "crmbot.db") == {hello["update_id"]: True}
        finally:
            api.release.set()
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
