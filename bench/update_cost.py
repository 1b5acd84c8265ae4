"""CPU per Telegram update and resident memory: ``python -m bench.update_cost --count 100000``.

The bot runs as its own process and long-polls the Bot API fake over HTTP on loopback — the transport a real
deployment uses — while this process feeds it updates and reads the bot process's CPU time (user + system,
from /proc) and RSS. Baseline, measured in the same run on the same transport: a bare PTB echo bot. Against it,
the real `crmbot run` over a SQLite database of COUNT customers:
- a rep types a customer's phone number in local format and gets the customer card (target ≤ 1.5× echo CPU,
  process ≤ 100 MiB RSS);
- the one-message ``/log <customer> <what happened> next: <when> <what>`` up to its confirmation (target ≤ 2×);
- the one-message ``/order <customer> A-100 x3, B-20 x12`` echoed with the customer's prices and totals
  (target ≤ 2×).
CPU time, unlike wall time, is barely disturbed by other work on a shared machine.

Both bots get the same stream: one update at a time, ``--rate`` a second (20 by default — a busy team, and under
Telegram's 30 messages a second). Fed as fast as each reply comes back, the CRM bot would be answering faster
than Telegram allows and wait in its rate limiter while the echo bot (no limiter) runs flat out; and CPU time per
update itself depends on the pace (after an idle gap the same work costs more: caches are cold), so only the
same pace for both is a fair comparison. ``--rate 0`` gives that closed loop anyway. The two bots run side by
side, each on its own Bot API fake, and are fed in alternating batches, so a change in the shared machine's
load falls on both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.fakes.bot_api_http import serve_bot_api

TOKEN = "246813579:update-cost-benchmark-token-abc"
REP_TG = 1000  # "Rep 00" in bench.search's team
ROOT = Path(__file__).resolve().parents[1]

ECHO_BOT = f"""
import sys
from telegram.ext import Application, MessageHandler, filters
async def echo(update, context):
    await update.message.reply_text(update.message.text)
