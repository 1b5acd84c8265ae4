"""The in-process Bot API fake, exercised through the real PTB Bot/Application: each Telegram rule it
enforces surfaces as the exception PTB raises against the real server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import selectors
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from unittest.mock import patch

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import BotEvent, FakeBotApi, FakeUser

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Log", callback_data="log"), InlineKeyboardButton("Follow-up", callback_data="fu")],
            [InlineKeyboardButton("Site", url="https://example.com/crm")],
        ]
    )


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the main menu."""
    assert update.effective_message is not None and update.effective_user is not None
    payload = f" ({context.args[0]})" if context.args else ""
    await update.effective_message.reply_html(
        f"Hi <b>{update.effective_user.first_name}</b>{payload}", reply_markup=menu()
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press, then show the choice in place of the menu."""
    query = update.callback_query
    assert query is not None
    if query.data == "silent":
        return  # deliberately left unanswered
    await query.answer(f"chose {query.data}")
    await query.edit_message_text(f"You chose <i>{query.data}</i>", parse_mode="HTML")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Count the rows of an uploaded CSV."""
    message = update.effective_message
    assert message is not None and message.document is not None
    data = await (await message.document.get_file()).download_as_bytearray()
    rows = bytes(data).decode("utf-8").strip().splitlines()
    await message.reply_text(f"{len(rows)} rows, first: {rows[0]}")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo."""
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


def add_handlers(app: AnyApp) -> None:
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeBotApi:
    return FakeBotApi(clock=clock)


@pytest.fixture
def alice(api: FakeBotApi) -> FakeUser:
    return api.add_user(1001, "Alice", "Chen", username="alice_chen")


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[AnyApp]:
    application = api.application_builder().build()
    add_handlers(application)
    await application.initialize()
    yield application
    await application.shutdown()


def pressable(api: FakeBotApi, user: FakeUser) -> int:
    return api.last_message(user.id).message_id


# ---- basics --------------------------------------------------------------------------------------------


async def test_initialize_uses_get_me_and_both_request_objects_share_state(api: FakeBotApi, app: AnyApp) -> None:
    assert app.bot.username == "crm_test_bot"
    assert app.bot.id == api.bot_id
    assert api.updates_request() is not api
    await app.bot.get_updates(timeout=0)  # goes through the second request object
    assert [c.method for c in api.calls] == ["getMe", "getUpdates"]
    # initialize/shutdown are idempotent
    await api.initialize()
    await api.shutdown()
    await api.updates_request().shutdown()
    assert (await app.bot.get_me()).username == "crm_test_bot"


async def test_a_command_and_an_echo_produce_realistic_messages(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    start = api.text(alice, "/start campaign_42", enqueue=False)
    assert start["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    await api.deliver(app, start)
    await api.deliver(app, api.text(alice, "hello 👋", enqueue=False))

    greeting, echo = api.sent_messages(alice.id)
    assert greeting.text == "Hi Alice (campaign_42)"
    assert greeting.html == "Hi <b>Alice</b> (campaign_42)"
    assert greeting.entities == [{"type": "bold", "offset": 3, "length": 5}]
    assert greeting.reply_markup == [[("Log", "log"), ("Follow-up", "fu")], [("Site", "https://example.com/crm")]]
    assert echo.text == "echo: hello 👋"
    # message ids count up per chat, the user's messages included
    assert [m.message_id for m in api.chat(alice.id).messages] == [1, 2, 3, 4]
    assert [m.from_bot for m in api.chat(alice.id).messages] == [False, True, False, True]
    assert api.last_message(alice.id) is api.chat(alice.id).messages[-1]


async def test_command_addressed_to_the_bot_by_name(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    update = api.text(alice, "/start@crm_test_bot", enqueue=False)
    assert update["message"]["entities"][0]["length"] == len("/start@crm_test_bot")
    await api.deliver(app, update)
    assert api.last_message(alice.id).text == "Hi Alice"


async def test_the_sent_message_is_a_real_ptb_message(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    sent = await app.bot.send_message(alice.id, "<b>Acme</b> &amp; co", parse_mode="HTML", reply_markup=menu())
    assert sent.from_user is not None and sent.from_user.id == api.bot_id and sent.from_user.is_bot
    assert sent.chat.id == alice.id and sent.chat.type == "private" and sent.chat.username == "alice_chen"
    assert sent.text == "Acme & co"
    assert sent.entities == (MessageEntity("bold", 0, 4),)
    assert sent.reply_markup == menu()
    assert abs(sent.date.timestamp() - dtm.datetime.now(dtm.UTC).timestamp()) < 5


async def test_unknown_method_and_wrong_token(api: FakeBotApi, app: AnyApp) -> None:
    with pytest.raises(Exception, match=r"not found"):
        await app.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert api.calls[-1].error == "Not Found: method not found"
    stranger = ExtBot("999:other-token", request=api, get_updates_request=api.updates_request())
    with pytest.raises(InvalidToken):
        await stranger.get_me()


async def test_listeners_see_messages_edits_and_deletions(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    events: list[BotEvent] = []
    unsubscribe = api.subscribe(events.append)
    sent = await app.bot.send_message(alice.id, "one")
    await app.bot.edit_message_text("two", chat_id=alice.id, message_id=sent.message_id)
    await app.bot.delete_message(alice.id, sent.message_id)
    unsubscribe()
    await app.bot.send_message(alice.id, "unseen")
    assert [(e.kind, e.message.text) for e in events] == [("message", "one"), ("edit", "two"), ("delete", "two")]
    assert [m.text for m in api.chat(alice.id).messages] == ["unseen"]
    assert [m.text for m in api.sent_messages(alice.id)] == ["one", "unseen"]  # as sent, not as edited


# ---- text limits and HTML ---------------------------------------------------------------------------------


async def test_text_length_is_counted_after_entity_parsing_in_utf16_units(app: AnyApp, alice: FakeUser) -> None:
    bot = app.bot
    await bot.send_message(alice.id, "x" * 4096)
    await bot.send_message(alice.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags don't count
    await bot.send_message(alice.id, "&lt;" * 4096, parse_mode="HTML")  # an entity is one character
    await bot.send_message(alice.id, "客" * 4096)  # BMP: one unit each
    await bot.send_message(alice.id, "😀" * 2048)  # outside the BMP: two units each
    for too_long in ("x" * 4097, "😀" * 2049):
        with pytest.raises(BadRequest, match=r"^Message is too long$"):
            await bot.send_message(alice.id, too_long)
    for empty in ("", "   \n ", "<b> </b>"):
        with pytest.raises(BadRequest, match=r"^Message text is empty$"):
            await bot.send_message(alice.id, empty, parse_mode="HTML")


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("if a < b then", 'unsupported start tag "" at byte offset 5'),
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("line<br>break", 'unsupported start tag "br" at byte offset 4'),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", "unclosed start tag at byte offset 0"),
        ("客<b>", 'can\'t find end tag corresponding to start tag "b"'),
        ("R&D team", 'unescaped "&" at byte offset 1'),
        ('<a href="https://x.com/?a=1&b=2">x</a>', 'unescaped "&" at byte offset 27'),
    ],
)
async def test_invalid_html_is_rejected_like_telegram(app: AnyApp, alice: FakeUser, html: str, error: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await app.bot.send_message(alice.id, html, parse_mode="HTML")
    assert caught.value.message.lower().startswith(f"can't parse entities: {error}".lower())


async def test_supported_html_becomes_entities(app: AnyApp, alice: FakeUser) -> None:
    html = (
        '😀 <b>bold <i>both</i></b> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> <span class="tg-spoiler">x</span> '
        '<a href="https://example.com">link</a> <code>c</code> <pre><code class="language-python">p = 1</code></pre> '
        "<blockquote expandable>q</blockquote> &quot;&#65;&#x42;&amp;&gt;"
    )
    sent = await app.bot.send_message(alice.id, html, parse_mode="HTML")
    assert sent.text == '😀 bold both u s sp x link c p = 1 q "AB&>'
    found = {(e.type, sent.parse_entity(e)): e for e in sent.entities}
    assert set(found) == {
        ("bold", "bold both"),
        ("italic", "both"),
        ("underline", "u"),
        ("strikethrough", "s"),
        ("spoiler", "sp"),
        ("spoiler", "x"),
        ("text_link", "link"),
        ("code", "c"),
        ("pre", "p = 1"),
        ("expandable_blockquote", "q"),
    }
    assert found[("bold", "bold both")].offset == 3  # the emoji is two UTF-16 units
    assert found[("text_link", "link")].url == "https://example.com/"
    assert found[("pre", "p = 1")].language == "python"


async def test_lenient_mode_keeps_a_bare_ampersand_like_telegram(alice: FakeUser) -> None:
    lenient = FakeBotApi(strict=False)
    lenient.add_user(alice.id, alice.first_name)
    app = lenient.application_builder().build()
    async with app:
        sent = await app.bot.send_message(alice.id, "R&D &amp co &ampersand", parse_mode="HTML")
    assert sent.text == "R&D & co &ampersand"


# ---- inline keyboards ---------------------------------------------------------------------------------------


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


async def test_callback_data_is_limited_to_64_bytes(app: AnyApp, alice: FakeUser) -> None:
    for fine in ("x" * 64, "客" * 21):  # 21 CJK characters are 63 bytes
        await app.bot.send_message(alice.id, "ok", reply_markup=keyboard(InlineKeyboardButton("b", callback_data=fine)))
    for bad in ("x" * 65, "客" * 22, ""):
        with pytest.raises(BadRequest, match=r"(?i)^button_data_invalid$"):
            await app.bot.send_message(
                alice.id, "no", reply_markup=keyboard(InlineKeyboardButton("b", callback_data=bad))
            )


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        (keyboard(InlineKeyboardButton("", callback_data="x")), "button_text_invalid"),
        (keyboard(InlineKeyboardButton("just text")), "text buttons are unallowed in the inline keyboard"),
        (keyboard(InlineKeyboardButton("two", callback_data="x", url="https://a.com")), "exactly one"),
        (keyboard(InlineKeyboardButton("u", url="not a url")), "is invalid: wrong http url"),
        (keyboard(InlineKeyboardButton("u", url="http://localhost:8000/x")), "is invalid: wrong http url"),
        (keyboard(InlineKeyboardButton("u", url="ftp://files.example.com")), "unsupported url protocol"),
        (
            InlineKeyboardMarkup([[InlineKeyboardButton(str(n), callback_data=str(n))] for n in range(101)]),
            "reply markup is too long",
        ),
    ],
)
async def test_invalid_inline_keyboards_are_rejected(
    app: AnyApp, alice: FakeUser, markup: InlineKeyboardMarkup, error: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await app.bot.send_message(alice.id, "menu", reply_markup=markup)
    assert error in caught.value.message.lower()


async def test_a_hundred_buttons_are_fine(app: AnyApp, alice: FakeUser) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(str(n), callback_data=str(n))] for n in range(100)])
    await app.bot.send_message(alice.id, "menu", reply_markup=markup)


# ---- edits and deletions ---------------------------------------------------------------------------------------


async def test_edit_and_delete_rules(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    bot = app.bot
    sent = await bot.send_message(alice.id, "<b>Pick</b>", parse_mode="HTML", reply_markup=menu())
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=999)
    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message content and reply markup"):
        await bot.edit_message_text(
            "<b>Pick</b>", chat_id=alice.id, message_id=sent.message_id, parse_mode="HTML", reply_markup=menu()
        )
    # same text but different formatting is a modification
    await bot.edit_message_text("Pick", chat_id=alice.id, message_id=sent.message_id, reply_markup=menu())
    # like Telegram, editing the text without reply_markup drops the keyboard
    edited = await bot.edit_message_text("Picked", chat_id=alice.id, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.reply_markup is None and edited.edit_date is not None
    current = api.chat(alice.id).message(sent.message_id)
    assert (current.text, current.edited, current.keyboard) == ("Picked", True, [])
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id, reply_markup=menu())
    assert api.chat(alice.id).message(sent.message_id).reply_markup[0] == [("Log", "log"), ("Follow-up", "fu")]
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(alice.id, 999)
    assert await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(LookupError):
        api.last_message(alice.id)


# ---- callback queries ---------------------------------------------------------------------------------------


async def test_presses_are_answered_and_tracked(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    await api.deliver(app, api.text(alice, "/start", enqueue=False))
    menu_id = pressable(api, alice)
    press = api.press_button(alice, menu_id, "Follow-up", enqueue=False)
    assert press["callback_query"]["data"] == "fu"
    assert press["callback_query"]["message"]["message_id"] == menu_id
    await api.deliver(app, press)
    assert api.unanswered_callback_queries() == []
    answered = api.callback_query(press["callback_query"]["id"])
    assert answered.answer_text == "chose fu"
    assert api.last_message(alice.id).html == "You chose <i>fu</i>"

    with pytest.raises(BadRequest, match=r"^Query is too old and response timeout expired or query id is invalid$"):
        await app.bot.answer_callback_query(answered.id)  # already answered
    with pytest.raises(BadRequest, match=r"^Query is too old"):
        await app.bot.answer_callback_query("no-such-query")


async def test_an_unanswered_press_is_reported(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    await app.bot.send_message(alice.id, "?", reply_markup=keyboard(InlineKeyboardButton("Hm", callback_data="silent")))
    await api.deliver(app, api.press(alice, None, "silent", enqueue=False))
    [query] = api.unanswered_callback_queries()
    assert (query.data, query.user_id) == ("silent", alice.id)
    with pytest.raises(BadRequest, match=r"(?i)^message_too_long$"):
        await app.bot.answer_callback_query(query.id, text="x" * 201)
    await app.bot.answer_callback_query(query.id, text="x" * 200)
    assert api.unanswered_callback_queries() == []


async def test_pressing_a_button_that_is_not_there_fails_in_the_test(
    api: FakeBotApi, app: AnyApp, alice: FakeUser
) -> None:
    await app.bot.send_message(alice.id, "pick", reply_markup=menu())
    message_id = pressable(api, alice)
    with pytest.raises(LookupError, match=r"no button with callback_data 'delete'"):
        api.press(alice, message_id, "delete")
    with pytest.raises(LookupError, match=r"no button 'Delete'; its buttons are: \[1\] 'Log'"):
        api.press_button(alice, message_id, "Delete")
    with pytest.raises(LookupError, match=r"url button"):
        api.press_button(alice, message_id, 3)
    assert api.press_button(alice, message_id, 2, enqueue=False)["callback_query"]["data"] == "fu"
    with pytest.raises(LookupError):
        api.press(alice, 12345, "log")


# ---- chats ---------------------------------------------------------------------------------------------------


async def test_chat_not_found_and_blocked_users(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await app.bot.send_message(424242, "hello stranger")
    bob = api.add_user(2002, "Bob", started=False)  # known to the CRM, never opened the bot
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await app.bot.send_message(bob.id, "reminder")
    api.text(bob, "/start")
    await app.bot.send_message(bob.id, "reminder")
    api.block(alice)
    with pytest.raises(Forbidden, match=r"bot was blocked by the user"):
        await app.bot.send_message(alice.id, "still there?")
    api.block(alice, False)
    await app.bot.send_message(alice.id, "welcome back")


async def test_location_and_chat_action(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    sent = await app.bot.send_location(alice.id, latitude=25.0330, longitude=121.5654)
    assert sent.location is not None and sent.location.latitude == pytest.approx(25.033)
    assert api.last_message(alice.id).location == (25.0330, 121.5654)
    assert await app.bot.send_chat_action(alice.id, "typing")
    with pytest.raises(BadRequest, match=r"^Wrong parameter action in request$"):
        await app.bot.send_chat_action(alice.id, "dancing")


async def test_contact_location_photo_sticker_updates_parse_in_ptb(
    api: FakeBotApi, app: AnyApp, alice: FakeUser
) -> None:
    contact = api.as_update(api.contact(alice, "+886912345678", "Wang", "Xiaoming"), app.bot)
    assert contact.message is not None and contact.message.contact is not None
    assert (contact.message.contact.phone_number, contact.message.contact.last_name) == ("+886912345678", "Xiaoming")
    location = api.as_update(api.location(alice, 25.0330, 121.5654), app.bot)
    assert location.message is not None and location.message.location is not None
    photo = api.as_update(api.photo(alice, caption="shop front"), app.bot)
    assert photo.message is not None and len(photo.message.photo) == 3 and photo.message.caption == "shop front"
    sticker = api.as_update(api.sticker(alice), app.bot)
    assert sticker.message is not None and sticker.message.sticker is not None
    assert len(api.pending_updates()) == 4


# ---- files ---------------------------------------------------------------------------------------------------


async def test_documents_both_ways(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    csv = b"name,phone\nAcme,+886912345678\nGlobex,+886223456789\n"
    await api.deliver(app, api.document(alice, "customers.csv", csv, "text/csv", enqueue=False))
    assert api.last_message(alice.id).text == "3 rows, first: name,phone"

    sent = await app.bot.send_document(
        alice.id, b"%PDF-1.4 quote", filename="quote.pdf", caption="<b>Quote</b> Q-7", parse_mode="HTML"
    )
    assert sent.document is not None and sent.document.file_name == "quote.pdf" and sent.caption == "Quote Q-7"
    [document] = api.documents(alice.id)
    assert (document.filename, document.content, document.caption) == ("quote.pdf", b"%PDF-1.4 quote", "Quote Q-7")
    # the file_id can be sent again and downloaded
    again = await app.bot.send_document(alice.id, sent.document.file_id)
    assert again.document is not None
    assert await (await app.bot.get_file(sent.document.file_id)).download_as_bytearray() == bytearray(b"%PDF-1.4 quote")

    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await app.bot.send_document(alice.id, b"x", filename="a.txt", caption="c" * 1025)
    with pytest.raises(NetworkError, match=r"Request Entity Too Large"):
        await app.bot.send_document(alice.id, b"\0" * (50 * 1024 * 1024 + 1), filename="huge.bin")
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await app.bot.send_document(alice.id, "no-such-file-id")


async def test_downloads_work_with_a_custom_base_file_url(api: FakeBotApi, alice: FakeUser) -> None:
    app = api.application_builder().base_file_url("http://127.0.0.1:8081/file/bot").build()
    async with app:
        update = api.as_update(api.document(alice, "big.xlsx", b"PK\x03\x04 sheet", "application/zip"), app.bot)
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        assert file.file_path is not None and file.file_path.startswith("http://127.0.0.1:8081/file/bot")
        assert await file.download_as_bytearray() == bytearray(b"PK\x03\x04 sheet")
        too_big = api.as_update(api.document(alice, "huge.csv", b"x" * (20 * 1024 * 1024 + 1)), app.bot)
        assert too_big.message is not None and too_big.message.document is not None
        with pytest.raises(BadRequest, match=r"^File is too big$"):
            await too_big.message.document.get_file()


# ---- commands ---------------------------------------------------------------------------------------------------


async def test_commands_are_stored_per_scope_and_language(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    bot = app.bot
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("today", "Today's follow-ups")])
    await bot.set_my_commands([BotCommand("start", "開始"), BotCommand("today", "今日待辦")], language_code="zh")
    await bot.set_my_commands([BotCommand("admin", "Admin tools")], scope=BotCommandScopeChat(alice.id))

    assert api.commands() == [("start", "Start"), ("today", "Today's follow-ups")]
    assert api.commands("zh") == [("start", "開始"), ("today", "今日待辦")]
    assert api.commands(scope={"type": "chat", "chat_id": alice.id}) == [("admin", "Admin tools")]
    assert api.commands("fr") == []  # no fallback: exactly the stored scope + language
    zh = await bot.get_my_commands(language_code="zh")
    assert [c.description for c in zh] == ["開始", "今日待辦"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(alice.id))] == ["admin"]

    await bot.delete_my_commands(language_code="zh")
    assert api.commands("zh") == []
    assert api.commands() != []


@pytest.mark.parametrize(
    ("commands", "language_code", "error"),
    [
        ([BotCommand("Today", "d")], None, "bot_command_invalid"),
        ([BotCommand("/today", "d")], None, "bot_command_invalid"),
        ([BotCommand("x" * 33, "d")], None, "bot_command_invalid"),
        ([BotCommand("today", "")], None, "bot_command_description_invalid"),
        ([BotCommand("today", "d" * 257)], None, "bot_command_description_invalid"),
        ([BotCommand(f"c{n}", "d") for n in range(101)], None, "bot_commands_too_much"),
        ([BotCommand("today", "d")], "zh-TW", "invalid language code specified"),
        ([BotCommand("today", "d")], "ZH", "invalid language code specified"),
    ],
)
async def test_invalid_command_menus_are_rejected(
    app: AnyApp, commands: list[BotCommand], language_code: str | None, error: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await app.bot.set_my_commands(commands, language_code=language_code)
    assert caught.value.message.lower() == error


async def test_command_limits_at_the_edge_are_accepted(api: FakeBotApi, app: AnyApp) -> None:
    commands = [BotCommand(f"c_{n}" + "x" * 26, "d" * 256) for n in range(100)]
    assert len(commands[-1].command) == 30
    await app.bot.set_my_commands(commands, language_code="en")
    assert len(api.commands("en")) == 100


# ---- flood limits -------------------------------------------------------------------------------------------------


@pytest.fixture
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta, no deprecation


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_global_limit_answers_429_with_retry_after(api: FakeBotApi, app: AnyApp, clock: FakeClock) -> None:
    users = [api.add_user(5000 + n, f"U{n}") for n in range(31)]
    for user in users[:30]:
        await app.bot.send_message(user.id, "news")
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(users[30].id, "news")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert api.calls[-1].error == "Too Many Requests: retry after 1"
    clock.advance(0.5)
    with pytest.raises(RetryAfter):
        await app.bot.send_message(users[30].id, "news")
    clock.advance(0.5)
    await app.bot.send_message(users[30].id, "news")


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_group_limit_is_twenty_a_minute(api: FakeBotApi, app: AnyApp, clock: FakeClock) -> None:
    group = api.add_group("Sales team")
    for _ in range(20):
        await app.bot.send_message(group.id, "update")
        clock.advance(1.0)  # well under the global limit
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(group.id, "one too many")
    assert caught.value.retry_after == dtm.timedelta(seconds=40)
    clock.advance(40)
    await app.bot.send_message(group.id, "fine again")


async def test_private_chat_bursts_are_allowed_and_their_pace_recorded(
    api: FakeBotApi, app: AnyApp, alice: FakeUser, clock: FakeClock
) -> None:
    for n in range(5):
        await app.bot.send_message(alice.id, f"part {n}")
        clock.advance(0.1)
    times = api.send_times(alice.id)
    assert len(times) == 5 and times[-1] - times[0] == pytest.approx(0.4)


async def test_limits_can_be_switched_off(alice: FakeUser) -> None:
    api = FakeBotApi(global_limit=None, group_limit=None)
    group = api.add_group("Ops")
    app = api.application_builder().build()
    async with app:
        for _ in range(40):
            await app.bot.send_message(group.id, "spam")


@contextlib.contextmanager
def virtual_time(loop: asyncio.AbstractEventLoop) -> Iterator[Callable[[], float]]:
    """Run ``loop`` on a virtual clock: when nothing is ready, jump to the next timer instead of sleeping.
    Rate limiters, ``asyncio.sleep`` and the fake's clock (``loop.time``) then all agree, and a burst that
    takes seconds of Telegram time takes milliseconds of test time."""
    selector: selectors.BaseSelector = loop._selector  # type: ignore[attr-defined]
    real_select = selector.select
    now = [loop.time()]

    def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            return real_select(None)
        ready = real_select(0)
        if not ready:
            # Every turn of the loop costs a microsecond, as in real time: aiolimiter re-arms a timer
            # "now" when float rounding leaves it a hair short of capacity, and would spin forever.
            now[0] += max(timeout, 1e-6)
        return ready

    with patch.object(loop, "time", lambda: now[0]), patch.object(selector, "select", select):
        yield lambda: now[0]


def busiest_window(times: list[float], window: float = 1.0) -> int:
    return max(sum(1 for t in times if start <= t < start + window - 1e-6) for start in times)


@pytest.mark.parametrize(
    ("limiter", "expect_429"),
    [
        # PTB's defaults: a burst of 30, then 30/s. Against a strict sliding window that burst + refill
        # overshoots in the first second, so a few 429s are answered and retried after retry_after.
        (lambda: AIORateLimiter(max_retries=5), True),
        # Paced evenly at 30/s: never a 429.
        (lambda: AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 30, max_retries=0), False),
    ],
    ids=["ptb-defaults-with-retries", "evenly-paced"],
)
@pytest.mark.usefixtures("timedelta_retry_after")
async def test_aio_rate_limiter_gets_a_burst_of_100_through_at_30_per_second(
    limiter: Callable[[], AIORateLimiter], expect_429: bool
) -> None:
    loop = asyncio.get_running_loop()
    with virtual_time(loop) as now:
        api = FakeBotApi(clock=lambda: loop.time())
        users = [api.add_user(7000 + n, f"Rep {n}") for n in range(100)]
        app = api.application_builder().rate_limiter(limiter()).build()
        async with app:
            started = now()
            await asyncio.gather(*(app.bot.send_message(user.id, "Quarterly targets are out") for user in users))
            elapsed = now() - started
    sends = api.calls_to("sendMessage")
    delivered = [c.time for c in sends if c.error is None]
    assert len(delivered) == 100
    assert {m.chat_id for m in api.sent_messages()} == {u.id for u in users}
    assert busiest_window(delivered) <= 30
    assert elapsed >= 3.0  # 100 messages at 30/s need more than three seconds
    assert any(c.error for c in sends) == expect_429


# ---- long polling and webhooks -------------------------------------------------------------------------------------


async def wait_for(condition: Callable[[], bool], within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_long_polling_round_trip(api: FakeBotApi, alice: FakeUser) -> None:
    app = api.application_builder().build()
    add_handlers(app)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=5))
        api.text(alice, "ping")  # enqueued: the pending long poll wakes up
        await wait_for(lambda: any(m.text == "echo: ping" for m in api.sent_messages(alice.id)))
        api.text(alice, "pong")
        await wait_for(lambda: any(m.text == "echo: pong" for m in api.sent_messages(alice.id)))
        await app.updater.stop()
        await app.stop()
    assert api.pending_updates() == []  # confirmed through the offset on shutdown
    polls = api.calls_to("getUpdates")
    assert polls[0].params["timeout"] == 5 and any(c.params.get("offset") for c in polls)


async def test_get_updates_honours_offset_and_timeout(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    first = api.text(alice, "one")["update_id"]
    api.text(alice, "two")
    assert [u.update_id for u in await app.bot.get_updates(timeout=0)] == [first, first + 1]
    assert [u.update_id for u in await app.bot.get_updates(offset=first + 1, timeout=0)] == [first + 1]
    assert await app.bot.get_updates(offset=first + 2, timeout=0) == ()
    started = asyncio.get_running_loop().time()
    assert await app.bot.get_updates(offset=first + 2, timeout=0.2) == ()
    assert asyncio.get_running_loop().time() - started >= 0.19


async def test_get_updates_conflicts(api: FakeBotApi, app: AnyApp) -> None:
    waiting = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    assert await app.bot.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
        await waiting

    with pytest.raises(BadRequest, match=r"(?i)^bad webhook: an https url must be provided for webhook$"):
        await app.bot.set_webhook("http://crm.example.com/telegram")
    assert await app.bot.set_webhook("https://crm.example.com/telegram", secret_token="s3cret_token-1")
    assert api.webhook_secret_token == "s3cret_token-1"
    info = await app.bot.get_webhook_info()
    assert info.url == "https://crm.example.com/telegram"
    with pytest.raises(Conflict, match=r"can't use getUpdates method while webhook is active"):
        await app.bot.get_updates(timeout=0)
    assert await app.bot.delete_webhook(drop_pending_updates=True)
    assert (await app.bot.get_webhook_info()).url == ""
    assert await app.bot.close() and await app.bot.log_out()


async def test_release_pollers_ends_a_waiting_long_poll(api: FakeBotApi, app: AnyApp) -> None:
    waiting = asyncio.create_task(app.bot.get_updates(timeout=30))
    await asyncio.sleep(0.01)
    api.release_pollers()
    assert await asyncio.wait_for(waiting, 1) == ()


async def test_group_chats_take_updates_and_replies(api: FakeBotApi, app: AnyApp, alice: FakeUser) -> None:
    group = api.add_group("Sales team")
    await api.deliver(app, api.text(alice, "hello team", chat=group, enqueue=False))
    reply = api.last_message(group.id)
    assert reply.text == "echo: hello team"
    assert reply.raw["chat"] == {"id": group.id, "type": "group", "title": "Sales team"}
    assert api.chat(group.id).messages[0].sender_id == alice.id
