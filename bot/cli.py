"""`crmbot` command line: run, console, migrate, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("crmbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmbot", description="A chat-first CRM for field sales teams.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (long polling); without TELEGRAM_BOT_TOKEN, the console demo")
    console = sub.add_parser("console", help="chat with the bot in this terminal (no Telegram needed)")
    for p in (run, console):
        p.add_argument("--as", dest="as_name", metavar="NAME", help="console: act as this demo person")
        p.add_argument("--no-demo", action="store_true", help="console: do not create the demo company")
        p.add_argument("--database-url", help="console: use this database instead of DATA_DIR/console-demo.db")

    sub.add_parser("migrate", help="apply database migrations and create the default roles")
    backup = sub.add_parser("backup", help="copy the SQLite database to PATH while the bot runs")
    backup.add_argument("path", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    if args.command in ("run", "console"):
        if args.command == "run" and settings.telegram_bot_token:
            return run_bot(settings)
        if args.command == "run":
            print("No TELEGRAM_BOT_TOKEN set: starting the local console demo (Ctrl-D to leave).", file=sys.stderr)
        return _console(settings, args)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("Database is up to date.")
        return 0
    if args.command == "backup":
        return backup(settings, args.path)
    return 1


def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import run_console

    if settings.log_level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the chat readable
    try:
        asyncio.run(run_console(settings, as_name=args.as_name, seed_demo=not args.no_demo,
                                database_url=args.database_url))
    except KeyboardInterrupt:
        print()
    return 0


def run_bot(settings: Settings) -> int:
    from telegram import Update

    from bot.app import build_application, build_runtime

    asyncio.run(_migrate(settings))  # before initialize(), which loads persisted conversation state
    app = build_application(build_runtime(settings))
    log.info("starting long polling against %s", settings.telegram_api_base_url)
    app.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=(signal.SIGINT, signal.SIGTERM))
    return 0


async def _migrate(settings: Settings) -> None:
    from bot.app import build_runtime, prepare_database

    runtime = build_runtime(settings)
    try:
        await prepare_database(runtime.engine, runtime.services, settings)
    finally:
        await runtime.engine.dispose()


def backup(settings: Settings, target: Path) -> int:
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        print("DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g.\n"
              f"  pg_dump --format=custom --file={target} '{url.set(drivername='postgresql').render_as_string()}'",
              file=sys.stderr)
        return 1
    source = Path(url.database or "")
    if not source.exists():
        print(f"No database at {source}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    # The online backup API copies a consistent snapshot while the bot keeps writing.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    print(f"Backed up {source} to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
