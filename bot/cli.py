"""`crmbot` command line: run, console, migrate, backup, import."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from bot import log_redaction
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("crmbot")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log routine work at INFO: APScheduler two lines per job run (the outbox tick runs every second),
# Alembic every migration step. LOG_LEVEL=DEBUG brings them back.
CHATTY_LOGGERS = ("apscheduler", "alembic")
# httpx logs every request URL, and Bot API URLs contain the token: WARNING even at DEBUG.
TOKEN_LOGGERS = ("httpx",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmbot", description="A chat-first CRM for field sales teams.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (long polling); without TELEGRAM_BOT_TOKEN, the console demo")
    console = sub.add_parser("console", help="chat with the bot in this terminal (no Telegram needed)")
    for p in (run, console):
        p.add_argument("--as", dest="as_name", metavar="NAME", help="console: act as this demo person")
        p.add_argument("--no-demo", action="store_true", help="console: do not create the demo company")
        p.add_argument("--database-url", help="console: use this database instead of DATA_DIR/console-demo.db")

    migrate = sub.add_parser("migrate", help="apply database migrations and create the default roles")
    migrate.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    backup = sub.add_parser("backup", help="copy the SQLite database to PATH while the bot runs")
    backup.add_argument("path", type=Path)
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")

    importing = sub.add_parser("import", help="import customers or products from a CSV or XLSX file (all rows or none)")
    importing.add_argument("what", choices=["customers", "products"])
    importing.add_argument("file", type=Path)
    importing.add_argument("--owner", metavar="STAFF", help="owner of rows without one (name or @username)")
    importing.add_argument("--dry-run", action="store_true", help="check every row and report; save nothing")
    importing.add_argument("--skip-invalid", action="store_true", help="import the valid rows even if others fail")
    importing.add_argument("--as-staff", metavar="NAME_OR_ID", help="the importing user (default: first admin)")
    for p in (migrate, backup, importing):
        p.add_argument("--demo", action="store_true",
                       help="use the console demo's database (DATA_DIR/console-demo.db) instead of DATABASE_URL")
    return parser


def configure_logging(level: str) -> None:
    """The root logger at LOG_LEVEL; chatty libraries at WARNING (or LOG_LEVEL if higher) unless it is DEBUG."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    numeric = logging.getLevelName(level)
    quiet = max(numeric, logging.WARNING)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(numeric if level == "DEBUG" else quiet)
    for name in TOKEN_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


def shown_url(url: str) -> str:
    """A database URL fit to print: the backend without its driver, no password."""
    parsed = make_url(url)
    query = {key: value for key, value in parsed.query.items() if "password" not in key.lower()}
    shown = parsed.set(drivername=parsed.get_backend_name(), query=query)._replace(password=None)
    return shown.render_as_string(hide_password=False)


