"""After Send, only the status message is left of the draft: the earlier steps lose their Cancel button, which
would read as if it could still stop the text that went out."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from outbound.dispatch_wiring import Sinks
from outbound.sms_recording import RecordingSmsSender
from tests.bot.test_messaging_flow import PHONE, _member, _show_card, _until, messaging_bot
from tests.support.bot_harness import ADMIN_ID


async def test_no_cancel_is_left_once_the_sms_is_sent(engine: AsyncEngine, clock: ManualClock) -> None:
    sms = RecordingSmsSender()
    async with messaging_bot(engine, clock, Sinks(sms=sms)) as bot:
        bot.user(ADMIN_ID, "Ada")
        mei, manager = await _member(bot, 2003, "Mei", "manager")
        acme = await bot.services.customers.customers.create(manager, CustomerDraft(name="Acme", phones=(PHONE,)))
        await _show_card(bot, mei, manager, acme.id)
        chat = bot.api.chat(mei.user.id)
        await mei.press("📱 Send SMS")
        assert [b.text for b in mei.last.buttons] == ["Cancel"]
        await mei.text_of("See you tomorrow at 3")
        assert [b.text for b in mei.last.buttons] == ["✅ Send", "Cancel"]
        await mei.press("✅ Send")
        status = mei.last
        assert "queued" in (status.text or "")

        def cancels() -> list[int]:
            return [m.message_id for m in chat.bot_messages if any(b.text == "Cancel" for b in chat.by_id[
                m.message_id].buttons)]

        assert cancels() == []
        assert chat.by_id[status.message_id].buttons == []

        async def sent() -> bool:
            return "sent" in (chat.by_id[status.message_id].text or "")

        await _until(bot, sent)
        assert cancels() == [] and sms.bodies_to(PHONE) == ["See you tomorrow at 3"]

