"""Custom fields in chat, in three languages: an admin defines fields with /fields (a guided flow ending in an
echo), a rep is asked them by /newcustomer (a required one cannot be skipped, a wrong type is answered with what
was expected), `label=value` on the one-line form, the card shows them, /filter finds customers by them and saves
the result as a segment; remove keeps the values and restore brings them back; forged presses by someone without
fields.manage change nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.fields.model import FieldEntity, FieldType
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NAT, HAN = 3201, 3202


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


async def _define_staff_and_sector(ada: Chatter) -> None:
    assert "whose fields" in await ada.text_of("/fields")
    assert "no custom fields yet" in _text(await ada.press("Customers"))
    assert "what kind of value" in _text(await ada.press("➕ Add a field"))
    assert "choose one of the buttons" in await ada.text_of("Number")  # typed where a button is expected
    assert "in English" in _text(await ada.press("Number"))
    assert "Traditional Chinese" in await ada.text_of("Staff")
    assert "Simplified Chinese" in await ada.text_of("員工數")
    assert "always be filled in" in await ada.text_of("员工数")
    echoed = _text(await ada.press("Yes"))
    assert "Add this field?" in echoed and "English: Staff" in echoed and "繁體中文: 員工數" in echoed
    assert "Type: Number" in echoed and "Required" in echoed
    assert "Field “Staff” added" in _text(await ada.press("✅ Save"))

    await ada.press("➕ Add a field")
    await ada.press("Multi-choice")
    await ada.send("Sector")
    await ada.press("Skip")
    await ada.press("Skip")
    assert "at least 2" in await ada.text_of("Retail")  # one choice is not a choice: asked again
    assert "between 2 and" in await ada.text_of("Retail")
    await ada.send("Retail, Food, Tech")
    await ada.press("No")
    echoed = _text(await ada.press("✅ Save"))
    assert "Field “Sector” added" in echoed and "Staff · Number *" in ada.labels() and "Sector · Multi-choice" \
        in ada.labels()


async def test_defined_in_chat_asked_in_newcustomer_filtered_and_saved_as_segment(engine: AsyncEngine,
                                                                                 clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        han, hans = await join(bot, HAN, "Han", "rep", "zh-hans")
        await _define_staff_and_sector(ada)
        fields = {f.labels["en"]: f for f in await bot.services.fields.fields.listed(nats, FieldEntity.CUSTOMER)}
        staff, sector = fields["Staff"], fields["Sector"]
        assert staff.type is FieldType.NUMBER and staff.required and sector.choices == ("Retail", "Food", "Tech")

        # Traditional Chinese: the one-line form goes to the required field before the summary; no Skip there.
        asked = await nat.text_of("/newcustomer 台積電; 02-2345-6789")
        assert "員工數：請輸入數字" in asked
        assert "略過 ⏭" not in nat.labels()
        assert "「很多」不是數字" in await nat.text_of("很多")  # the wrong type, said clearly; asked again
        summary = await nat.text_of("1,200")
        assert "員工數" in summary and "1200" in summary
        assert "產業" not in summary and "Sector" in summary  # a label in English when no translation is given
        card = _text(await nat.press(bot.t("zh-Hant", "customers.btn_save")))
        assert "🧩 員工數：1,200" in card

        # Simplified Chinese: `label=value` on the one-line form, echoed before saving.
        summary = await han.text_of("/newcustomer 联华食品; 02-2778-8990; 员工数=80; sector=food, retail")
        assert "80" in summary and "Retail, Food" in summary
        card = _text(await han.press(bot.t("zh-Hans", "customers.btn_save")))
        assert "🧩 员工数：80" in card and "🧩 Sector：Retail, Food" in card

        # The card's Fields screen: a wrong answer is refused, a right one saved and audited.
        await han.press("🧩 字段")
        await han.press("✏️ Sector")
        assert "不在选项中" in await han.text_of("Shoes")
        assert "已保存" in await han.text_of("Tech")

        # /filter in each language, within each one's scope; the result saved as a live segment.
        found = await nat.text_of("/filter 員工數>100")
        assert "符合的客戶：1 位" in found and nat.labels()[0] == "台積電"
        assert "符合的客户：1 位" in await han.text_of("/filter staff>=50")  # Han sees only his own
        assert "1 customer(s) match" in await ada.text_of("/filter sector=tech")
        assert "1 customer(s) match" in await ada.text_of("/find sector=tech")  # /find takes conditions too
        assert "Nothing found" in await ada.text_of("/find a=b")  # naming no field: a search as before
        assert "只能用 = 或 !=" in await nat.text_of("/filter Sector>Food")
        assert "没有名为「颜色」的客户字段" in await han.text_of("/filter 颜色=红")
        await nat.text_of("/filter 員工數>100")
        await nat.press("💾 存成分群")
        assert "已儲存分群「大客戶」" in await nat.text_of("大客戶")
        segments = await bot.services.segments.segments.list(nats)
        assert [(s.name, count) for s, count in segments] == [("大客戶", 1)]
        tsmc = (await bot.services.customers.customers.search(nats, "台積電")).hits[0].id
        await bot.services.fields.fields.set(nats, FieldEntity.CUSTOMER, tsmc, {staff.id: "90"})
        assert [count for _, count in await bot.services.segments.segments.list(nats)] == [0]  # live

        # Forged presses by reps (no fields.manage) change nothing.
        denied = bot.t("zh-Hant", "error.permission_denied")
        for data in (f"fd:rmok:{staff.id}", f"fd:rq:{staff.id}", "fd:add:customer", f"fd:up:{sector.id}"):
            assert bot.told(await _forge(bot, nat, data), denied), data
        assert [f.id for f in await bot.services.fields.fields.listed(nats, FieldEntity.CUSTOMER)] == \
            [staff.id, sector.id]
        theirs = (await bot.services.customers.customers.search(hans, "联华食品")).hits[0].id
        assert bot.told(await _forge(bot, nat, f"cf:set:customer:{theirs}:{staff.id}"),
                        bot.t("zh-Hant", "error.not_found"))

        # Removed in chat: gone from the flows, values kept; restored with them.
        await ada.send("/fields")
        await ada.press("Customers")
        await ada.press("Staff · Number *")
        assert "Its values are kept" in _text(await ada.press("🗑 Remove"))
        assert "removed (values kept)" in _text(await ada.press("🗑 Yes, remove"))
        summary = await nat.text_of("/newcustomer 大同; 02-2592-5252")
        assert "員工數" not in summary
        await nat.send("/cancel")
        await ada.press("♻️ Removed fields")
        assert "restored with its values" in _text(await ada.press("♻️ Restore Staff"))
        async with engine.connect() as conn:
            kept = (await conn.execute(select(t.custom_values.c.value_number).where(
                t.custom_values.c.field_id == staff.id).order_by(t.custom_values.c.entity_id))).scalars().all()
            audited = (await conn.execute(select(t.audit_log.c.action).where(
                t.audit_log.c.entity == "custom_field", t.audit_log.c.entity_id == staff.id))).scalars().all()
        assert kept == [Decimal("90"), Decimal("80")]
        assert audited == ["create", "delete", "restore"]