app = Application.builder().token({TOKEN!r}).base_url(sys.argv[1]).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _wait(predicate: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _feed(api: FakeBotApi, user: FakeUser, texts: list[str], rate: float) -> None:
    """One update at a time, ``rate`` a second (0: each as soon as the last was answered)."""
    chat = api.chat(user.id)
    loop = asyncio.get_running_loop()
    due = loop.time()
    for text in texts:
        if rate:
            due += 1 / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
        wanted = len(chat.bot_messages) + 1
        api.text(user, text)
        await _wait(lambda wanted=wanted: len(chat.bot_messages) >= wanted, 60, "a reply")  # type: ignore[misc]


@dataclass
class _Bot:
    api: FakeBotApi
    user: FakeUser
    process: asyncio.subprocess.Process
    cpu: float = 0.0  # seconds over the timed batches
    updates: int = 0

    async def batch(self, texts: list[str], rate: float, *, timed: bool = True) -> None:
        started = _cpu_seconds(self.process.pid)
        await _feed(self.api, self.user, texts, rate)
        if timed:
            self.cpu += _cpu_seconds(self.process.pid) - started
            self.updates += len(texts)

    def ms_per_update(self) -> float:
        return self.cpu / self.updates * 1000 if self.updates else float("nan")


async def _interleaved(echo: _Bot, crm: _Bot, echo_texts: list[str], crm_texts: list[str], warmup: int,
                       rate: float, rounds: int = 10) -> tuple[float, float]:
    """Both bots fed alternately, a batch each in turn, so a change in the machine's load meanwhile falls on
    both alike; CPU ms per update of each over the same stretch of time."""
    await echo.batch(echo_texts[:warmup], rate, timed=False)
    await crm.batch(crm_texts[:warmup], rate, timed=False)
    echo.cpu = crm.cpu = 0.0
    echo.updates = crm.updates = 0
    e, c = echo_texts[warmup:], crm_texts[warmup:]
    size = max(1, len(c) // rounds)
    for start in range(0, len(c), size):
        await echo.batch(e[start:start + size], rate)
        await crm.batch(c[start:start + size], rate)
    return echo.ms_per_update(), crm.ms_per_update()


async def _run_bot(api: FakeBotApi, argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    polls = len(api.calls_to("getUpdates"))
    process = await asyncio.create_subprocess_exec(*argv, cwd=str(ROOT), env=env,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    await _wait(lambda: len(api.calls_to("getUpdates")) > polls or process.returncode is not None, 120,
                "the bot to start polling")
    if process.returncode is not None:
        raise SystemExit((await process.stderr.read()).decode()[-3000:])  # type: ignore[union-attr]
    return process


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


def _phones_and_names(db: str, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, phone as typed) of random customers of the rep, and names only one of the rep's customers has —
    a /log naming a person several customers share is asked "which one?", not confirmed."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select c.name, c.phones from customers c join staff s on s.id = c.owner_id "
            "where s.telegram_user_id = ? and c.deleted_at is null limit 5000", (REP_TG,)).fetchall()
        shared = {name for (name,) in conn.execute(
            "select c.name from customers c join staff s on s.id = c.owner_id where s.telegram_user_id = ? "
            "and c.deleted_at is null group by c.name having count(*) > 1", (REP_TG,))}
    rng = random.Random(7)
    out = []
    for name, phones in (rows[rng.randrange(len(rows))] for _ in range(n)):
        first = phones.split('"')[1]
        typed = phonenumbers.format_number(phonenumbers.parse(first, None), phonenumbers.PhoneNumberFormat.NATIONAL)
        out.append((name, typed))
    return out, [name for name, _ in out if name not in shared]


async def measure(db: str, folder: Path, n: int, warmup: int, profile: Path | None = None,
                  rate: float = 0, kinds: tuple[str, ...] = ("phone", "log", "order")) -> dict[str, float]:
    # Two fakes on two ports: the echo bot and the CRM bot run side by side and are fed in turns.
    echo_api = FakeBotApi(token=TOKEN, global_limit=None)
    crm_api = FakeBotApi(token=TOKEN, global_limit=None)
    results: dict[str, float] = {}
    # A kept database remembers the updates of the last run, and the fakes number theirs from 1 again: the bot
    # would take them for ones it has handled and answer none.
    # Nor may the rep still be in the middle of the last run's last form (an order echo waiting for its tap).
    with sqlite3.connect(db) as conn:
        conn.execute("delete from inbound_updates")
        conn.execute("delete from ptb_data where kind = 'user'")
    env = {**os.environ, "PTB_TIMEDELTA": "1"}
    async with serve_bot_api(echo_api) as echo_url, serve_bot_api(crm_api) as crm_url:
        echo = _Bot(echo_api, echo_api.add_user(42, "Echo"),
                    await _run_bot(echo_api, [sys.executable, "-c", ECHO_BOT, echo_url], env))
        crm_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": crm_url,
                   "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "DATA_DIR": str(folder), "LOG_LEVEL": "WARNING",
                   "HTTP_PORT": "0", "TELEGRAM_API_FILE_URL": crm_url.replace("/bot", "/file/bot")}
        # --profile: the bot under cProfile (slower, so its figures are only good for where time goes).
        wrap = ["-m", "cProfile", "-o", str(profile)] if profile else []
        crm = _Bot(crm_api, crm_api.add_user(REP_TG, "Rep", username="rep00"),
                   await _run_bot(crm_api, [sys.executable, *wrap, "-m", "bot", "run"], crm_env))
        try:
            picked, unique_names = _phones_and_names(db, n + warmup)
            echo_texts = [f"0912 {i % 1000:03d} {i % 997:03d}" for i in range(n + warmup)]
            if "phone" in kinds:
                results["echo_phone_ms"], results["phone_ms"] = await _interleaved(
                    echo, crm, echo_texts, [p for _, p in picked], warmup, rate)
                last_name = picked[-1][0]
                text = crm_api.last_message(REP_TG).text or ""
                if last_name not in text:
                    raise SystemExit(f"expected the card of {last_name!r}, got {text[:300]!r}")
                results["crm_rss_phone"] = _rss_mib(crm.process.pid)
            if "log" in kinds:
                logs = [f"/log {name} met the buyer about samples next: tomorrow 3pm send the quote"
                        for name in unique_names[: n // 2 + warmup]]
                results["echo_log_ms"], results["log_ms"] = await _interleaved(
                    echo, crm, echo_texts[: len(logs)], logs, warmup, rate)
                if "Check and save" not in (crm_api.last_message(REP_TG).text or ""):
                    raise SystemExit(f"expected the log confirmation, got {crm_api.last_message(REP_TG).text!r}")
            if "order" in kinds:
                orders = [f"/order {name} A-100 x3, B-20 x12" for name in unique_names[: n // 2 + warmup]]
                results["echo_order_ms"], results["order_ms"] = await _interleaved(
                    echo, crm, echo_texts[: len(orders)], orders, warmup, rate)
                if "Check the order" not in (crm_api.last_message(REP_TG).text or ""):
                    raise SystemExit(f"expected the order's echo, got {crm_api.last_message(REP_TG).text!r}")
            results["crm_rss"] = max(results.get("crm_rss_phone", 0.0), _rss_mib(crm.process.pid))
            results["echo_rss"] = _rss_mib(echo.process.pid)
        finally:
            await _stop(crm.process)
            await _stop(echo.process)
    return results


def _build_db(folder: Path, count: int) -> str:
    from bench.data import customer_table, customers
    from bench.search import _team
    from storage.customers.spreadsheets import write_csv
    from storage.engine import create_engine
    from storage.migrate import upgrade

    async def go() -> str:
        db = folder / "bench.db"
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        await upgrade(engine)
        team = await _team(engine, 20)
        owners = [team.admin.name, *(r.name for r in team.reps)]
        sheet = customer_table(customers(count, owners=owners))
        importing = team.services.customers.importing
        table = await importing.read(write_csv(sheet[0], sheet[1:]), "customers.csv")
        await importing.run(team.admin, await importing.plan(team.admin, table))
        await engine.dispose()
        return str(db)

    return asyncio.run(go())


def _ensure_products(db: str) -> None:
    """The two products the /order updates name, made through the catalog service (once per database)."""
    with sqlite3.connect(db) as conn:
        if conn.execute("select 1 from products where sku = 'A-100' and deleted_at is null").fetchone():
            return
        admin_id = conn.execute("select s.id from staff s join roles r on r.id = s.role_id where r.name = 'admin' "
                                "order by s.id limit 1").fetchone()[0]

    async def go() -> None:
        from decimal import Decimal

        from bot.app import build_services
        from bot.settings import Settings
        from crm.core.clock import SystemClock
        from crm.sales.model import ProductDraft
        from storage.engine import create_engine

        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        services = build_services(Settings(_env_file=None), engine, SystemClock())
        admin = await services.organisation.identity.actor_by_staff_id(int(admin_id))
        assert admin is not None
        for sku, name, price in (("A-100", "Widget", "99.99"), ("B-20", "Bolt", "12.5")):
            await services.sales.catalog.create(admin, ProductDraft(sku=sku, name=name, list_price=Decimal(price),
                                                                    currency="TWD", tax_rate=Decimal(5)))
        await engine.dispose()

    asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.update_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="customers in the database (default 100000)")
    parser.add_argument("--updates", type=int, default=1000, help="timed updates per kind (default 1000)")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database in this folder")
    parser.add_argument("--profile", type=Path, help="run the bot under cProfile and write its stats here")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="updates a second, for both bots (default 20; 0 = each as soon as the last was answered)")
    parser.add_argument("--only", choices=("phone", "log", "order"), help="measure one kind of update only")
    args = parser.parse_args(argv)
    kinds = (args.only,) if args.only else ("phone", "log", "order")

    def run(folder: Path) -> dict[str, float]:
        db = folder / "bench.db"
        if not db.exists():
            started = time.perf_counter()
            _build_db(folder, args.count)
            print(f"database with {args.count:,} customers built in {time.perf_counter() - started:.1f} s")
        if "order" in kinds:
            _ensure_products(str(db))
        return asyncio.run(measure(str(db), folder, args.updates, args.warmup, args.profile, args.rate, kinds))

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        r = run(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
            r = run(Path(folder))
    pace = f"{args.rate:g} updates/s" if args.rate else "closed loop"
    print(f"\nbot process CPU per update, HTTP long polling ({args.updates} timed updates, {pace})  ms  × echo  target")
    if "phone" in kinds:
        print(f"  bare PTB echo bot, fed in turns with the phone updates        {r['echo_phone_ms']:6.2f}   1.00")
        print(f"  crmbot: phone number in local format → customer card          {r['phone_ms']:6.2f}  "
              f"{r['phone_ms'] / r['echo_phone_ms']:5.2f}   ≤ 1.5")
    if "log" in kinds:
        print(f"  bare PTB echo bot, fed in turns with the /log updates         {r['echo_log_ms']:6.2f}   1.00")
        print(f"  crmbot: one-message /log → confirmation                       {r['log_ms']:6.2f}  "
              f"{r['log_ms'] / r['echo_log_ms']:5.2f}   ≤ 2.0")
    if "order" in kinds:
        print(f"  bare PTB echo bot, fed in turns with the /order updates       {r['echo_order_ms']:6.2f}   1.00")
        print(f"  crmbot: one-message /order → echo with prices and totals      {r['order_ms']:6.2f}  "
              f"{r['order_ms'] / r['echo_order_ms']:5.2f}   ≤ 2.0")
    after_phone = f" (after the phone updates: {r['crm_rss_phone']:.0f} MiB)" if "phone" in kinds else ""
    print(f"\nRSS: echo bot {r['echo_rss']:.0f} MiB, crmbot {r['crm_rss']:.0f} MiB{after_phone}; target ≤ 100 MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
