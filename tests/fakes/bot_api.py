"""An in-memory Telegram Bot API server, plugged into python-telegram-bot at the ``BaseRequest`` level.

Tests and the console chat build a real PTB ``Application`` whose HTTP layer is this class::

    api = FakeBotApi()
    app = api.application_builder().build()      # token + both request objects preset
    alice = api.add_user(1001, "Alice")
    await api.deliver(app, api.text(alice, "/start", enqueue=False))
    assert "Welcome" in api.last_message(alice.id).text

The fake answers with Telegram-shaped JSON, so PTB raises its real exceptions (``BadRequest``,
``RetryAfter``, ``Forbidden``, ``Conflict``). It enforces the limits Telegram enforces (text length after
entity parsing in UTF-16 code units, HTML validity, inline keyboard rules, edit/delete rules, callback query
answers, command menus, flood limits), so a test fails where Telegram would.

Where Telegram is lenient and the lenience hides a bug, ``strict=True`` (the default) makes the fake
stricter, and says so in the error text: a bare ``&`` in HTML (Telegram keeps it literally, but it means
user text went out unescaped) and an inline button with more than one action field (Telegram silently uses
the first one).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
import math
import re
import string
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from telegram import Update
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.ext import Application
    from telegram.ext._applicationbuilder import InitApplicationBuilder

__all__ = [
    "ApiCall",
    "BotEvent",
    "Button",
    "CallbackQueryRecord",
    "ChatMessage",
    "FakeBotApi",
    "FakeChat",
    "FakeDocument",
    "FakeUser",
    "HtmlParseError",
    "RateLimit",
    "apply_entities",
    "entities_to_html",
    "parse_html",
    "utf16_len",
]

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

# Methods that post a new message and so count against the flood limits.
_MESSAGE_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendlocation",
        "sendcontact",
        "sendsticker",
        "sendvideo",
        "sendaudio",
        "sendvoice",
        "sendanimation",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_INCOMING_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,32})?(?![\w@])")
_INCOMING_URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]']")


# ----------------------------------------------------------------------------------------------------------
# Text measurement and HTML entities
# ----------------------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram measures text and entity offsets in."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message follows Telegram's wording."""


_SPACE = " \t\r\n\v\f"
_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + ".-")


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_index: int


@dataclass
class _Entity:
    type: str
    offset: int
    length: int
    argument: str = ""
    extra: JSONDict = field(default_factory=dict)


