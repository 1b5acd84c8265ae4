"""A chat with the bot in a terminal (or from a piped script), over the in-process fake Bot API.

The PTB ``Application`` is the real one; only its HTTP layer is a :class:`~tests.fakes.bot_api.FakeBotApi`.
Each input line becomes one update, handled to the end before the next line is read, so a piped script
gives the same transcript every time. Messages the bot sends on its own (job queue reminders, pushes to
other users) are printed as they happen, through ``FakeBotApi.subscribe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import re
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tests.fakes.bot_api import (
    BotEvent,
    Button,
    ChatMessage,
    FakeBotApi,
    FakeDocument,
    FakeUser,
    JSONDict,
    apply_entities,
)

if TYPE_CHECKING:
    from telegram.ext import Application

__all__ = ["ConsoleChat", "format_size", "stdin_lines", "terminal_text"]

HELP = """\
Type a message and press Enter to send it; /command works as in Telegram.
  N                      press button [N] of the latest message with buttons
  !contact PHONE [NAME]  share a contact (no name: your own contact)
  !location LAT LON      share a location, e.g. !location 25.0330 121.5654
  !file PATH             send a file as a document (CSV, XLSX, PDF, ...)
  !photo [CAPTION]       send a photo
  !sticker               send a sticker
  !as NAME               continue as another user
  !help                  this help
  !quit                  leave (end of input works too)"""

_ANSI: dict[str, tuple[str, str]] = {
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "underline": ("\x1b[4m", "\x1b[24m"),
    "strikethrough": ("\x1b[9m", "\x1b[29m"),
    "spoiler": ("\x1b[2m", "\x1b[22m"),
    "code": ("\x1b[36m", "\x1b[39m"),
    "pre": ("\x1b[36m", "\x1b[39m"),
}
_EXTRA_MIME_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".pdf": "application/pdf",
}
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()-]{4,}")


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le", "replace")


def terminal_text(text: str, entities: list[JSONDict], *, ansi: bool) -> str:
    """Message text for a terminal: links as "text (url)", bold/italic/... as ANSI codes if ``ansi``."""

    def markup(entity: Mapping[str, Any]) -> tuple[str, str]:
        kind = entity["type"]
        if kind == "text_link":
            url = str(entity["url"])
            visible = _utf16_slice(text, int(entity["offset"]), int(entity["length"]))
            if url.rstrip("/") in (visible.rstrip("/"), "http://" + visible.rstrip("/")):
                return "", ""
            return ("\x1b[4m", f"\x1b[24m ({url})") if ansi else ("", f" ({url})")
        if ansi and kind in _ANSI:
            return _ANSI[kind]
        return "", ""

    return apply_entities(text, entities, markup)


def _read_file(path: Path) -> bytes:
    return path.expanduser().read_bytes()


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


async def stdin_lines(stream: TextIO | None = None) -> AsyncIterator[str]:
    """Lines of ``stream`` (default: stdin) without blocking the event loop; ends at end of input.

    A daemon thread does the blocking reads, so leaving the console never waits for a pending read.
    """
    source = stream if stream is not None else sys.stdin
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        try:
            for line in iter(source.readline, ""):
                put(line.rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        finally:
            put(None)

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


SCRIPT_WAIT_SECONDS = 120.0  # the longest a piped script waits for background work after one of its lines


class ConsoleChat:
    """Drives an initialized and started PTB ``Application`` (on a ``FakeBotApi``) from text lines.

    ``switch_user(name)`` resolves ``!as NAME``. Documents the bot sends are written to ``download_dir``
    (a temporary directory if not given). ``interactive`` shows a prompt; otherwise each input line is
    echoed after the prompt text so that the output reads as a transcript. ``color`` (default: whether
    ``out`` is a TTY) renders bold/italic/... with ANSI codes.
    """

    def __init__(
        self,
        api: FakeBotApi,
        application: Application[Any, Any, Any, Any, Any, Any],
        user: FakeUser,
        out: TextIO,
        switch_user: Callable[[str], FakeUser | None],
        *,
        download_dir: Path | str | None = None,
        show_other_chats: bool = False,
        interactive: bool = False,
        color: bool | None = None,
    ) -> None:
        self.api = api
        self.application = application
        self.user = user
        self.out = out
        self.switch_user = switch_user
        self.show_other_chats = show_other_chats
        self.interactive = interactive
        if color is None:
            isatty = getattr(out, "isatty", None)
            color = bool(isatty()) if callable(isatty) else False
        self.color = color
        self._download_dir = Path(download_dir) if download_dir is not None else None
        self._prompt_visible = False
        self._reported_queries: set[str] = set()
        self._pressed: str | None = None  # the callback query whose answer is not shown yet
        self._commands: dict[str, Callable[[str], Any]] = {
            "contact": self._cmd_contact,
            "location": self._cmd_location,
            "file": self._cmd_file,
            "photo": self._cmd_photo,
            "sticker": self._cmd_sticker,
            "as": self._cmd_as,
            "help": self._cmd_help,
        }

    # ---- the loop --------------------------------------------------------------------------------------

    @property
    def prompt(self) -> str:
        return f"you ({self.user.first_name}) > "

    @property
    def download_dir(self) -> Path:
        if self._download_dir is None:
            self._download_dir = Path(tempfile.mkdtemp(prefix="crmbot-console-"))
        return self._download_dir

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Handle ``lines`` one by one until ``!quit`` or their end; bot pushes print meanwhile."""
        unsubscribe = self.api.subscribe(self._on_event)
        try:
            if self.interactive:
                self._print(f"Chatting with @{self.api.bot_username} as {self._describe(self.user)}. !help for help.")
            iterator = aiter(lines)
            while True:
                if self.interactive:
                    self._write(self.prompt)
                    self._prompt_visible = True
                try:
                    line = await anext(iterator)
                except StopAsyncIteration:
                    break
                self._prompt_visible = False
                if not self.interactive:
                    self._print(self.prompt + line)
                if not await self.handle_line(line):
                    break
            self._report_unanswered()
        finally:
            unsubscribe()
            if self._prompt_visible:
                self._write("\n")
                self._prompt_visible = False

    async def handle_line(self, line: str) -> bool:
        """Act on one input line; False means the user asked to quit."""
        text = line.strip()
        if not text:
            return True
        try:
            if text.startswith("!"):
                name, _, rest = text[1:].partition(" ")
                if name.lower() == "quit":
                    return False
                command = self._commands.get(name.lower())
                if command is None:
                    self._print(f"(unknown console command !{name}; type !help for the list)")
                else:
                    await command(rest.strip())
            elif text.isdigit() and await self._press_number(int(text)):
                pass
            else:
                await self._deliver(self.api.text(self.user, text, enqueue=False))
        except Exception as error:  # the console must survive anything a line can cause
            self._print(f"(console error: {error})")
        return True

    async def _deliver(self, update: JSONDict) -> None:
        try:
            await self.api.deliver(self.application, update)
        except Exception as error:
            self._print(f"⚠ the bot failed on this update: {error!r}")
        await asyncio.sleep(0)
        if not self.interactive:
            # A script's next line is what a person types after seeing the answer, including one that a
            # handler prepares in the background (an export, an import check).
            settle = getattr(self.application, "settle", None)
            if settle is not None:
                await settle(SCRIPT_WAIT_SECONDS)
        self._report_unanswered()

    def _report_unanswered(self) -> None:
        for query in self.api.unanswered_callback_queries():
            if query.id in self._reported_queries:
                continue
            self._reported_queries.add(query.id)
            label = query.data
            with contextlib.suppress(LookupError):
                message = self.api.chat(query.chat_id).by_id[query.message_id]
                label = next((b.text for b in message.buttons if b.callback_data == query.data), query.data)
            self._print(
                f"⚠ the bot did not answer the callback query of button {label!r} (data {query.data!r}): "
                "Telegram keeps showing a spinner on the button"
            )

    def _show_answer(self) -> None:
        """The text the bot answered the pressed button with, once it has: Telegram shows it as a pop-up (alert)
        or a brief notice at the top of the chat, and it is often the only reply (“no e-mail address”)."""
        if self._pressed is None:
            return
        try:
            record = self.api.callback_query(self._pressed)
        except KeyError:
            return
        if not record.answered:
            return
        self._pressed = None
        if not record.answer_text:
            return
        prefix = "bot (pop-up): " if record.show_alert else "bot (notice): "
        lines = record.answer_text.split("\n")
        self._print("\n".join([prefix + lines[0], *(" " * len(prefix) + line for line in lines[1:])]))

    # ---- console commands ------------------------------------------------------------------------------

    async def _press_number(self, number: int) -> bool:
        try:
            message = self.api.chat(self.user.id).last_keyboard_message()
        except LookupError:
            message = None
        if message is None or not 1 <= number <= len(message.buttons):
            return False
        button = message.buttons[number - 1]
        if button.callback_data is not None:
            self._print(f"  ↳ [{number}] {button.text}")
            update = self.api.press(self.user, message.message_id, button.callback_data, enqueue=False)
            self._pressed = str(update["callback_query"]["id"])
            try:
                await self._deliver(update)
                self._show_answer()
            finally:
                self._pressed = None
        elif button.url is not None:
            self._print(f"  ↳ [{number}] {button.text} is a link to {button.url}; nothing is sent to the bot")
        else:
            self._print(f"  ↳ [{number}] {button.text} is a {button.action} button; the console can't press it")
        return True

    async def _cmd_contact(self, rest: str) -> None:
        parts = rest.split()
        if not parts or not _PHONE_RE.fullmatch(parts[0]):
            self._print("(usage: !contact +886912345678 Wang Xiaoming — or just the number for your own)")
            return
        phone, names = parts[0], parts[1:]
        if names:
            update = self.api.contact(self.user, phone, names[0], " ".join(names[1:]) or None, enqueue=False)
        else:
            update = self.api.contact(
                self.user, phone, self.user.first_name, self.user.last_name, self.user.id, enqueue=False
            )
        await self._deliver(update)

    async def _cmd_location(self, rest: str) -> None:
        try:
            latitude, longitude = (float(value) for value in rest.replace(",", " ").split())
            update = self.api.location(self.user, latitude, longitude, enqueue=False)
        except ValueError:
            self._print("(usage: !location 25.0330 121.5654 — latitude -90..90, longitude -180..180)")
            return
        await self._deliver(update)

    async def _cmd_file(self, rest: str) -> None:
        if not rest:
            self._print("(usage: !file PATH)")
            return
        path = Path(rest.strip("\"'"))
        try:
            content = await asyncio.to_thread(_read_file, path)
        except OSError as error:
            self._print(f"(can't read {path}: {error.strerror or error})")
            return
        if not content:
            self._print(f"({path} is empty; Telegram does not send empty files)")
            return
        mime_type = mimetypes.guess_type(path.name)[0] or _EXTRA_MIME_TYPES.get(
            path.suffix.lower(), "application/octet-stream"
        )
        self._print(f"  ↳ 📎 {path.name} ({format_size(len(content))})")
        await self._deliver(self.api.document(self.user, path.name, content, mime_type, enqueue=False))

    async def _cmd_photo(self, rest: str) -> None:
        await self._deliver(self.api.photo(self.user, caption=rest or None, enqueue=False))

    async def _cmd_sticker(self, rest: str) -> None:
        await self._deliver(self.api.sticker(self.user, rest or "👍", enqueue=False))

    async def _cmd_as(self, rest: str) -> None:
        if not rest:
            self._print("(usage: !as NAME)")
            return
        user = self.switch_user(rest)
        if user is None:
            self._print(f"(no user called {rest!r})")
            return
        self.user = user
        self._print(f"(you are now {self._describe(user)})")

    async def _cmd_help(self, rest: str) -> None:
        self._print(HELP)

    # ---- output ----------------------------------------------------------------------------------------

    @staticmethod
    def _describe(user: FakeUser) -> str:
        handle = f", @{user.username}" if user.username else ""
        return f"{user.full_name} (id {user.id}{handle})"

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _print(self, text: str) -> None:
        self._write(text + "\n")

    def _on_event(self, event: BotEvent) -> None:
        self._show_answer()  # answered before this message: shown before it, as the user would see it
        if event.chat_id == self.user.id:
            prefix = {"message": "bot: ", "edit": "bot (edited): ", "delete": "bot: "}[event.kind]
        elif self.show_other_chats:
            try:
                name = self.api.chat(event.chat_id).name
            except LookupError:
                name = str(event.chat_id)
            prefix = f"→ to {name}{' (edited)' if event.kind == 'edit' else ''}: "
        else:
            return
        if event.kind == "delete":
            body: list[str] = [f"(deleted message {event.message_id})"]
            keyboard: list[str] = []
        else:
            save = event.kind == "message" and event.chat_id == self.user.id
            body, keyboard = self._render(event.message, save=save)
        indent = " " * len(prefix)
        output = [prefix + body[0], *(indent + line for line in body[1:]), *keyboard]
        was_prompting = self._prompt_visible
        if was_prompting:
            self._write("\n")
        self._print("\n".join(output))
        if was_prompting:
            self._write(self.prompt)

    def _render(self, message: ChatMessage, *, save: bool) -> tuple[list[str], list[str]]:
        """(text lines, keyboard lines) of a bot message as the terminal shows it."""
        lines: list[str] = []
        keyboard: list[str] = []
        if message.kind in ("document", "photo") and message.document is not None:
            lines.append(self._file_line(message, message.document, save=save))
        elif message.kind == "location" and message.location is not None:
            latitude, longitude = message.location
            lines.append(f"📍 {latitude:.5f}, {longitude:.5f}")
        if message.text:
            lines.extend(terminal_text(message.text, message.entities, ansi=self.color).split("\n"))
        if not lines:
            lines.append(f"({message.kind})")
        number = 0
        for row in message.keyboard:
            labels = []
            for button in row:
                number += 1
                labels.append(f"[{number}] {self._button_label(button)}")
            keyboard.append("  " + "  ".join(labels))
        for reply_row in message.reply_keyboard or []:
            keyboard.append("  keyboard: " + " | ".join(reply_row))
        return lines, keyboard

    @staticmethod
    def _button_label(button: Button) -> str:
        if button.url is not None:
            return f"{button.text} ({button.url})"
        return button.text

    def _file_line(self, message: ChatMessage, document: FakeDocument, *, save: bool) -> str:
        icon = "📎" if message.kind == "document" else "🖼"
        name = Path(document.filename).name or "document"
        description = f"{icon} {name} ({format_size(document.size)})"
        if not save:
            return description
        try:
            self.download_dir.mkdir(parents=True, exist_ok=True)
            target = self._free_path(self.download_dir / name)
            target.write_bytes(document.content)
        except OSError as error:
            return f"{description} (could not save it: {error})"
        return f"{description} saved to {target}"

    @staticmethod
    def _free_path(path: Path) -> Path:
        if not path.exists():
            return path
        for number in range(2, 10_000):
            candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
            if not candidate.exists():
                return candidate
        return path
