"""Bot API calls go as JSON bodies over HTTP (uploads as multipart), against the fake served on loopback."""

from __future__ import annotations

import json
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram_request import JsonHTTPXRequest
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_http import serve_bot_api

TOKEN = "123456789:json-request-test-token"


async def test_messages_go_as_utf8_json_and_uploads_as_forms() -> None:
    api = FakeBotApi(token=TOKEN, global_limit=None)
    alice = api.add_user(1000, "Alice")
    request = JsonHTTPXRequest()
    sent: list[tuple[str, bytes]] = []

    async with serve_bot_api(api) as base_url:
        from telegram.ext import Application

        app = Application.builder().token(TOKEN).base_url(base_url).request(request).build()
        async with app:
            client = request._client
            real = client.request

            async def recording(*args: Any, **kwargs: Any) -> Any:
                sent.append((kwargs.get("headers", {}).get("Content-Type", "form"), kwargs.get("content") or b""))
                return await real(*args, **kwargs)

            client.request = recording  # type: ignore[method-assign]
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("📝 記錄", callback_data="fu:log:customer:7")]])
            await app.bot.send_message(alice.id, "<b>台中化工物流</b> 有限公司", parse_mode="HTML", reply_markup=markup)
            await app.bot.send_document(alice.id, b"name,phone\nAcme,0912345678\n", filename="customers.csv")

    message = api.chat(alice.id).bot_messages[0]
    assert message.text == "台中化工物流 有限公司"
    assert message.reply_markup == [[("📝 記錄", "fu:log:customer:7")]]
    kinds = [kind for kind, _ in sent]
    assert kinds[-2:] == ["application/json", "form"]  # the upload goes PTB's multipart way
    body = json.loads([content for kind, content in sent if kind == "application/json"][-1])
    assert body["chat_id"] == alice.id and body["reply_markup"]["inline_keyboard"][0][0]["text"] == "📝 記錄"
    assert "台中化工物流".encode() in [content for kind, content in sent if kind == "application/json"][-1]
