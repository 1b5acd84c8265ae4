"""outbound.telegram_send over the Bot API fake: what PTB's send_message / edit_message_text did, without PTB
objects."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest
from telegram.ext import ExtBot

from bot.rate_limit import TelegramRateLimiter
from outbound.telegram_send import Sent, edit_html, inline_keyboard, send_html
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:telegram-send-test"


async def _bot(api: FakeBotApi) -> ExtBot[int]:  # int: TelegramRateLimiter's rate-limit argument type
    bot: ExtBot[int] = ExtBot(TOKEN, request=api, get_updates_request=api.updates_request(),
                               rate_limiter=TelegramRateLimiter())
    await bot.initialize()
    return bot


async def test_send_and_edit_a_card_with_buttons() -> None:
    api = FakeBotApi(token=TOKEN)
    rep = api.add_user(7001, "Rep")
    bot = await _bot(api)
    try:
        sent = await send_html(bot, rep.id, "<b>王大明</b> &amp; Co", [[("📝 Log", "fu:log:customer:1")], [],
                                                                      [("✏️ Edit", "cu:edit:1"), ("⋯", "cu:more:1")]])
        shown = api.last_message(rep)
        assert sent == Sent(rep.id, shown.message_id)
        assert shown.text == "王大明 & Co" and shown.html == "<b>王大明</b> &amp; Co"
        assert shown.reply_markup == [[("📝 Log", "fu:log:customer:1")],
                                      [("✏️ Edit", "cu:edit:1"), ("⋯", "cu:more:1")]]  # empty rows dropped
        call = api.calls_to("sendMessage")[-1]
        assert call.params["link_preview_options"] == {"is_disabled": True}

        edited = await edit_html(bot, rep.id, shown.message_id, "<i>done</i>")
        assert edited == sent
        after = api.last_message(rep)
        assert after.edited and after.text == "done" and after.reply_markup == []
        with pytest.raises(BadRequest, match="not modified"):  # the same error PTB's edit_message_text gives
            await edit_html(bot, rep.id, shown.message_id, "<i>done</i>")
        with pytest.raises(BadRequest, match="parse entities"):
            await send_html(bot, rep.id, "<b>unclosed")
    finally:
        await bot.shutdown()


def test_no_rows_means_no_keyboard() -> None:
    assert inline_keyboard([]) is None
    assert inline_keyboard([[], []]) is None
    assert inline_keyboard([[("A", "a")]]) == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
