"""`crmbot console`: the real Application and handlers, talking to an in-process Bot API in the terminal."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot import demo
from bot.app import OFFLINE_TOKEN, build_application, build_runtime, start_offline
from bot.console_chat import ConsoleChat, stdin_lines
from bot.settings import Settings
from outbound.dispatch_wiring import console_sinks
from tests.fakes.bot_api import FakeBotApi, FakeUser

BOT_USERNAME = "crmbot_demo_bot"


def demo_database_url(settings: Settings) -> str:
    """The console's own database, so trying the demo never touches a real team's data."""
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'console-demo.db').as_posix()}"


def console_settings(settings: Settings, database_url: str | None) -> Settings:
    """Settings for the console (and the CLI's --demo): the demo database, the demo admin, no Telegram."""
    url = database_url or demo_database_url(settings)
    admins = settings.admin_telegram_ids | {demo.ADMIN.telegram_id}
    return settings.replace(**{"database_url": url, "admin_telegram_ids": admins,
                                       "telegram_bot_token": None})


def downloads_dir(settings: Settings) -> Path:
    """Where files the bot sends are saved: absolute, so the "saved to" lines point at them from any folder."""
    return Path(settings.data_dir).expanduser().resolve() / "console-downloads"


def register_people(api: FakeBotApi) -> dict[int, FakeUser]:
    return {
        p.telegram_id: api.add_user(p.telegram_id, p.first_name, last_name=p.last_name, username=p.username,
                                    language_code=p.language_code)
        for p in demo.PEOPLE
    }


async def run_console(
    settings: Settings,
    *,
    as_name: str | None = None,
    seed_demo: bool = True,
    database_url: str | None = None,
    lines: AsyncIterator[str] | None = None,
    out: Any = None,
    interactive: bool | None = None,
) -> None:
    settings = console_settings(settings, database_url)
    out = out or sys.stdout
    # Nothing leaves the machine from the demo: SMS, e-mail and fax are printed here instead.
    runtime = build_runtime(settings, sinks=console_sinks(out.write))
    api = FakeBotApi(token=OFFLINE_TOKEN, bot_username=BOT_USERNAME, bot_first_name="crmbot")
    app = build_application(runtime, request=api, get_updates_request=api.updates_request())
    users = register_people(api)
    await start_offline(app)
    try:
        if seed_demo and await demo.seed(runtime.services):
            out.write("Demo company created: Ada (admin), 美玲 (manager), Jason and 王芳 (reps).\n")
        person = demo.find_person(as_name) if as_name else demo.ADMIN
        if person is None:
            out.write(f"No demo person called {as_name!r}; continuing as {demo.ADMIN.first_name}.\n")
            person = demo.ADMIN

        def switch(name: str) -> FakeUser | None:
            found = demo.find_person(name)
            return users[found.telegram_id] if found else None

        if interactive is None:
            interactive = sys.stdin.isatty() and lines is None
        chat = ConsoleChat(api, app, users[person.telegram_id], out, switch,
                           download_dir=downloads_dir(settings), interactive=interactive)
        await chat.run(lines if lines is not None else stdin_lines())
    finally:
        if app.running:
            await app.stop()
        await app.shutdown()