def _decode_html_entity(text: str, pos: int) -> tuple[str, int, bool] | None:
    """Decode the character reference at ``text[pos] == '&'`` the way Telegram does.

    Returns (character, position after the reference, whether it ended with ';'), or None when the
    ampersand does not start a supported reference (Telegram then keeps the '&' literally).
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in string.hexdigits:
                value = value * 16 + int(text[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
        else:
            while end < n and text[end] in string.digits:
                value = value * 10 + int(text[end])
                end += 1
                if value >= 0x10FFFF:
                    return None
        if value == 0 or end - pos >= 10:
            return None
        char = chr(value)
    else:
        while end < n and text[end] in string.ascii_letters:
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        return char, end + 1, True
    return char, end, False


def _check_link(url: str) -> str | None:
    """Normalise a link the way Telegram does for text links, or None if Telegram would drop it."""
    if not url or any(ch in url for ch in _SPACE):
        return None
    parts = urlsplit(url if "://" in url or ":" in url.split("/")[0] else "http://" + url)
    scheme = parts.scheme.lower()
    if scheme in ("tg", "ton"):
        return url
    if scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        return None
    if not parts.path:
        parts = parts._replace(path="/")
    return parts.geturl()


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into (plain text, Bot API entity dicts), like Telegram's server.

    Offsets and lengths of the entities are in UTF-16 code units. The text is not trimmed here.
    Raises HtmlParseError with Telegram's wording (without the "can't parse entities: " prefix).
    With ``strict``, an '&' that does not start a complete reference (``&amp;``, ``&#38;``, ...) is an
    error, although Telegram itself would keep it as a literal '&'.
    """
    n = len(source)

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    def unescaped_ampersand(index: int) -> HtmlParseError:
        return HtmlParseError(
            f'Unescaped "&" at byte offset {byte_offset(index)}: write "&amp;" (Telegram would show the '
            "text as is, which means user text went out without html.escape)"
        )

    out: list[str] = []
    utf16 = 0
    entities: list[_Entity] = []
    stack: list[_OpenTag] = []
    i = 0
    while i < n:
        c = source[i]
        if c == "&":
            decoded = _decode_html_entity(source, i)
            if decoded is not None and (decoded[2] or not strict):
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict:
                raise unescaped_ampersand(i)
        if c != "<":
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i >= n or source[i] != "/":
            # a start tag
            while i < n and source[i] not in _SPACE and source[i] != ">":
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = source[begin + 1 : i].lower()
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            while True:
                while i < n and source[i] in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if source[i] == ">":
                    break
                attribute_begin = i
                while i < n and source[i] not in _SPACE and source[i] not in "=>":
                    i += 1
                attribute = source[attribute_begin:i]
                if not attribute:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}')
                while i < n and source[i] in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if source[i] != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                    continue
                i += 1
                while i < n and source[i] in _SPACE:
                    i += 1
                if i >= n:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                if source[i] not in "'\"":
                    token_begin = i
                    while i < n and source[i] in _NAME_TOKEN_CHARS:
                        i += 1
                    value = source[token_begin:i].lower()
                    if i < n and source[i] not in _SPACE and source[i] != ">":
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {byte_offset(token_begin)}")
                else:
                    quote = source[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and source[i] != quote:
                        if source[i] == "&":
                            decoded = _decode_html_entity(source, i)
                            if decoded is not None and (decoded[2] or not strict):
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                            if strict:
                                raise unescaped_ampersand(i)
                        chars.append(source[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}')
            if tag == "tg-emoji" and not argument.isdigit():
                raise HtmlParseError(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset(begin)}'
                )
            i += 1  # past '>'
            stack.append(_OpenTag(tag, argument, utf16, len(out)))
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1  # past '/'
        name_begin = i
        while i < n and source[i] not in _SPACE and source[i] != ">":
            i += 1
        end_name = source[name_begin:i].lower()
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n or source[i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        opened = stack[-1]
        if end_name and end_name != opened.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{opened.name}>", '
                f'found "</{end_name}>"'
            )
        stack.pop()
        length = utf16 - opened.utf16_offset
        if length <= 0:
            continue
        offset = opened.utf16_offset
        last = entities[-1] if entities else None
        same_range = last is not None and last.offset == offset and last.length == length
        if opened.name in _SIMPLE_TAG_TYPES:
            entities.append(_Entity(_SIMPLE_TAG_TYPES[opened.name], offset, length))
        elif opened.name == "a":
            url = opened.argument or "".join(out[opened.text_index :])
            user_match = re.fullmatch(r"tg://user\?id=(\d+)", url)
            if user_match:
                entities.append(_Entity("text_mention", offset, length, user_match.group(1)))
            else:
                checked = _check_link(url)
                if checked is not None:
                    entities.append(_Entity("text_link", offset, length, extra={"url": checked}))
        elif opened.name == "pre":
            if same_range and last is not None and last.type == "code" and last.argument:
                last.type = "pre"
                last.extra = {"language": last.argument}
            else:
                entities.append(_Entity("pre", offset, length))
        elif opened.name == "code":
            if same_range and last is not None and last.type == "pre" and opened.argument:
                last.extra = {"language": opened.argument}
            else:
                entities.append(_Entity("code", offset, length, opened.argument))
        elif opened.name == "blockquote":
            kind = "expandable_blockquote" if opened.argument else "blockquote"
            entities.append(_Entity(kind, offset, length))
        elif opened.name == "tg-emoji":
            entities.append(_Entity("custom_emoji", offset, length, extra={"custom_emoji_id": opened.argument}))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')

    result: list[JSONDict] = []
    for entity in entities:
        data: JSONDict = {"type": entity.type, "offset": entity.offset, "length": entity.length}
        if entity.type == "text_mention":
            data["user"] = {"id": int(entity.argument), "is_bot": False, "first_name": ""}
        data.update(entity.extra)
        result.append(data)
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), result


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip leading/trailing whitespace as Telegram does, moving and clipping the entities."""
    stripped = text.strip(_SPACE)
    if stripped == text:
        return text, entities
    left = utf16_len(text[: len(text) - len(text.lstrip(_SPACE))])
    total = utf16_len(stripped)
    kept: list[JSONDict] = []
    for entity in entities:
        start = max(0, entity["offset"] - left)
        end = min(total, entity["offset"] + entity["length"] - left)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def apply_entities(
    text: str,
    entities: Iterable[Mapping[str, Any]],
    markup: Callable[[Mapping[str, Any]], tuple[str, str]],
    escape: Callable[[str], str] = lambda s: s,
) -> str:
    """Render ``text`` with an opening/closing string (from ``markup(entity)``) around each entity.

    Offsets are UTF-16 code units, as in the Bot API. Used to produce HTML and terminal text.
    """
    index_of: dict[int, int] = {}
    u16 = 0
    for index, char in enumerate(text):
        index_of[u16] = index
        u16 += 2 if ord(char) > 0xFFFF else 1
    index_of[u16] = len(text)
    opens: dict[int, list[tuple[int, int, str]]] = {}
    closes: dict[int, list[tuple[int, int, str]]] = {}
    for number, entity in enumerate(entities):
        start = index_of.get(int(entity["offset"]))
        end = index_of.get(int(entity["offset"]) + int(entity["length"]))
        if start is None or end is None or end <= start:
            continue
        opening, closing = markup(entity)
        opens.setdefault(start, []).append((start - end, number, opening))
        closes.setdefault(end, []).append((end - start, -number, closing))
    pieces: list[str] = []
    previous = 0
    for position in sorted(set(opens) | set(closes)):
        pieces.append(escape(text[previous:position]))
        pieces.extend(item[2] for item in sorted(closes.get(position, [])))
        pieces.extend(item[2] for item in sorted(opens.get(position, [])))
        previous = position
    pieces.append(escape(text[previous:]))
    return "".join(pieces)


_HTML_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


def _html_markup(entity: Mapping[str, Any]) -> tuple[str, str]:
    kind = entity["type"]
    if kind in _HTML_TAGS:
        tag = _HTML_TAGS[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        language = entity.get("language")
        if language:
            return f'<pre><code class="language-{html.escape(language)}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(str(entity["url"]))}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={entity["user"]["id"]}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity["custom_emoji_id"]}">', "</tg-emoji>"
    return "", ""


def entities_to_html(text: str, entities: Iterable[Mapping[str, Any]]) -> str:
    """The Telegram HTML equivalent of a plain text with Bot API entities."""
    return apply_entities(text, entities, _html_markup, lambda s: html.escape(s, quote=False))


# ----------------------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description, optional response parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_messages`` in any window of ``per_seconds`` seconds (a sliding window)."""

    max_messages: int
    per_seconds: float


@dataclass
class ApiCall:
    """One request the bot made: Bot API method name as sent, its parameters, the fake clock time."""

    method: str
    params: JSONDict
    time: float
    error: str | None = None


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Button:
    """One inline keyboard button; ``action`` is the name of its action field (callback_data, url, ...)."""

    text: str
    action: str
    value: Any

    @property
    def callback_data(self) -> str | None:
        return str(self.value) if self.action == "callback_data" else None

    @property
    def url(self) -> str | None:
        return str(self.value) if self.action == "url" else None


