"""The console chat: a scripted session over a real PTB Application on the fake Bot API, checked on what
the person at the terminal reads."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.console_chat import ConsoleChat, format_size, stdin_lines, terminal_text
from tests.fakes.bot_api import FakeBotApi, FakeUser

AnyApp = Application[Any, Any, Any, Any, Any, Any]
BOB_ID = 2002


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with a menu: two actions, a link, and a button the bot forgets to answer."""
    assert update.effective_message is not None and update.effective_user is not None
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Log", callback_data="log"), InlineKeyboardButton("Follow-up", callback_data="fu")],
            [InlineKeyboardButton("Help", url="https://example.com/help")],
            [InlineKeyboardButton("Later", callback_data="silent")],
        ]
    )
    await update.effective_message.reply_html(
        f"Hi <b>{update.effective_user.first_name}</b>!\nPick one, or see <a href='https://example.com/help'>help</a>",
        reply_markup=markup,
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and replace the menu by the choice."""
    query = update.callback_query
    assert query is not None
    if query.data == "silent":
        return
    await query.answer()
    await query.edit_message_text(f"Logged: {query.data}")


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm a shared contact."""
    message = update.effective_message
    assert message is not None and message.contact is not None
    contact = message.contact
    await message.reply_text(f"Saved {contact.first_name} {contact.last_name or ''} {contact.phone_number}")


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Confirm a shared location."""
    message = update.effective_message
    assert message is not None and message.location is not None
    await message.reply_text(f"Pinned {message.location.latitude:.4f}, {message.location.longitude:.4f}")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Import a CSV and send a report back."""
    message = update.effective_message
    assert message is not None and message.document is not None
    rows = bytes(await (await message.document.get_file()).download_as_bytearray()).decode().strip().splitlines()
    report = "\n".join(f"ok,{row}" for row in rows[1:]).encode()
    await message.reply_document(
        report, filename="report.csv", caption=f"Imported <b>{len(rows) - 1}</b> rows", parse_mode="HTML"
    )


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a photo."""
    assert update.effective_message is not None
    await update.effective_message.reply_text("Nice photo")


async def on_whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say who is talking."""
    assert update.effective_message is not None and update.effective_user is not None
    await update.effective_message.reply_text(f"You are {update.effective_user.full_name}")


async def push_reminder(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: the reminder to its owner, a copy to Bob."""
    assert context.job is not None and context.job.chat_id is not None
    await context.bot.send_message(context.job.chat_id, f"⏰ {context.job.data}")
    await context.bot.send_message(BOB_ID, f"FYI: {context.job.data}")


async def on_remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedule a reminder a moment from now."""
    assert update.effective_message is not None and update.effective_chat is not None
    assert context.job_queue is not None
    context.job_queue.run_once(push_reminder, 0.05, chat_id=update.effective_chat.id, data="Call Acme")
    await update.effective_message.reply_text("Reminder set")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo."""
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def people(api: FakeBotApi) -> dict[str, FakeUser]:
    return {
        "alice": api.add_user(1001, "Alice", "Chen"),
        "bob": api.add_user(BOB_ID, "Bob", "Lin", username="bob_lin"),
    }


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[AnyApp]:
    application = api.application_builder().build()
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("whoami", on_whoami))
    application.add_handler(CommandHandler("remind", on_remind))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.CONTACT, on_contact))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    application.add_handler(MessageHandler(filters.PHOTO, on_photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    await application.initialize()
    await application.start()
    yield application
    await application.stop()
    await application.shutdown()


def console(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], out: io.StringIO, tmp_path: Path, **options: Any
) -> ConsoleChat:
    return ConsoleChat(
        api, app, people["alice"], out, lambda name: people.get(name.lower()), download_dir=tmp_path, **options
    )


async def scripted(lines: Iterable[str | Callable[[], bool]]) -> AsyncIterator[str]:
    """Input lines; a callable makes the user idle until it returns True (a bot push has arrived)."""
    for line in lines:
        if isinstance(line, str):
            yield line
            continue
        deadline = asyncio.get_running_loop().time() + 5
        while not line():
            assert asyncio.get_running_loop().time() < deadline, "the push never came"
            await asyncio.sleep(0.01)


def pushed(api: FakeBotApi, text: str) -> Callable[[], bool]:
    return lambda: any(text in (m.text or "") for m in api.sent_messages())


async def test_a_scripted_session_reads_like_a_chat(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    chat = console(api, app, people, out, tmp_path)
    await chat.run(
        scripted(
            [
                "/start",
                "3",  # a link: nothing is sent
                "2",
                "2",  # no keyboard left: plain text
                "!contact +886912345678 Wang Xiaoming",
                "!location 25.0330 121.5654",
                "!photo",
                "!as bob",
                "/whoami",
                "!as nobody",
                "!quit",
                "never read",
            ]
        )
    )
    assert out.getvalue() == (
        "you (Alice) > /start\n"
        "bot: Hi Alice!\n"
        "     Pick one, or see help (https://example.com/help)\n"
        "  [1] Log  [2] Follow-up\n"
        "  [3] Help (https://example.com/help)\n"
        "  [4] Later\n"
        "you (Alice) > 3\n"
        "  ↳ [3] Help is a link to https://example.com/help; nothing is sent to the bot\n"
        "you (Alice) > 2\n"
        "  ↳ [2] Follow-up\n"
        "bot (edited): Logged: fu\n"
        "you (Alice) > 2\n"
        "bot: echo: 2\n"
        "you (Alice) > !contact +886912345678 Wang Xiaoming\n"
        "bot: Saved Wang Xiaoming +886912345678\n"
        "you (Alice) > !location 25.0330 121.5654\n"
        "bot: Pinned 25.0330, 121.5654\n"
        "you (Alice) > !photo\n"
        "bot: Nice photo\n"
        "you (Alice) > !as bob\n"
        "(you are now Bob Lin (id 2002, @bob_lin))\n"
        "you (Bob) > /whoami\n"
        "bot: You are Bob Lin\n"
        "you (Bob) > !as nobody\n"
        "(no user called 'nobody')\n"
        "you (Bob) > !quit\n"
    )
    assert api.unanswered_callback_queries() == []
    contact = next(m.raw["contact"] for m in api.chat(people["alice"].id).messages if m.kind == "contact")
    assert contact == {"phone_number": "+886912345678", "first_name": "Wang", "last_name": "Xiaoming"}


async def test_an_unanswered_button_is_reported(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    await console(api, app, people, out, tmp_path).run(scripted(["/start", "4"]))
    assert out.getvalue().endswith(
        "you (Alice) > 4\n"
        "  ↳ [4] Later\n"
        "⚠ the bot did not answer the callback query of button 'Later' (data 'silent'): "
        "Telegram keeps showing a spinner on the button\n"
    )


async def test_a_push_while_idle_is_printed_and_other_chats_on_request(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    chat = console(api, app, people, out, tmp_path, show_other_chats=True)
    await chat.run(scripted(["/remind", pushed(api, "FYI"), "thanks"]))
    assert out.getvalue() == (
        "you (Alice) > /remind\n"
        "bot: Reminder set\n"
        "bot: ⏰ Call Acme\n"
        "→ to Bob Lin: FYI: Call Acme\n"
        "you (Alice) > thanks\n"
        "bot: echo: thanks\n"
    )


async def test_interactive_prompt_is_redrawn_around_a_push(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    await console(api, app, people, out, tmp_path, interactive=True).run(scripted(["/remind", pushed(api, "FYI")]))
    transcript = out.getvalue()
    assert transcript.startswith("Chatting with @crm_test_bot as Alice Chen (id 1001). !help for help.\n")
    assert "you (Alice) > bot: Reminder set\nyou (Alice) > \nbot: ⏰ Call Acme\nyou (Alice) > " in transcript
    assert "FYI" not in transcript  # Bob's chat is not shown unless asked
    assert transcript.endswith("you (Alice) > \n")


async def test_files_go_both_ways(api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path) -> None:
    upload = tmp_path / "upload" / "customers.csv"
    upload.parent.mkdir()
    upload.write_text("name,phone\nAcme,+886912345678\nGlobex,+886223456789\n")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    out = io.StringIO()
    chat = ConsoleChat(api, app, people["alice"], out, lambda name: None, download_dir=downloads)
    await chat.run(scripted([f"!file {upload}", f"!file {upload}", f"!file {tmp_path}/missing.csv", "!file"]))

    report = b"ok,Acme,+886912345678\nok,Globex,+886223456789"
    assert (downloads / "report.csv").read_bytes() == report
    assert (downloads / "report (2).csv").read_bytes() == report  # nothing overwritten
    assert out.getvalue() == (
        f"you (Alice) > !file {upload}\n"
        f"  ↳ 📎 customers.csv ({upload.stat().st_size} B)\n"
        f"bot: 📎 report.csv ({len(report)} B) saved to {downloads}/report.csv\n"
        "     Imported 2 rows\n"
        f"you (Alice) > !file {upload}\n"
        f"  ↳ 📎 customers.csv ({upload.stat().st_size} B)\n"
        f"bot: 📎 report.csv ({len(report)} B) saved to {downloads}/report (2).csv\n"
        "     Imported 2 rows\n"
        f"you (Alice) > !file {tmp_path}/missing.csv\n"
        f"(can't read {tmp_path}/missing.csv: No such file or directory)\n"
        "you (Alice) > !file\n"
        "(usage: !file PATH)\n"
    )


async def test_mistakes_print_help_and_the_console_carries_on(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    chat = console(api, app, people, out, tmp_path)
    await chat.run(
        scripted(["!bogus", "!location north", "!location 95 10", "!contact Wang", "!as", "", "   ", "!help", "hi"])
    )
    text = out.getvalue()
    assert "(unknown console command !bogus; type !help for the list)" in text
    assert text.count("(usage: !location 25.0330 121.5654") == 2
    assert "(usage: !contact +886912345678 Wang Xiaoming" in text
    assert "(usage: !as NAME)" in text
    assert "!file PATH             send a file as a document" in text
    assert text.endswith("you (Alice) > hi\nbot: echo: hi\n")


async def test_bot_errors_do_not_stop_the_console(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("1 < 2")  # unescaped: Telegram rejects it

    errors: list[BaseException] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    app.add_handler(CommandHandler("broken", broken), group=-1)
    app.add_error_handler(record)
    out = io.StringIO()
    await console(api, app, people, out, tmp_path).run(scripted(["/broken", "still here"]))
    assert [str(e) for e in errors] == ['Can\'t parse entities: unsupported start tag "" at byte offset 2']
    assert out.getvalue().endswith("you (Alice) > still here\nbot: echo: still here\n")


def test_terminal_rendering_of_html() -> None:
    text = "Hi Alice, see docs and example.com"
    entities: list[dict[str, Any]] = [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "italic", "offset": 10, "length": 3},
        {"type": "text_link", "offset": 14, "length": 4, "url": "https://example.com/docs"},
        {"type": "text_link", "offset": 23, "length": 11, "url": "http://example.com/"},
    ]
    assert terminal_text(text, entities, ansi=False) == "Hi Alice, see docs (https://example.com/docs) and example.com"
    assert terminal_text(text, entities, ansi=True) == (
        "Hi \x1b[1mAlice\x1b[22m, \x1b[3msee\x1b[23m \x1b[4mdocs\x1b[24m (https://example.com/docs) and example.com"
    )
    assert terminal_text("😀 bold", [{"type": "bold", "offset": 3, "length": 4}], ansi=True) == "😀 \x1b[1mbold\x1b[22m"
    assert [format_size(n) for n in (12, 12_595, 3 * 1024 * 1024)] == ["12 B", "12.3 KB", "3.0 MB"]


async def test_colour_follows_the_terminal(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    await console(api, app, people, out, tmp_path).run(scripted(["/start"]))
    assert "bot: Hi \x1b[1mAlice\x1b[22m!" in out.getvalue()


async def test_stdin_lines_reads_without_blocking_and_ends_at_eof() -> None:
    lines = [line async for line in stdin_lines(io.StringIO("/start\r\nhello\n\nlast"))]
    assert lines == ["/start", "hello", "", "last"]


async def test_run_returns_at_end_of_input_after_the_last_update_is_handled(
    api: FakeBotApi, app: AnyApp, people: dict[str, FakeUser], tmp_path: Path
) -> None:
    out = io.StringIO()
    source: Callable[[], AsyncIterator[str]] = lambda: stdin_lines(io.StringIO("/start\n1\n"))  # noqa: E731
    await console(api, app, people, out, tmp_path).run(source())
    assert out.getvalue().endswith("  ↳ [1] Log\nbot (edited): Logged: log\n")