def _say_database(url: str) -> None:
    # The console demo and the CLI use different databases by default; saying which one avoids surprises
    # such as an import that finds no admin right after trying the demo.
    print(f"Database: {shown_url(url)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    log_redaction.install(settings)  # secrets out of every record, and each record's size capped

    if args.command in ("run", "console"):
        if args.command == "run" and settings.telegram_bot_token:
            _say_database(settings.db_url)
            return run_bot(settings)
        if args.command == "run":
            print("No TELEGRAM_BOT_TOKEN set: starting the local console demo (Ctrl-D to leave).", file=sys.stderr)
        return _console(settings, args)
    if getattr(args, "demo", False):
        from bot.console import console_settings

        settings = console_settings(settings, None)
    if not getattr(args, "quiet", False):
        _say_database(settings.db_url)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        if not args.quiet:
            print("Database is up to date.")
        return 0
    if args.command == "backup":
        return backup(settings, args.path, force=args.force)
    if args.command == "import" and args.what == "products":
        from bot.modules.sales import import_products
        return asyncio.run(import_products(settings, args))
    if args.command == "import":
        return asyncio.run(import_customers(settings, args))
    return 1


def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import demo_database_url, run_console

    if settings.log_level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the chat readable
    _say_database(args.database_url or demo_database_url(settings))
    try:
        asyncio.run(run_console(settings, as_name=args.as_name, seed_demo=not args.no_demo,
                                database_url=args.database_url))
    except KeyboardInterrupt:
        print()
    return 0


def run_bot(settings: Settings) -> int:
    """The bot (long polling, or webhook with TELEGRAM_WEBHOOK=1), its jobs and the HTTP endpoint, in one event
    loop; SIGINT/SIGTERM stop them in order."""
    import subprocess

    from bot.http import run

    # Migrations run before initialize() (which loads persisted conversation state), in a short-lived child
    # process: Alembic and Mako would otherwise stay resident in the bot for its whole life (~8 MiB).
    migrated = subprocess.run([sys.executable, "-m", "bot", "migrate", "--quiet"], check=False)
    if migrated.returncode != 0:
        return migrated.returncode
    asyncio.run(run(settings))
    return 0


async def _migrate(settings: Settings) -> None:
    from bot.app import build_runtime, prepare_database

    runtime = build_runtime(settings)
    try:
        await prepare_database(runtime.engine, runtime.services, settings)
    finally:
        await runtime.engine.dispose()


async def import_customers(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot import customers FILE`: the same checks and the same one-transaction write as the chat import."""
    import html
    import time

    from bot.app import build_runtime, prepare_database
    from bot.i18n import Html
    from crm.core.errors import DomainError
    from crm.organisation.permissions import ScopeFilter

    runtime = build_runtime(settings)
    services, locale = runtime.services, settings.default_locale

    def say(key: str, *, err: bool = False, **params: object) -> None:
        print(html.unescape(runtime.catalogs.t(locale, key, **params)), file=sys.stderr if err else sys.stdout)

    try:
        if not args.file.is_file():
            say("importing.cli_no_file", err=True, path=str(args.file))
            return 2
        await prepare_database(runtime.engine, services, settings)
        async with services.uow(write=False) as uow:
            if args.as_staff and args.as_staff.isdigit():
                candidates = [s for s in [await uow.organisation.staff.get(int(args.as_staff))] if s is not None]
            elif args.as_staff:
                candidates = list(await uow.organisation.staff.find_by_name(args.as_staff))
            else:
                admin = await uow.organisation.roles.get_by_name("admin")
                everyone = await uow.organisation.staff.list(ScopeFilter(everything=True, owner_id=0), limit=100_000)
                candidates = sorted((s for s in everyone if admin and s.role_id == admin.id), key=lambda s: s.id)
        actor = None
        for candidate in candidates:
            if actor := await services.organisation.identity.actor_by_staff_id(candidate.id):
                break
        if actor is None:
            say("importing.cli_no_staff" if args.as_staff else "importing.cli_no_admin", err=True,
                name=args.as_staff or "")
            return 2
        locale = actor.locale
        plan = await services.customers.importing.plan_file(actor, args.file.read_bytes(), args.file.name,
                                                  default_owner=args.owner)
        say("importing.cli_summary", name=args.file.name, rows=plan.total, valid=plan.valid, invalid=plan.invalid,
            duplicates=plan.duplicates)
        for error in plan.errors[:20]:
            problem = Html(runtime.catalogs.t(locale, error.key, **error.params))
            say("importing.row_error" if error.column else "importing.row_error_no_column", row=error.row,
                column=error.column or "", problem=problem)
        if len(plan.errors) > 20:
            say("importing.cli_more", count=len(plan.errors) - 20)
        if args.dry_run:
            say("importing.cli_dry_run")
            return 1 if plan.errors else 0
        if plan.errors and not args.skip_invalid:
            say("importing.cli_skip_hint", err=True)
            return 1
        shown = time.monotonic()

        async def progress(done: int, total: int) -> None:
            nonlocal shown
            if time.monotonic() - shown >= 2:  # a big file takes a while; a small one says nothing until done
                shown = time.monotonic()
                say("importing.progress", err=True, done=f"{done:,}", total=f"{total:,}")

        result = await services.customers.importing.run(actor, plan, skip_invalid=args.skip_invalid, progress=progress)
        say("importing.done", created=result.created, skipped=result.skipped)
        return 0
    except DomainError as exc:
        say(exc.key, err=True, **exc.params)
        return 1
    finally:
        await runtime.engine.dispose()


def backup(settings: Settings, target: Path, *, force: bool = False) -> int:
    """Copy the SQLite database to ``target`` (created 0600, like the database); an existing file only with
    ``force``, replaced in one step so that a failed backup never leaves half a file in its place."""
    from storage.engine import create_private_file

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
    if target.is_dir():
        print(f"{target} is a folder: give the backup file's path, e.g. {target / 'crmbot-backup.db'}", file=sys.stderr)
        return 1
    if target.exists() and not force:
        print(f"{target} already exists: choose another path, or pass --force to replace it", file=sys.stderr)
        return 1
    if target.exists() and target.resolve() == source.resolve():
        print(f"{target} is the database itself", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    create_private_file(partial)
    try:
        # The online backup API copies a consistent snapshot while the bot keeps writing.
        with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            # The copy would otherwise be in WAL mode like the database; a backup is better one self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    print(f"Backed up {source} to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
