"""Importing a spreadsheet and exporting customers in chat, as a manager, a rep and an admin would."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

import crm.customers.importing
import storage.customers.bulk
import storage.offloop
from bench.data import customer_table, customers
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.customers.model import Customer
from crm.organisation.identity import TelegramIdentity
from handlers.customers import importing as import_handlers
from storage import tables as t
from storage.customers.bulk import SqlBulkCustomerWriter
from storage.customers.spreadsheets import read_csv, read_xlsx, write_csv
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, _snapshot, running_bot

MIA, NED, SUE = 2001, 2002, 2003


async def _team(bot: BotHarness) -> None:
    """Ada (admin) with Mia (manager, North), Ned (rep, North) and Sue (rep, South), joined by invite."""
    services = bot.services
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    north = await services.organisation.departments.create(admin, "North", admin.department_id)
    south = await services.organisation.departments.create(admin, "South", admin.department_id)
    admin = await services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await services.organisation.roles.list(admin)}
    for tg_id, name, role, dep in ((MIA, "Mia", "manager", north.id), (NED, "Ned", "rep", north.id),
                                   (SUE, "Sue", "rep", south.id)):
        invite = await services.organisation.invites.create(admin, roles[role], dep)
        await services.organisation.invites.accept(invite.code, TelegramIdentity(tg_id, name, username=name.lower()))


async def _send_file(chatter: Chatter, name: str, content: bytes, mime: str = "text/csv", *,
                     wait: bool = True) -> list[ChatMessage]:
    """Send a file; with ``wait``, until the bot has finished checking it (that runs in the background)."""
    api, app = chatter.harness.api, chatter.harness.app
    chat = api.chat(chatter.user.id)
    before = {m.message_id: _snapshot(m) for m in chat.bot_messages}
    await api.deliver(app, api.document(chatter.user, name, content, mime, enqueue=False))
    asked = chat.last_keyboard_message()
    customers = [data for row in (asked.reply_markup if asked else []) for _, data in row
                 if data.startswith("imp:kind:") and data.endswith(":customers")]
    if customers and asked is not None:  # someone who may import products too is asked what the file holds
        await api.deliver(app, api.press(chatter.user, asked.message_id, customers[0], enqueue=False))
    if wait:
        await import_handlers.wait_for_imports(app)
    return [m for m in chat.bot_messages if before.get(m.message_id) != _snapshot(m)]


def _texts(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def _customer_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(t.customers.c.name))).scalars())


async def test_manager_previews_then_imports_a_csv(engine: AsyncEngine, clock: ManualClock, tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        mia = bot.user(MIA, "Mia")
        data = write_csv(["客戶名稱", "電話", "負責人", "分類"], [
            ["台積電 <TSMC>", "02 2345 6789", "@ned", "忠誠"],
            ["鴻海精密", "0912 345 678", "", ""],
            ["壞電話公司", "12", "", ""],
            ["重複的", "0912-345-678", "Sue", ""],  # same phone as row 3; Sue is not in Mia's North
        ])
        shown = _texts(await _send_file(mia, "客戶清單.csv", data))
        assert "客戶清單.csv" in shown and "4 rows" in shown
        assert "客戶名稱 → Name" in shown and "電話 → Phone" in shown and "負責人 → Owner" in shown
        assert "台積電 &lt;TSMC&gt;" not in shown and "台積電 <TSMC>" in shown  # escaped HTML, shown as typed
        assert "2 ready to import" in shown and "2 with problems (1 duplicates)" in shown
        assert "Row 4, 電話: “12” is not a valid phone number" in shown
        assert "Row 5, 電話: same phone or e-mail as row 3" in shown
        assert "Row 5, 負責人: no active colleague “Sue”" in shown
        assert mia.labels() == ["Import 2 valid rows", "Cancel"]
        assert await _customer_names(engine) == set()  # the preview saved nothing
        assert len(list((tmp_path / "imports").iterdir())) == 1

        button, import_data = mia.last.message_id, mia.last.reply_markup[0][0][1]
        assert import_data.startswith("imp:run:") and len(import_data.encode()) <= 64
        # A double tap: both presses leave the phone before the first one is answered.
        first = bot.api.press(mia.user, button, import_data, enqueue=False)
        second = bot.api.press(mia.user, button, import_data, enqueue=False)
        await bot.api.deliver(bot.app, first)
        await import_handlers.wait_for_imports(bot.app)
        assert "Imported 2 customers; 2 rows were skipped" in (mia.last.text or "")
        assert await _customer_names(engine) == {"台積電 <TSMC>", "鴻海精密"}
        assert list((tmp_path / "imports").iterdir()) == []
        await mia._do(second)  # nothing is imported twice
        assert "no longer waiting" in bot.api.calls_to("answerCallbackQuery")[-1].params["text"]
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(t.customers))).scalar_one() == 2


async def test_cancel_and_a_report_file_for_many_problems(engine: AsyncEngine, clock: ManualClock,
                                                          tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        mia = bot.user(MIA, "Mia", language_code="zh-hant")
        bad = [[f"客戶{i}", f"12{i}"] for i in range(12)]
        data = write_csv(["名稱", "手機"], [["好客戶", "0922 000 111"], *bad])
        shown = _texts(await _send_file(mia, "list.csv", data))
        assert "前 10 項，共 12 項" in shown
        report = bot.api.documents(MIA)[-1]
        assert report.filename == "list-problems.csv" and "12" in (report.caption or "")
        lines = read_csv(report.content, max_rows=100)
        assert lines[0] == ["列", "欄位", "問題"] and len(lines) == 13
        assert lines[1] == ["3", "手機", "「120」不是有效的電話號碼"]
        assert "已取消匯入" in _texts(await mia.press("取消"))
        assert await _customer_names(engine) == set() and list((tmp_path / "imports").iterdir()) == []


async def test_reps_are_refused_and_bad_files_get_a_clear_reply(engine: AsyncEngine, clock: ManualClock,
                                                               tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        ned = bot.user(NED, "Ned")
        refused = _texts(await _send_file(ned, "mine.csv", write_csv(["Name"], [["Acme"]])))
        assert "don't have permission" in refused
        assert "don't have permission" in await ned.text_of("/export")
        assert "/import" not in await ned.text_of("/help")

        mia = bot.user(MIA, "Mia")
        assert "/import" in await mia.text_of("/help")
        assert ".csv or .xlsx" in await mia.text_of("/import")
        junk = _texts(await _send_file(mia, "junk.csv", os.urandom(5 * 1024 * 1024)))
        assert "can't tell how this CSV file's text is encoded" in junk
        big = _texts(await _send_file(mia, "huge.csv", b"name\n" + b"x" * (11 * 1024 * 1024)))
        assert "This file is 11.0 MB; I can import files of up to 10 MB" in big
        old = _texts(await _send_file(mia, "old.xls", b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel"))
        assert "Save As" in old
        no_name = _texts(await _send_file(mia, "phones.csv", write_csv(["Phone"], [["0912345678"]])))
        assert "couldn't find the customer name column" in no_name
        assert await _customer_names(engine) == set()


async def test_export_sends_only_the_customers_in_scope(engine: AsyncEngine, clock: ManualClock,
                                                       tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        s = bot.services
        for tg_id, name in ((NED, "北區 Ned 的客戶"), (MIA, "北區 Mia 的客戶"), (SUE, "南區 Sue 的客戶")):
            actor = await s.organisation.identity.actor_for(TelegramIdentity(tg_id, "x"))
            await s.customers.customers.create(actor, CustomerDraft(name=name))
        mia = bot.user(MIA, "Mia")
        await mia.send("/export")
        assert mia.labels() == ["CSV", "Excel (.xlsx)"]
        await mia.press("CSV")
        await import_handlers.wait_for_exports(bot.app)  # prepared in the background
        sent = bot.api.documents(MIA)[-1]
        rows = read_csv(sent.content, max_rows=10)
        assert rows[0][:4] == ["Name", "Short name", "Type", "Phone"]
        assert {r[0] for r in rows[1:]} == {"北區 Ned 的客戶", "北區 Mia 的客戶"}
        assert sent.filename.startswith("customers-") and sent.caption == "2 customers"

        admin = bot.user(ADMIN_ID, "Ada", language_code="zh-hans")
        await admin.send("/export")
        await admin.press("Excel（.xlsx）")
        await import_handlers.wait_for_exports(bot.app)
        table = read_xlsx(bot.api.documents(ADMIN_ID)[-1].content, max_rows=10)
        assert table[0][0] == "名称" and len(table) == 4


async def test_nothing_about_customers_is_posted_in_a_group(engine: AsyncEngine, clock: ManualClock,
                                                            tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        mia = bot.user(MIA, "Mia")
        group = bot.api.add_group("Sales team")
        await bot.api.deliver(bot.app, bot.api.text(mia.user, "/export", chat=group, enqueue=False))
        data = write_csv(["Name", "Phone"], [["Acme", "0912 345 678"]])
        await bot.api.deliver(bot.app, bot.api.document(mia.user, "list.csv", data, "text/csv", chat=group,
                                                        enqueue=False))
        posted = bot.api.chat(group.id).bot_messages
        assert bot.api.documents(group.id) == []
        assert not any("Export" in (m.text or "") or "list.csv" in (m.text or "") for m in posted)
        assert await _customer_names(engine) == set()


# ---- a big file does not hold up everybody else ---------------------------------------------------------------

ROWS = 2_000


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        # A reader: on SQLite a plain connection would queue for the write lock the import holds.
        await conn.execution_options(sqlite_begin="DEFERRED")
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def _big_file() -> bytes:
    sheet = customer_table(customers(ROWS, owners=["Mia", "Ned"], seed=3))
    return write_csv(sheet[0], sheet[1:])


class _PausedCheck:
    """crm.customers.importing.check_rows (it runs in a worker thread) held until the test lets it go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started, self.go_on = threading.Event(), threading.Event()
        real = crm.customers.importing.check_rows

        def check_rows(*args: Any, **kwargs: Any) -> Any:
            self.started.set()
            self.go_on.wait(30)
            return real(*args, **kwargs)

        monkeypatch.setattr(crm.customers.importing, "check_rows", check_rows)


