"""The customer card as a rep finds it: Send SMS / e-mail / fax behind the card's Send… button, and what was sent to the
customer (with its delivery status) on the card itself."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from outbound.dispatch_wiring import Sinks
from outbound.sms_recording import RecordingSmsSender
from tests.bot.test_messaging_flow import PHONE, _member, _show_card, _until, messaging_bot
from tests.support.bot_harness import ADMIN_ID


async def test_card_offers_sending_and_shows_what_was_sent(engine: AsyncEngine, clock: ManualClock) -> None:
    sms = RecordingSmsSender()
    async with messaging_bot(engine, clock, Sinks(sms=sms)) as bot:
        bot.user(ADMIN_ID, "Ada")
        mia, manager = await _member(bot, 2003, "Mia", "manager")
        await bot.services.customers.customers.create(manager, CustomerDraft(name="Acme Trading", phones=(PHONE,)))

        card = await mia.text_of("0912 345 678")  # typing the number opens the card
        assert "Acme Trading" in card
        assert "✉️ Send…" in mia.labels() and "📱 Send SMS" not in mia.labels()  # the card stays short
        await mia.press("✉️ Send…")  # the channels, in place of the card's buttons
        assert "Acme Trading" in (mia.last.text or "")
        assert mia.labels() == ["📱 Send SMS", "✉️ Send e-mail", "📠 Send fax", "« Back"]
        await mia.press("« Back")
        assert "✉️ Send…" in mia.labels() and "Acme Trading" in (mia.last.text or "")
        await mia.press("✉️ Send…")
        await mia.press("📱 Send SMS")
        await mia.send("Your samples ship tomorrow")
        await mia.press(next(label for label in mia.labels() if "Send" in label and "SMS" not in label))
        status = mia.last

        async def sent() -> bool:
            return "sent" in (bot.api.chat(mia.user.id).message(status.message_id).text or "").lower()

        await _until(bot, sent)
        assert sms.bodies_to(PHONE) == ["Your samples ship tomorrow"]

        card = await mia.text_of("0912 345 678")
        sent_part = card.split("Messages sent", 1)[1]
        assert "+886912345678" in sent_part and "sent" in sent_part and "Your samples ship tomorrow" in sent_part


async def test_an_sms_from_a_template_is_filled_for_the_customer(engine: AsyncEngine, clock: ManualClock) -> None:
    sms = RecordingSmsSender()
    async with messaging_bot(engine, clock, Sinks(sms=sms)) as bot:
        bot.user(ADMIN_ID, "Ada")
        mia, manager = await _member(bot, 2003, "Mia", "manager")
        await bot.services.customers.customers.create(manager, CustomerDraft(name="Acme Trading", phones=(PHONE,)))
        template = await bot.services.messaging.campaigns.create_template(manager, "Order ready")
        await bot.services.messaging.campaigns.set_body(manager, template.id, "en", "Hi {name}, your order is ready.")

        await mia.send("0912 345 678")
        await mia.press("✉️ Send…")
        await mia.press("📱 Send SMS")
        assert "📝 Order ready" in mia.labels()
        await mia.press("📝 Order ready")
        assert "Hi Acme Trading, your order is ready." in (mia.last.text or "")
        await mia.press(next(label for label in mia.labels() if "Send" in label and "SMS" not in label))

        async def sent() -> bool:
            return sms.bodies_to(PHONE) == ["Hi Acme Trading, your order is ready."]

        await _until(bot, sent)


async def test_the_send_menu_is_only_for_records_in_scope(engine: AsyncEngine, clock: ManualClock) -> None:
    async with messaging_bot(engine, clock, Sinks(sms=RecordingSmsSender())) as bot:
        bot.user(ADMIN_ID, "Ada")
        mia, rep = await _member(bot, 2002, "Ned", "rep")
        _, sue = await _member(bot, 2006, "Sue", "rep")
        theirs = await bot.services.customers.customers.create(sue, CustomerDraft(name="Sue's customer"))
        mine = await bot.services.customers.customers.create(rep, CustomerDraft(name="Acme Trading", phones=(PHONE,)))
        await _show_card(bot, mia, rep, mine.id)  # a message with buttons to press on
        for forged in (f"ms:pick:customer:{theirs.id}", "ms:pick:customer:999999", "ms:pick:planet:1", "ms:pick:x"):
            before = len(bot.api.chat(mia.user.id).bot_messages)
            await bot.api.deliver(bot.app, bot.api.press(mia.user, None, forged, forged=True, enqueue=False))
            text = bot.api.calls_to("answerCallbackQuery")[-1].params.get("text") or ""
            assert "Not found" in text or "out of date" in text
            assert all("Sue's customer" not in (m.text or "") for m in bot.api.chat(mia.user.id).bot_messages[before:])


async def test_a_lead_card_sends_too_and_back_returns_to_the_same_message(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with messaging_bot(engine, clock, Sinks(sms=RecordingSmsSender())) as bot:
        bot.user(ADMIN_ID, "Ada")
        mia, manager = await _member(bot, 2003, "Mia", "manager")
        await bot.services.customers.leads.create(manager, "Lin Wei", phone_list=(PHONE,))
        await mia.text_of("0912 345 678")  # the lead's card
        card = mia.last
        assert "Lin Wei" in (card.text or "") and "✉️ Send…" in mia.labels()
        await mia.press("✉️ Send…")
        assert mia.last.message_id == card.message_id and "📱 Send SMS" in mia.labels()
        await mia.press("« Back")
        assert mia.last.message_id == card.message_id and "Lin Wei" in (mia.last.text or "")
        assert "✉️ Send…" in mia.labels()
