"""The entity screen kit (handlers/core/screens.py) as customers and contacts use it, over the real Application:
a card, paged lists whose buttons stay within Telegram's 64 bytes with long Chinese names, an edit-a-field round
trip (typed and picked), delete → trash → restore, and forged presses refused by the services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from handlers.core.screens import MAX_CALLBACK_DATA
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

LONG_NAME = "臺灣積體電路製造股份有限公司新竹科學園區第十二廠區採購部門"  # 3 bytes a character in UTF-8


async def _admin(bot: BotHarness) -> tuple[Chatter, Any]:
    chatter = bot.user(ADMIN_ID, "Ada")
    await chatter.send("/start")
    return chatter, await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))


def _callback_data(bot: BotHarness, chatter: Chatter) -> list[str]:
    return [b.callback_data or "" for m in bot.api.chat(chatter.user.id).bot_messages for b in m.buttons]


async def test_card_and_edit_a_field_round_trip(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot)
        customer = await bot.services.customers.customers.create(actor, CustomerDraft(name="晶圓材料", region="台北"))
        contact = await bot.services.customers.contacts.add(actor, customer.id, "王小明", title="採購")

        await ada.send("晶圓材料")
        card = "\n".join(m.text or "" for m in await ada.press("🏢 晶圓材料"))
        assert "晶圓材料" in card and "台北" in card

        await ada.press(bot.t("en", "customers.btn_edit"))
        assert bot.t("en", "customers.edit_title", name="晶圓材料") in (ada.last.text or "")
        assert "Now: 台北" in "\n".join(m.text or "" for m in await ada.press("Region"))
        saved = await ada.text_of("新竹")
        assert bot.t("en", "customers.saved") in saved and "新竹" in saved

        await ada.press(bot.t("en", "customers.btn_edit"))
        await ada.press("Tier")
        picked = "\n".join(m.text or "" for m in await ada.press("Tier A"))
        assert bot.t("en", "customers.saved") in picked and "Tier A" in picked
        async with engine.connect() as conn:
            row = (await conn.execute(select(t.customers).where(t.customers.c.id == customer.id))).one()
        assert (row.region, row.tier) == ("新竹", "A")

        # The same menu for a contact: its own fields, its own prefix.
        await ada.press(f"👤 {contact.name} · 採購")
        await ada.press(bot.t("en", "customers.btn_edit"))
        assert [b.callback_data for b in ada.last.buttons][:4] == [
            f"ct:ef:{contact.id}:{f}" for f in ("name", "title", "phones", "email")]
        await ada.press("Job title")
        assert "王小明" in await ada.text_of("經理") and "經理" in (ada.last.text or "")


async def test_paged_lists_keep_callback_data_within_64_bytes(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot)
        ids = []
        for n in range(20):
            created = await bot.services.customers.customers.create(actor, CustomerDraft(name=f"{LONG_NAME}{n:02d}"),
                                                                    force=True)
            ids.append(created.id)
        for customer_id in ids[:10]:
            await bot.services.customers.customers.delete(actor, customer_id)

        first = await ada.send("/trash")
        assert "(page 1)" in (first[-1].text or "")
        await ada.press("▶️")
        assert "(page 2)" in (ada.last.text or "")
        await ada.press("◀️")
        await ada.send("/customers")
        await ada.press("▶️")
        data = _callback_data(bot, ada)
        assert data and any(d.startswith("cu:rst:") for d in data) and any(d.startswith("cu:trash:") for d in data)
        too_long = [d for d in data if len(d.encode()) > MAX_CALLBACK_DATA]
        assert not too_long, too_long
        assert not any(LONG_NAME[:4] in d for d in data)  # names are in labels, never in the data


async def test_delete_then_restore_from_trash(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot)
        customer = await bot.services.customers.customers.create(actor, CustomerDraft(name="Acme 華南"))
        await ada.send("Acme 華南")
        await ada.press("🏢 Acme 華南")
        await ada.press(bot.t("en", "customers.btn_more"))
        await ada.press(bot.t("en", "customers.btn_delete"))
        assert bot.t("en", "customers.confirm_delete", name="Acme 華南") in (ada.last.text or "")
        await ada.press(bot.t("en", "common.yes_delete"))
        assert bot.t("en", "customers.deleted", name="Acme 華南") in (ada.last.text or "")
        assert "Nothing found" in await ada.text_of("Acme 華南")

        await ada.send("/trash")
        assert [b.callback_data for b in ada.last.buttons] == [f"cu:rst:{customer.id}"]
        restored = "\n".join(m.text or "" for m in await ada.press(1))
        assert bot.t("en", "customers.restored", name="Acme 華南") in restored and "Acme 華南" in restored
        assert (await bot.services.customers.customers.get(actor, customer.id)).deleted_at is None


async def test_forged_screen_presses_are_refused(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada, actor = await _admin(bot)
        customer = await bot.services.customers.customers.create(actor, CustomerDraft(name="Forge Co"))
        contact = await bot.services.customers.contacts.add(actor, customer.id, "Fay")
        await ada.send("Forge Co")
        stale = bot.t("en", "error.stale_button")
        for data in (f"cu:ef:{customer.id}:owner_id", f"cu:ev:{customer.id}:name:x", f"cu:ev:{customer.id}:tier:Z",
                     f"ct:ef:{contact.id}:kind", "cu:ef:x:name"):
            update = bot.api.press(ada.user, None, data, enqueue=False, forged=True)
            await bot.api.deliver(bot.app, update)
            assert bot.told([], stale), data
        update = bot.api.press(ada.user, None, "cu:ef:999999:region", enqueue=False, forged=True)
        await bot.api.deliver(bot.app, update)
        assert bot.told([], bot.t("en", "error.not_found"))