class _PausedWrite:
    """The bulk writer held after its first round, with the transaction open, until the test lets it go.

    Threading events: the import runs on the off-loop worker's own event loop (storage/offloop.py)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.half_way, self.go_on = threading.Event(), threading.Event()
        real = SqlBulkCustomerWriter.insert_customers
        paused = self

        async def insert_customers(self: SqlBulkCustomerWriter, rows: Sequence[tuple[Customer, Collection[str]]],
                                   *, progress: Callable[[int], Awaitable[None]] | None = None) -> Sequence[int]:
            async def hold(done: int) -> None:
                if progress is not None:
                    await progress(done)
                if not paused.half_way.is_set():
                    paused.half_way.set()
                    await asyncio.to_thread(paused.go_on.wait, 60)

            return await real(self, rows, progress=hold)

        monkeypatch.setattr(SqlBulkCustomerWriter, "insert_customers", insert_customers)


@pytest.fixture
def small_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.customers.bulk, "BATCH", 500)
    monkeypatch.setattr(import_handlers, "PROGRESS_SECONDS", 0.0)
    # The import runs in a job thread here, where the test can pause it half-way; in a child process (as the
    # bot runs it) it is covered by tests/integration/test_offloop.py.
    monkeypatch.setattr(storage.offloop, "RUN_APART", False)


@pytest.mark.usefixtures("small_rounds")
async def test_others_are_answered_while_a_big_file_is_checked_and_written(
        engine: AsyncEngine, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check, write = _PausedCheck(monkeypatch), _PausedWrite(monkeypatch)
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        mia, ned, ada = bot.user(MIA, "Mia"), bot.user(NED, "Ned"), bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        try:
            # Checking: the handler returned at once; the check is under way in the background.
            await _send_file(mia, "big.csv", _big_file(), wait=False)
            await _until(check.started.is_set, "the check to start")
            assert "Checking big.csv" in (mia.last.text or "")
            job = import_handlers.running_job(bot.app)
            assert job is not None and job.person == "Mia"
            assert "Ned" in await ned.text_of("/start")  # another user, answered meanwhile
            refused = _texts(await _send_file(ada, "mine.csv", _big_file(), wait=False))
            assert "Mia is importing big.csv right now" in refused
            assert not job.task.done()
            check.go_on.set()
            await import_handlers.wait_for_imports(bot.app)
            assert f"{ROWS} ready to import" in (mia.last.text or "")

            # Writing: one round is written, inside the still open transaction.
            await mia.press(f"Import {ROWS} valid rows")
            await asyncio.to_thread(write.half_way.wait, 30)
            job = import_handlers.running_job(bot.app)
            assert job is not None and not job.task.done()
            assert f"Imported 500 of {ROWS:,} customers" in (mia.last.text or "")
            assert "Ned" in await ned.text_of("/start")
            assert await _count(engine, t.customers) == 0  # nobody sees half an import
            assert not job.task.done()
            write.go_on.set()
            await import_handlers.wait_for_imports(bot.app)
        finally:
            check.go_on.set()
            write.go_on.set()
        assert f"Imported {ROWS:,} customers; 0 rows were skipped" in (mia.last.text or "")
        assert await _count(engine, t.customers) == ROWS


@pytest.mark.usefixtures("small_rounds")
async def test_a_second_import_waits_its_turn_and_a_stopped_import_saves_nothing(
        engine: AsyncEngine, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write = _PausedWrite(monkeypatch)
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await _team(bot)
        mia, ada = bot.user(MIA, "Mia"), bot.user(ADMIN_ID, "Ada", language_code="zh-hant")
        await _send_file(ada, "ada.csv", write_csv(["名稱", "電話"], [["艾達貿易", "0922 000 111"]]))
        ada_preview = ada.last.message_id
        await _send_file(mia, "big.csv", _big_file())
        try:
            await mia.press(f"Import {ROWS} valid rows")
            await asyncio.to_thread(write.half_way.wait, 30)
            await ada.press("匯入 1 列有效資料", ada_preview)  # Ada's own file waits: one import at a time
            assert bot.told([], "Mia 正在匯入 big.csv")
            job = import_handlers.running_job(bot.app)
            assert job is not None
            job.task.cancel()  # as when the bot stops half-way
            await import_handlers.wait_for_imports(bot.app)
        finally:
            write.go_on.set()
        assert "interrupted, so nothing was saved" in (mia.last.text or "")
        assert await _count(engine, t.customers) == 0 and await _count(engine, t.search_terms) == 0
        async with engine.connect() as conn:
            audited = (await conn.execute(select(func.count()).select_from(t.audit_log)
                                          .where(t.audit_log.c.entity == "customer"))).scalar_one()
        assert audited == 0

        # Ada's file is still waiting, and goes in now that nothing else runs.
        await ada.press("匯入 1 列有效資料", ada_preview)
        await import_handlers.wait_for_imports(bot.app)
        assert "已匯入 1 位客戶" in (ada.last.text or "")
        assert await _customer_names(engine) == {"艾達貿易"}