@dataclass(frozen=True)
class FakeDocument:
    file_id: str
    filename: str
    content: bytes
    mime_type: str
    caption: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ChatMessage:
    """A message as it currently stands in a chat (sent by the bot or by a user).

    ``text`` is the visible text (the caption for media), ``html`` the same as Telegram HTML,
    ``reply_markup`` the inline keyboard as rows of (text, callback_data or url).
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender_id: int
    kind: str
    text: str | None
    entities: list[JSONDict]
    html: str | None
    keyboard: list[list[Button]]
    raw: JSONDict = field(repr=False)
    reply_keyboard: list[list[str]] | None = None
    document: FakeDocument | None = None
    location: tuple[float, float] | None = None
    edited: bool = False
    deleted: bool = False

    @property
    def reply_markup(self) -> list[list[tuple[str, str]]]:
        return [[(b.text, str(b.value)) for b in row] for row in self.keyboard]

    @property
    def buttons(self) -> list[Button]:
        """All inline buttons, row by row (the console numbers them from 1 in this order)."""
        return [button for row in self.keyboard for button in row]

    def button(self, label_or_index: str | int) -> Button:
        """The button with this exact label, or the N-th button counting row by row from 1."""
        buttons = self.buttons
        if isinstance(label_or_index, int):
            if 1 <= label_or_index <= len(buttons):
                return buttons[label_or_index - 1]
        else:
            for candidate in buttons:
                if candidate.text == label_or_index:
                    return candidate
        labels = ", ".join(f"[{n}] {b.text!r}" for n, b in enumerate(buttons, 1)) or "none"
        raise LookupError(
            f"message {self.message_id} in chat {self.chat_id} has no button {label_or_index!r}; "
            f"its buttons are: {labels}"
        )


@dataclass
class FakeChat:
    id: int
    type: str
    user: FakeUser | None = None
    title: str | None = None
    started: bool = True
    blocked: bool = False
    next_message_id: int = 1
    by_id: dict[int, ChatMessage] = field(default_factory=dict)
    send_times: list[float] = field(default_factory=list)
    pinned: list[int] = field(default_factory=list)
    """Pinned message ids, the latest pin last (Telegram keeps several)."""

    @property
    def name(self) -> str:
        return self.user.full_name if self.user else (self.title or str(self.id))

    @property
    def messages(self) -> list[ChatMessage]:
        """Current state of the chat (edits applied, deleted messages gone), oldest first."""
        return [m for m in self.by_id.values() if not m.deleted]

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.messages if m.from_bot]

    def message(self, message_id: int) -> ChatMessage:
        found = self.by_id.get(message_id)
        if found is None or found.deleted:
            raise LookupError(f"chat {self.id} has no message {message_id}")
        return found

    def last_keyboard_message(self) -> ChatMessage | None:
        """The most recent bot message that currently has an inline keyboard."""
        for candidate in reversed(self.messages):
            if candidate.from_bot and candidate.keyboard:
                return candidate
        return None

    def to_dict(self) -> JSONDict:
        if self.user is not None and self.type == "private":
            data: JSONDict = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "type": self.type, "title": self.title or str(self.id)}


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


@dataclass(frozen=True)
class BotEvent:
    """Something the bot did that a user would see: a new message, an edit, or a deletion."""

    kind: Literal["message", "edit", "delete"]
    chat_id: int
    message_id: int
    message: ChatMessage


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    content: bytes
    filename: str | None
    mime_type: str | None


# ----------------------------------------------------------------------------------------------------------
# The fake server
# ----------------------------------------------------------------------------------------------------------


class _SharedStateRequest(BaseRequest):
    """A second BaseRequest over the same FakeBotApi (PTB wants one object for getUpdates)."""

    def __init__(self, api: FakeBotApi) -> None:
        self._api = api

    @property
    def read_timeout(self) -> float | None:
        return self._api.read_timeout

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        return await self._api.do_request(url, method, request_data)


_QUERY_IDS = itertools.count(1)


class FakeBotApi(BaseRequest):
    """In-memory Telegram Bot API. See the module docstring for an example.

    ``global_limit``/``group_limit``: flood limits (``None`` disables one); ``clock``: monotonic seconds for
    the limits and for ``ApiCall.time``; ``wallclock``: Unix seconds for message dates; ``strict``: see the
    module docstring.
    """

    def __init__(
        self,
        *,
        token: str = "123456789:TEST-fake-bot-api-token",
        bot_username: str = "crm_test_bot",
        bot_first_name: str = "CRM Bot",
        global_limit: RateLimit | None = RateLimit(30, 1.0),
        group_limit: RateLimit | None = RateLimit(20, 60.0),
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        strict: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.global_limit = global_limit
        self.group_limit = group_limit
        self.strict = strict
        self._clock = clock
        self._wallclock = wallclock

        self.calls: list[ApiCall] = []
        self.users: dict[int, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._sent: list[ChatMessage] = []
        self._documents: dict[int, list[FakeDocument]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._callback_queries: dict[str, CallbackQueryRecord] = {}
        self._query_ids = _QUERY_IDS  # unique across instances, as Telegram's are
        self._group_ids = itertools.count(1)
        self._listeners: list[Callable[[BotEvent], None]] = []

        self._global_times: deque[float] = deque()
        self._group_times: dict[int, deque[float]] = {}

        self._pending_updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._release_generation = 0
        self._poll_waiters: set[asyncio.Future[None]] = set()

        self.webhook_url: str = ""
        self.webhook_secret_token: str | None = None

        self._updates_request = _SharedStateRequest(self)
        self._handlers: dict[str, Callable[[JSONDict, dict[str, Any]], Any]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "pinchatmessage": self._pin_chat_message,
            "unpinchatmessage": self._unpin_chat_message,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendlocation": self._send_location,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
            "close": lambda params, files: True,
            "logout": lambda params, files: True,
        }

    # ---- BaseRequest ------------------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def updates_request(self) -> BaseRequest:
        """A BaseRequest sharing this fake's state, for ``ApplicationBuilder.get_updates_request``."""
        return self._updates_request

    def application_builder(self) -> InitApplicationBuilder:
        """``Application.builder()`` with the token and both request objects pointing at this fake."""
        from telegram.ext import Application

        return Application.builder().token(self.token).request(self).get_updates_request(self._updates_request)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        if method == "GET":
            return self._download(path)
        parts = path.rstrip("/").split("/")
        if len(parts) < 2 or not parts[-2].endswith(self.token):
            return 401, json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
        name = parts[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        files = dict(request_data.multipart_data) if request_data is not None else {}
        call = ApiCall(name, params, self._clock())
        self.calls.append(call)
        try:
            if name.lower() == "getupdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self._handlers.get(name.lower())
                if handler is None:
                    raise ApiError(404, "Not Found: method not found")
                result = handler(params, files)
        except ApiError as error:
            call.error = error.description
            body: JSONDict = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
            return error.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # ---- users, chats and what tests read back -----------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        *,
        started: bool = True,
    ) -> FakeUser:
        """Register a user with a private chat. ``started=False``: the user never wrote to the bot, so the
        bot gets "chat not found" until the first update from this user."""
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        existing = self._chats.get(user_id)
        if existing is None:
            self._chats[user_id] = FakeChat(id=user_id, type="private", user=user, started=started)
        else:
            existing.user = user
            existing.started = existing.started or started
        return user

    def add_group(self, title: str, *, chat_id: int | None = None, supergroup: bool = False) -> FakeChat:
        """Create a group chat the bot is a member of (negative id)."""
        number = next(self._group_ids)
        if chat_id is None:
            chat_id = -(1001000000000 + number) if supergroup else -(4000000000 + number)
        chat = FakeChat(id=chat_id, type="supergroup" if supergroup else "group", title=title)
        self._chats[chat_id] = chat
        return chat

    def block(self, user: FakeUser | int, blocked: bool = True) -> None:
        """Mark a user as having blocked the bot (sends then fail with 403 Forbidden)."""
        self.chat(user if isinstance(user, int) else user.id).blocked = blocked

    def chat(self, chat_id: int | FakeUser) -> FakeChat:
        key = chat_id.id if isinstance(chat_id, FakeUser) else chat_id
        try:
            return self._chats[key]
        except KeyError:
            raise LookupError(f"the fake knows no chat {key}; add_user() or add_group() first") from None

    def chats(self) -> list[FakeChat]:
        return list(self._chats.values())

    def sent_messages(self, chat_id: int | FakeUser | None = None) -> list[ChatMessage]:
        """Every message the bot sent, as it was sent (later edits not applied), oldest first."""
        if chat_id is None:
            return list(self._sent)
        key = chat_id.id if isinstance(chat_id, FakeUser) else chat_id
        return [m for m in self._sent if m.chat_id == key]

    def last_message(self, chat_id: int | FakeUser) -> ChatMessage:
        """The bot's most recent message still present in the chat, in its current state."""
        messages = self.chat(chat_id).bot_messages
        if not messages:
            raise LookupError(f"the bot has no message in chat {chat_id}")
        return messages[-1]

    def documents(self, chat_id: int | FakeUser) -> list[FakeDocument]:
        key = chat_id.id if isinstance(chat_id, FakeUser) else chat_id
        return list(self._documents.get(key, []))

    def commands(
        self, language_code: str | None = None, scope: Mapping[str, Any] | Any | None = None
    ) -> list[tuple[str, str]]:
        """The command menu stored for exactly this scope and language (like getMyCommands)."""
        return list(self._commands.get(self._command_key(scope, language_code or ""), []))

    def send_times(self, chat_id: int | FakeUser) -> list[float]:
        """Clock times of the messages the bot posted to this chat (to check per-chat pacing)."""
        return list(self.chat(chat_id).send_times)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def unanswered_callback_queries(self) -> list[CallbackQueryRecord]:
        return [q for q in self._callback_queries.values() if not q.answered]

    def callback_query(self, query_id: str) -> CallbackQueryRecord:
        return self._callback_queries[query_id]

    def file_content(self, file_id: str) -> bytes:
        return self._files[file_id].content

    def pending_updates(self) -> list[JSONDict]:
        return list(self._pending_updates)

    def subscribe(self, callback: Callable[[BotEvent], None]) -> Callable[[], None]:
        """Call ``callback`` synchronously for every message, edit and deletion by the bot.
        Returns a function that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return unsubscribe

    # ---- update builders (what users do) -----------------------------------------------------------------

    def text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        """A text message from ``user`` (``bot_command``/``url`` entities added as Telegram does)."""
        entities: list[JSONDict] = []
        for match in _INCOMING_COMMAND_RE.finditer(text):
            entities.append(self._entity_at(text, match, "bot_command"))
        for match in _INCOMING_URL_RE.finditer(text):
            entities.append(self._entity_at(text, match, "url"))
        entities.sort(key=lambda e: e["offset"])
        extra: JSONDict = {"text": text}
        if entities:
            extra["entities"] = entities
        return self._user_message(user, chat, "text", extra, enqueue, text=text, entities=entities)

    def press(
        self,
        user: FakeUser,
        message_id: int | None,
        callback_data: str,
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
        forged: bool = False,
    ) -> JSONDict:
        """``user`` presses the button carrying ``callback_data`` on a bot message (None: the latest
        message with a keyboard). Raises LookupError if the message has no such button — unless ``forged``:
        a modified client can send any callback data for a message that has a keyboard, and the bot must
        re-check everything such a press asks for."""
        target = self._keyboard_message(user, message_id, chat)
        if not forged and not any(b.callback_data == callback_data for b in target.buttons):
            offered = ", ".join(f"{b.text!r}={b.value!r}" for b in target.buttons) or "none"
            raise LookupError(
                f"message {target.message_id} in chat {target.chat_id} has no button with callback_data "
                f"{callback_data!r}; its buttons are: {offered}"
            )
        query_id = f"{self.bot_id}{next(self._query_ids):08d}"
        self._callback_queries[query_id] = CallbackQueryRecord(
            query_id, user.id, target.chat_id, target.message_id, callback_data
        )
        query: JSONDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": target.raw,
            "chat_instance": f"ci{target.chat_id}",
            "data": callback_data,
        }
        return self._make_update({"callback_query": query}, enqueue)

    def press_button(
        self,
        user: FakeUser,
        message_id: int | None,
        label_or_index: str | int,
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        """Press a button by its exact label or by its number (row by row, from 1)."""
        target = self._keyboard_message(user, message_id, chat)
        button = target.button(label_or_index)
        if button.callback_data is None:
            raise LookupError(
                f"button {button.text!r} is a {button.action} button ({button.value!r}); only callback "
                "buttons send an update to the bot"
            )
        return self.press(user, target.message_id, button.callback_data, chat=target.chat_id, enqueue=enqueue)

    def contact(
        self,
        user: FakeUser,
        phone_number: str,
        first_name: str,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(user, chat, "contact", {"contact": contact}, enqueue)

    def location(
        self,
        user: FakeUser,
        latitude: float,
        longitude: float,
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError(f"no such place: latitude {latitude}, longitude {longitude}")
        return self._user_message(
            user,
            chat,
            "location",
            {"location": {"latitude": latitude, "longitude": longitude}},
            enqueue,
            location=(latitude, longitude),
        )

    def document(
        self,
        user: FakeUser,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        """A document sent by ``user``; the bot can getFile and download it."""
        stored = self._store_file(content, filename, mime_type, "documents")
        extra: JSONDict = {"document": self._document_dict(stored)}
        if caption:
            extra["caption"] = caption
        doc = FakeDocument(stored.file_id, filename, content, mime_type, caption)
        return self._user_message(user, chat, "document", extra, enqueue, text=caption, document=doc)

    def photo(
        self,
        user: FakeUser,
        content: bytes | None = None,
        *,
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        data = content if content is not None else b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
        sizes = []
        for width, height in ((90, 67), (320, 240), (1280, 960)):
            stored = self._store_file(data, None, "image/jpeg", "photos")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        extra: JSONDict = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        return self._user_message(user, chat, "photo", extra, enqueue, text=caption)

    def sticker(
        self,
        user: FakeUser,
        emoji: str = "👍",
        *,
        chat: FakeChat | int | None = None,
        enqueue: bool = True,
    ) -> JSONDict:
        stored = self._store_file(b"RIFF-fake-webp", None, "image/webp", "stickers")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user, chat, "sticker", {"sticker": sticker}, enqueue)

    def enqueue(self, update: JSONDict) -> None:
        """Queue an update for getUpdates (builders do this unless ``enqueue=False``)."""
        self._pending_updates.append(update)
        self._wake_pollers()

    @staticmethod
    def as_update(update: JSONDict, bot: Bot) -> Update:
        """The ``telegram.Update`` for an update dict, ready for ``application.process_update``."""
        parsed = Update.de_json(update, bot)
        assert parsed is not None
        return parsed

    async def deliver(self, application: Application[Any, Any, Any, Any, Any, Any], update: JSONDict) -> None:
        """Let ``application`` handle the update now (finishes before returning, unlike polling)."""
        await application.process_update(self.as_update(update, application.bot))

    # ---- builder helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _entity_at(text: str, match: re.Match[str], kind: str) -> JSONDict:
        return {
            "type": kind,
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        }

    def _private_or_given_chat(self, user: FakeUser, chat: FakeChat | int | None) -> FakeChat:
        if isinstance(chat, FakeChat):
            return chat
        if chat is not None:
            return self.chat(chat)
        if user.id not in self._chats:
            self.add_user(user.id, user.first_name, user.last_name, user.username, user.language_code)
        return self._chats[user.id]

    def _keyboard_message(self, user: FakeUser, message_id: int | None, chat: FakeChat | int | None) -> ChatMessage:
        target_chat = self._private_or_given_chat(user, chat)
        if message_id is None:
            found = target_chat.last_keyboard_message()
            if found is None:
                raise LookupError(f"no bot message with an inline keyboard in chat {target_chat.id}")
            return found
        return target_chat.message(message_id)

    def _make_update(self, payload: JSONDict, enqueue: bool) -> JSONDict:
        update = {"update_id": next(self._update_ids), **payload}
        if enqueue:
            self.enqueue(update)
        return update

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeChat | int | None,
        kind: str,
        extra: JSONDict,
        enqueue: bool,
        *,
        text: str | None = None,
        entities: list[JSONDict] | None = None,
        document: FakeDocument | None = None,
        location: tuple[float, float] | None = None,
    ) -> JSONDict:
        target = self._private_or_given_chat(user, chat)
        target.started = True
        message: JSONDict = {
            "message_id": target.next_message_id,
            "date": int(self._wallclock()),
            "chat": target.to_dict(),
            "from": user.to_dict(),
            **extra,
        }
        target.next_message_id += 1
        target.by_id[message["message_id"]] = ChatMessage(
            chat_id=target.id,
            message_id=message["message_id"],
            date=message["date"],
            from_bot=False,
            sender_id=user.id,
            kind=kind,
            text=text,
            entities=list(entities or []),
            html=entities_to_html(text, entities or []) if text is not None else None,
            keyboard=[],
            raw=message,
            document=document,
            location=location,
        )
        return self._make_update({"message": message}, enqueue)

    # ---- method handlers -----------------------------------------------------------------------------------

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _get_me(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _resolve_chat(self, params: JSONDict, *, for_sending: bool = False) -> FakeChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad_request("chat_id is empty")
        chat: FakeChat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            for candidate in self._chats.values():
                if candidate.user is not None and candidate.user.username == raw[1:]:
                    chat = candidate
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None or not chat.started:
            raise _bad_request("chat not found")
        if for_sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _formatted(
        self, params: JSONDict, text_key: str, entities_key: str, *, caption: bool
    ) -> tuple[str, list[JSONDict], str]:
        """Parse text/caption with its parse_mode: (visible text, entities, html). Enforces the limits."""
        source = params.get(text_key)
        if source is None:
            source = ""
        if not isinstance(source, str):
            source = str(source)
        parse_mode = params.get("parse_mode")
        explicit = params.get(entities_key)
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    text, entities = parse_html(source, strict=self.strict)
                except HtmlParseError as error:
                    raise _bad_request(f"can't parse entities: {error}") from None
            elif mode in ("markdown", "markdownv2"):
                raise _bad_request(
                    f"can't parse entities: the fake Bot API implements parse_mode HTML only, not {parse_mode}"
                )
            else:
                raise _bad_request("unsupported parse_mode")
        else:
            text = source
            entities = [dict(e) for e in explicit] if isinstance(explicit, list) else []
            total = utf16_len(text)
            for entity in entities:
                if entity.get("offset", -1) < 0 or entity["offset"] + entity.get("length", 0) > total:
                    raise _bad_request("can't parse entities: entity beyond the end of the text")
        text, entities = _trim(text, entities)
        length = utf16_len(text)
        if caption:
            if length > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        elif length == 0:
            raise _bad_request("message text is empty")
        elif length > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, entities, entities_to_html(text, entities)

    def _check_button_url(self, url: Any, field_name: str = "URL") -> None:
        if not isinstance(url, str) or not url or any(ch in url for ch in _SPACE):
            raise _bad_request(f"inline keyboard button {field_name} '{url}' is invalid: Wrong HTTP URL")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("tg", "ton"):
            return
        if scheme in ("http", "https") or not scheme or "://" not in url:
            host = urlsplit(url if scheme in ("http", "https") else "http://" + url).hostname or ""
            if "." not in host:
                raise _bad_request(f"inline keyboard button {field_name} '{url}' is invalid: Wrong HTTP URL")
            return
        raise _bad_request(f"inline keyboard button {field_name} '{url}' is invalid: Unsupported URL protocol")

    def _parse_reply_markup(self, raw: Any) -> tuple[list[list[Button]], list[list[str]] | None, JSONDict | None]:
        """Validate reply_markup: (inline keyboard rows, reply keyboard labels, markup echoed in results)."""
        if raw is None:
            return [], None, None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _bad_request("can't parse reply keyboard markup JSON object") from None
        if not isinstance(raw, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in raw:
            rows = raw["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
                raise _bad_request("reply markup is too long")
            keyboard: list[list[Button]] = []
            for row in rows:
                parsed_row: list[Button] = []
                for button in row:
                    parsed_row.append(self._parse_inline_button(button))
                if parsed_row:
                    keyboard.append(parsed_row)
            return keyboard, None, ({"inline_keyboard": rows} if keyboard else None)
        if "keyboard" in raw:
            labels = [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in raw["keyboard"]]
            if any(not label for row in labels for label in row):
                raise _bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            return [], labels, None
        return [], None, None

    def _parse_inline_button(self, button: Any) -> Button:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise _bad_request(prefix + "InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str):
            raise _bad_request(prefix + 'Field "text" must be of type String')
        actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
        if not actions:
            raise _bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1 and self.strict:
            raise _bad_request(
                prefix + f"exactly one of the optional fields must be used, got {', '.join(actions)} "
                "(Telegram would silently use the first one)"
            )
        if not text.strip():
            raise _bad_request("BUTTON_TEXT_INVALID")
        action = actions[0]
        value = button[action]
        if action == "callback_data":
            if not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
        elif action == "url":
            self._check_button_url(value)
        elif action in ("web_app", "login_url"):
            target = value.get("url") if isinstance(value, dict) else None
            self._check_button_url(target, "web app URL" if action == "web_app" else "login URL")
            if action == "web_app" and not str(target).startswith("https://"):
                raise _bad_request("BUTTON_URL_INVALID")
        return Button(text, action, value)

    def _check_rate_limits(self, chat: FakeChat) -> None:
        now = self._clock()
        waits: list[float] = []
        if self.global_limit is not None:
            wait = self._window_wait(self._global_times, self.global_limit, now)
            if wait is not None:
                waits.append(wait)
        if self.group_limit is not None and chat.id < 0:
            times = self._group_times.setdefault(chat.id, deque())
            wait = self._window_wait(times, self.group_limit, now)
            if wait is not None:
                waits.append(wait)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    @staticmethod
    def _window_wait(times: deque[float], limit: RateLimit, now: float) -> float | None:
        # 1 µs of slack so that a sender pacing at exactly the limit is not rejected for float rounding.
        while times and times[0] <= now - limit.per_seconds + 1e-6:
            times.popleft()
        if len(times) < limit.max_messages:
            return None
        return times[0] + limit.per_seconds - now

    def _record_send(self, chat: FakeChat) -> None:
        now = self._clock()
        chat.send_times.append(now)
        if self.global_limit is not None:
            self._global_times.append(now)
        if self.group_limit is not None and chat.id < 0:
            self._group_times.setdefault(chat.id, deque()).append(now)

    def _check_reply_to(self, chat: FakeChat, params: JSONDict) -> None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else params.get("reply_to_message_id")
        allow = (reply or {}).get("allow_sending_without_reply") if isinstance(reply, dict) else None
        if message_id is None or allow or params.get("allow_sending_without_reply"):
            return
        existing = chat.by_id.get(int(message_id))
        if existing is None or existing.deleted:
            raise _bad_request("message to be replied not found")

    def _post_message(
        self,
        chat: FakeChat,
        kind: str,
        content: JSONDict,
        params: JSONDict,
        *,
        text: str | None,
        entities: list[JSONDict],
        html_text: str | None,
        keyboard: list[list[Button]],
        reply_keyboard: list[list[str]] | None,
        markup: JSONDict | None,
        document: FakeDocument | None = None,
        location: tuple[float, float] | None = None,
    ) -> JSONDict:
        """Rate-limit, then store the message, notify listeners and return its Message JSON."""
        self._check_reply_to(chat, params)
        self._check_rate_limits(chat)
        self._record_send(chat)
        message: JSONDict = {
            "message_id": chat.next_message_id,
            "from": self._bot_user(),
            "chat": chat.to_dict(),
            "date": int(self._wallclock()),
            **content,
        }
        if markup is not None:
            message["reply_markup"] = markup
        chat.next_message_id += 1
        stored = ChatMessage(
            chat_id=chat.id,
            message_id=message["message_id"],
            date=message["date"],
            from_bot=True,
            sender_id=self.bot_id,
            kind=kind,
            text=text,
            entities=entities,
            html=html_text,
            keyboard=keyboard,
            raw=message,
            reply_keyboard=reply_keyboard,
            document=document,
            location=location,
        )
        chat.by_id[stored.message_id] = stored
        self._sent.append(stored)
        self._notify(BotEvent("message", chat.id, stored.message_id, stored))
        return message

    def _notify(self, event: BotEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("FakeBotApi listener failed on %s", event.kind)

    def _send_message(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat = self._resolve_chat(params, for_sending=True)
        text, entities, html_text = self._formatted(params, "text", "entities", caption=False)
        keyboard, reply_keyboard, markup = self._parse_reply_markup(params.get("reply_markup"))
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._post_message(
            chat,
            "text",
            content,
            params,
            text=text,
            entities=entities,
            html_text=html_text,
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            markup=markup,
        )

    def _target_message(self, params: JSONDict, action: str) -> tuple[FakeChat, ChatMessage]:
        if params.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        try:
            message_id = int(params.get("message_id", 0))
        except (TypeError, ValueError):
            message_id = 0
        message = chat.by_id.get(message_id)
        if message is None or message.deleted:
            raise _bad_request(f"message to {action} not found")
        return chat, message

    def _apply_edit(self, chat: FakeChat, old: ChatMessage, new: ChatMessage) -> JSONDict:
        if (new.text, new.entities, new.keyboard) == (old.text, old.entities, old.keyboard):
            raise _bad_request(NOT_MODIFIED)
        new.edited = True
        new.raw["edit_date"] = int(self._wallclock())
        chat.by_id[new.message_id] = new
        self._notify(BotEvent("edit", chat.id, new.message_id, new))
        return new.raw

    def _edited_raw(
        self,
        old: ChatMessage,
        text_key: str,
        text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
    ) -> JSONDict:
        raw = {k: v for k, v in old.raw.items() if k not in ("reply_markup", "edit_date")}
        entities_key = "entities" if text_key == "text" else "caption_entities"
        raw.pop(entities_key, None)
        if text is not None:
            raw[text_key] = text
            if entities:
                raw[entities_key] = entities
        if markup is not None:
            raw["reply_markup"] = markup
        return raw

    def _edit_message_text(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat, old = self._target_message(params, "edit")
        if not old.from_bot:
            raise _bad_request("message can't be edited")
        if old.kind != "text":
            raise _bad_request("there is no text in the message to edit")
        text, entities, html_text = self._formatted(params, "text", "entities", caption=False)
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        keyboard, _, markup = self._parse_reply_markup(params.get("reply_markup"))
        raw = self._edited_raw(old, "text", text, entities, markup)
        new = replace(old, text=text, entities=entities, html=html_text, keyboard=keyboard, raw=raw)
        return self._apply_edit(chat, old, new)

    def _edit_message_caption(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat, old = self._target_message(params, "edit")
        if not old.from_bot:
            raise _bad_request("message can't be edited")
        if old.kind == "text":
            raise _bad_request("there is no caption in the message to edit")
        text, entities, html_text = self._formatted(params, "caption", "caption_entities", caption=True)
        keyboard, _, markup = self._parse_reply_markup(params.get("reply_markup"))
        raw = self._edited_raw(old, "caption", text or None, entities, markup)
        if not text:
            raw.pop("caption", None)
        new = replace(old, text=text or None, entities=entities, html=html_text, keyboard=keyboard, raw=raw)
        return self._apply_edit(chat, old, new)

    def _edit_message_reply_markup(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat, old = self._target_message(params, "edit")
        if not old.from_bot:
            raise _bad_request("message can't be edited")
        keyboard, _, markup = self._parse_reply_markup(params.get("reply_markup"))
        raw = {k: v for k, v in old.raw.items() if k not in ("reply_markup", "edit_date")}
        if markup is not None:
            raw["reply_markup"] = markup
        new = replace(old, keyboard=keyboard, raw=raw)
        return self._apply_edit(chat, old, new)

    def _delete_message(self, params: JSONDict, files: dict[str, Any]) -> bool:
        chat, message = self._target_message(params, "delete")
        gone = replace(message, deleted=True)
        chat.by_id[message.message_id] = gone
        self._notify(BotEvent("delete", chat.id, message.message_id, gone))
        return True

    def _pin_chat_message(self, params: JSONDict, files: dict[str, Any]) -> bool:
        """Like Telegram: the message has to be there; pinning a pinned one again is fine (it moves to the top);
        in private chats a bot may pin without being an admin. Pins are not messages: no flood-limit count."""
        chat, message = self._target_message(params, "pin")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if message.message_id in chat.pinned:
            chat.pinned.remove(message.message_id)
        chat.pinned.append(message.message_id)
        return True

    def _unpin_chat_message(self, params: JSONDict, files: dict[str, Any]) -> bool:
        """Without ``message_id``, the latest pin; a message that is not pinned (or is gone) is "not found"."""
        chat = self._resolve_chat(params)
        raw = params.get("message_id")
        message_id = int(raw) if raw is not None else (chat.pinned[-1] if chat.pinned else 0)
        if message_id not in chat.pinned:
            raise _bad_request("message to unpin not found")
        chat.pinned.remove(message_id)
        return True

    def _answer_callback_query(self, params: JSONDict, files: dict[str, Any]) -> bool:
        record = self._callback_queries.get(str(params.get("callback_query_id", "")))
        if record is None or record.answered:
            raise _bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer_text = None if text is None else str(text)
        record.show_alert = bool(params.get("show_alert"))
        return True

    # ---- files -------------------------------------------------------------------------------------------

    def _store_file(self, content: bytes, filename: str | None, mime_type: str | None, folder: str) -> _StoredFile:
        number = next(self._file_ids)
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        elif mime_type == "image/jpeg":
            suffix = ".jpg"
        stored = _StoredFile(
            file_id=f"BQACAgQAAxkBAAI{number:06d}fake",
            unique_id=f"AgAD{number:06d}",
            path=f"{folder}/file_{number}{suffix}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _document_dict(stored: _StoredFile) -> JSONDict:
        data: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.content),
        }
        if stored.filename:
            data["file_name"] = stored.filename
        if stored.mime_type:
            data["mime_type"] = stored.mime_type
        return data

    def _input_file(self, params: JSONDict, files: dict[str, Any], key: str, limit: int) -> _StoredFile:
        """The file for ``key``: an upload (multipart), an attach:// reference, or a known file_id."""
        value = params.get(key)
        part = None
        if value is None:
            part = files.get(key)
        elif isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value[len("attach://") :])
        if part is not None:
            filename, content, mime_type = part
            if not isinstance(content, bytes):
                content = content.read()
            if len(content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            if not content:
                raise _bad_request("file must be non-empty")
            return self._store_file(content, filename, mime_type, "documents" if key == "document" else "photos")
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _send_document(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat = self._resolve_chat(params, for_sending=True)
        stored = self._input_file(params, files, "document", MAX_UPLOAD_BYTES)
        caption, entities, html_text = self._formatted(params, "caption", "caption_entities", caption=True)
        keyboard, reply_keyboard, markup = self._parse_reply_markup(params.get("reply_markup"))
        content: JSONDict = {"document": self._document_dict(stored)}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        document = FakeDocument(
            stored.file_id,
            stored.filename or "document",
            stored.content,
            stored.mime_type or "application/octet-stream",
            caption or None,
        )
        message = self._post_message(
            chat,
            "document",
            content,
            params,
            text=caption or None,
            entities=entities,
            html_text=html_text if caption else None,
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            markup=markup,
            document=document,
        )
        self._documents.setdefault(chat.id, []).append(document)
        return message

    def _send_photo(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat = self._resolve_chat(params, for_sending=True)
        stored = self._input_file(params, files, "photo", MAX_PHOTO_UPLOAD_BYTES)
        caption, entities, html_text = self._formatted(params, "caption", "caption_entities", caption=True)
        keyboard, reply_keyboard, markup = self._parse_reply_markup(params.get("reply_markup"))
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "width": 800,
            "height": 600,
            "file_size": len(stored.content),
        }
        content: JSONDict = {"photo": [size]}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        document = FakeDocument(
            stored.file_id, stored.filename or "photo.jpg", stored.content, stored.mime_type or "image/jpeg"
        )
        return self._post_message(
            chat,
            "photo",
            content,
            params,
            text=caption or None,
            entities=entities,
            html_text=html_text if caption else None,
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            markup=markup,
            document=document,
        )

    def _get_file(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.content),
            "file_path": stored.path,
        }

    def _download(self, path: str) -> tuple[int, bytes]:
        """Answer a file download URL (``{base_file_url}{token}/{file_path}``, whatever the base)."""
        if f"{self.token}/" in path:
            for stored in self._files.values():
                if path.endswith("/" + stored.path):
                    return 200, stored.content
        return 404, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()

    # ---- other methods -------------------------------------------------------------------------------------

    def _send_location(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        chat = self._resolve_chat(params, for_sending=True)
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise _bad_request("wrong latitude or longitude specified") from None
        if not -90 <= latitude <= 90:
            raise _bad_request("wrong latitude specified")
        if not -180 <= longitude <= 180:
            raise _bad_request("wrong longitude specified")
        keyboard, reply_keyboard, markup = self._parse_reply_markup(params.get("reply_markup"))
        return self._post_message(
            chat,
            "location",
            {"location": {"latitude": latitude, "longitude": longitude}},
            params,
            text=None,
            entities=[],
            html_text=None,
            keyboard=keyboard,
            reply_keyboard=reply_keyboard,
            markup=markup,
            location=(latitude, longitude),
        )

    def _send_chat_action(self, params: JSONDict, files: dict[str, Any]) -> bool:
        self._resolve_chat(params, for_sending=True)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _command_key(self, scope: Any, language_code: str) -> tuple[str, str]:
        if scope is not None and hasattr(scope, "to_dict"):
            scope = scope.to_dict()
        if isinstance(scope, str):
            scope = json.loads(scope)
        if not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), language_code

    def _checked_command_key(self, params: JSONDict) -> tuple[str, str]:
        language_code = params.get("language_code") or ""
        if language_code and not _LANGUAGE_RE.fullmatch(str(language_code)):
            raise _bad_request("invalid language code specified")
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        if scope.get("type") not in _SCOPE_TYPES:
            raise _bad_request("unsupported bot command scope type")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._resolve_chat({"chat_id": scope.get("chat_id")})
        return self._command_key(scope, str(language_code))

    def _set_my_commands(self, params: JSONDict, files: dict[str, Any]) -> bool:
        key = self._checked_command_key(params)
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = json.loads(commands)
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        parsed: list[tuple[str, str]] = []
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name, description))
        if parsed:
            self._commands[key] = parsed
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict, files: dict[str, Any]) -> list[JSONDict]:
        key = self._checked_command_key(params)
        return [{"command": c, "description": d} for c, d in self._commands.get(key, [])]

    def _delete_my_commands(self, params: JSONDict, files: dict[str, Any]) -> bool:
        self._commands.pop(self._checked_command_key(params), None)
        return True

    def _set_webhook(self, params: JSONDict, files: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending_updates.clear()
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        self.webhook_url = url
        self.webhook_secret_token = str(secret) if secret and url else None
        self._wake_pollers()
        return True

    def _delete_webhook(self, params: JSONDict, files: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._pending_updates.clear()
        self.webhook_url = ""
        self.webhook_secret_token = None
        return True

    def _get_webhook_info(self, params: JSONDict, files: dict[str, Any]) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    # ---- long polling --------------------------------------------------------------------------------------

    def release_pollers(self) -> None:
        """Make every waiting getUpdates return now with what it has (e.g. before stopping an HTTP
        front-end that would otherwise wait for the long polls to time out)."""
        self._release_generation += 1
        self._wake_pollers()

    def _wake_pollers(self) -> None:
        for waiter in list(self._poll_waiters):
            if not waiter.done():
                waiter.set_result(None)

    def _deliverable(self, limit: int) -> list[JSONDict]:
        allowed = self._allowed_updates
        batch = [u for u in self._pending_updates if not allowed or any(key in u for key in allowed)]
        return batch[:limit]

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._pending_updates = self._pending_updates[offset:]
            else:
                self._pending_updates = [u for u in self._pending_updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        if not 1 <= limit <= 100:
            limit = 100
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        timeout = params.get("timeout") or 0
        timeout = float(timeout)

        # A newer getUpdates request ends an older one still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        released = self._release_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            waiter: asyncio.Future[None] = loop.create_future()
            self._poll_waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                self._poll_waiters.discard(waiter)
                if not waiter.done():
                    waiter.cancel()
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self.webhook_url:
                return []
            if released != self._release_generation:
                return self._deliverable(limit)
