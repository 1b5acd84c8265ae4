"""Custom fields on the kinds other modules own, in three languages: a field defined with /fields is asked when an
opportunity is created (guided from the customer card, or `label=value` on the one-line form), a required one
cannot be skipped (no Skip button; a forged Skip press is refused), the card shows the values and its 🧩 Fields
screen sets them (audited), and a forged press on another rep's record answers "not found" and changes nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.fields.model import FieldDraft, FieldEntity, FieldType, FieldValue
from crm.organisation.permissions import Actor
from crm.sales.model import ProductDraft
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NED, NAT, HAN = 3301, 3302, 3303


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


async def _customer(bot: BotHarness, actor: Actor, name: str) -> int:
    created = await bot.services.customers.customers.create(actor, CustomerDraft(name=name), force=True)
    return int(created.id)


async def _define_seats(ada: Chatter) -> None:
    """A required number field on opportunities, defined in chat."""
    await ada.send("/fields")
    await ada.press("Opportunities")
    await ada.press("➕ Add a field")
    await ada.press("Number")
    await ada.send("Seats")
    await ada.send("席位數")
    await ada.send("席位数")
    await ada.press("Yes")
    assert "Field “Seats” added" in _text(await ada.press("✅ Save"))


async def test_opportunity_fields_asked_shown_and_set_in_three_languages(engine: AsyncEngine,
                                                                         clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        han, hans = await join(bot, HAN, "Han", "rep", "zh-hans")
        await _define_seats(ada)
        admin = await bot.services.organisation.identity.actor_by_staff_id(1)
        assert admin is not None
        plan = await bot.services.fields.fields.define(admin, FieldDraft(
            FieldEntity.OPPORTUNITY, FieldType.CHOICE, {"en": "Plan", "zh-Hant": "方案", "zh-Hans": "方案"},
            ("Basic", "Pro")))
        seats = next(f for f in await bot.services.fields.fields.listed(neds, FieldEntity.OPPORTUNITY)
                     if f.labels["en"] == "Seats")

        # English: the guided flow from the customer card asks the fields after its own questions.
        await _customer(bot, neds, "Acme")
        await ned.send("Acme")
        await ned.press("🏢 Acme")
        await ned.press("💼 Opportunity")
        await ned.send("Line upgrade")
        await ned.send("1.2M USD")
        asked = await ned.text_of("next month")
        assert "Seats: type a number" in asked and "Skip" not in ned.labels()  # required: no Skip
        assert bot.told(await _forge(bot, ned, "cfq:skip"), "“Seats” is required")  # nor a forged one
        assert "is not a number" in await ned.text_of("many")
        assert "Plan: type one of these" in await ned.text_of("25")
        summary = _text(await ned.press("Skip"))  # optional: skipped
        assert "Acme" in summary and "🧩 Seats: 25" in summary and "Plan" not in summary
        card = _text(await ned.press("✅ Save"))
        assert "Opportunity saved" in card and "🧩 Seats: 25" in card and "🧩 Fields" in ned.labels()
        mine = (await bot.services.sales.opportunities.pipeline(neds)).count
        assert mine == 1

        # Traditional Chinese: `label=value` on the one-line form; the optional field not typed is not asked.
        await _customer(bot, nats, "台積電")
        summary = await nat.text_of("/opportunity 台積電 產線升級 120萬 TWD 席位數=40 方案=Pro")
        assert "確認後儲存" in summary and "🧩 席位數：40" in summary and "🧩 方案：Pro" in summary
        card = _text(await nat.press(bot.t("zh-Hant", "sales.btn_save")))
        assert "🧩 席位數：40" in card and "🧩 方案：Pro" in card
        # Without the required field: asked before the summary.
        assert "席位數：請輸入數字" in await nat.text_of("/opportunity 台積電 備品 5萬 TWD")
        assert "確認後儲存" in await nat.text_of("3")
        await nat.send("/cancel")

        # Simplified Chinese: the card's 🧩 Fields screen sets a value (audited).
        await _customer(bot, hans, "联华食品")
        summary = await han.text_of("/opportunity 联华食品 新店 30万 TWD 席位数=8")
        await han.press(bot.t("zh-Hans", "sales.btn_save"))
        await han.press("🧩 字段")
        await han.press("✏️ 方案")
        assert "不在选项" in await han.text_of("Gold")
        assert "已保存" in await han.text_of("Basic")
        theirs = next(o for o, _ in (await bot.services.sales.opportunities.in_stage(
            hans, (await bot.services.sales.opportunities.stages(hans))[0].id))[1])
        values = {f.id: v for f, v in await bot.services.fields.fields.values(hans, FieldEntity.OPPORTUNITY,
                                                                                theirs.id)}
        assert values[plan.id] == FieldValue(text="Basic") and values[seats.id].number == Decimal("8")
        async with engine.connect() as conn:
            audited = (await conn.execute(select(t.audit_log.c.after).where(
                t.audit_log.c.entity == "opportunity_fields", t.audit_log.c.entity_id == theirs.id))).scalars().all()
        assert len(audited) == 2  # created with its answers, then the plan set from the card

        # A forged press on Han's opportunity by Nat (another rep): not found, nothing changes.
        not_found = bot.t("zh-Hant", "error.not_found")
        for data in (f"cf:ed:opportunity:{theirs.id}", f"cf:set:opportunity:{theirs.id}:{plan.id}",
                     f"cf:clr:opportunity:{theirs.id}:{plan.id}"):
            assert bot.told(await _forge(bot, nat, data), not_found), data
        after = {f.id: v for f, v in await bot.services.fields.fields.values(hans, FieldEntity.OPPORTUNITY, theirs.id)}
        assert after == values


async def _define_units(ada: Chatter) -> None:
    """A required number field on service tickets, defined in chat."""
    await ada.send("/fields")
    await ada.press("Service tickets")
    await ada.press("➕ Add a field")
    await ada.press("Number")
    await ada.send("Units")
    await ada.send("台數")
    await ada.send("台数")
    await ada.press("Yes")
    assert "Field “Units” added" in _text(await ada.press("✅ Save"))


async def test_ticket_fields_asked_shown_and_set_in_three_languages(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        han, hans = await join(bot, HAN, "Han", "rep", "zh-hans")
        await _define_units(ada)
        [units] = await bot.services.fields.fields.listed(neds, FieldEntity.TICKET)
        tickets = bot.services.service.tickets

        # English: the customer card's 🛠 Ticket asks the field after the problem; required, so no Skip.
        await _customer(bot, neds, "Acme")
        await ned.send("Acme")
        await ned.press("🏢 Acme")
        await ned.press(bot.t("en", "service.btn_ticket"))
        asked = await ned.text_of("The air conditioner is broken")
        assert "Units: type a number" in asked and "Skip" not in ned.labels()
        assert bot.told(await _forge(bot, ned, "cfq:skip"), "“Units” is required")
        assert "is not a number" in await ned.text_of("two")
        summary = await ned.text_of("2")
        assert "🧩 Units: 2" in summary
        card = _text(await ned.press(bot.t("en", "service.btn_save")))
        assert "opened" in card and "🧩 Units: 2" in card and "🧩 Fields" in ned.labels()

        # Traditional Chinese: `label=value` on /ticket, echoed on the summary and shown on the card.
        await _customer(bot, nats, "台積電")
        summary = await nat.text_of("/ticket 台積電 冷氣不冷 台數=3")
        assert "🧩 台數：3" in summary and "問題：冷氣不冷" in summary
        card = _text(await nat.press(bot.t("zh-Hant", "service.btn_save")))
        assert "🧩 台數：3" in card

        # Simplified Chinese: asked on /ticket, then changed from the card's 🧩 Fields screen (audited).
        await _customer(bot, hans, "联华食品")
        assert "台数：请输入数字" in await han.text_of("/ticket 联华食品 漏水")
        await han.send("5")
        await han.press(bot.t("zh-Hans", "service.btn_save"))
        await han.press("🧩 字段")
        await han.press("✏️ 台数 *")
        assert "已保存" in await han.text_of("6")
        [theirs] = await tickets.listing(hans)
        assert [v.number for _, v in await bot.services.fields.fields.values(hans, FieldEntity.TICKET, theirs.id)] \
            == [Decimal("6")]
        async with engine.connect() as conn:
            audited = (await conn.execute(select(t.audit_log.c.after).where(
                t.audit_log.c.entity == "ticket_fields", t.audit_log.c.entity_id == theirs.id))).scalars().all()
        assert len(audited) == 2

        # A forged press on Han's ticket by Nat: not found, nothing changes.
        not_found = bot.t("zh-Hant", "error.not_found")
        for data in (f"cf:ed:ticket:{theirs.id}", f"cf:set:ticket:{theirs.id}:{units.id}"):
            assert bot.told(await _forge(bot, nat, data), not_found), data
        assert [v.number for _, v in await bot.services.fields.fields.values(hans, FieldEntity.TICKET, theirs.id)] \
            == [Decimal("6")]


async def test_expense_fields_asked_shown_and_set(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        ned, _ = await join(bot, NED, "Ned", "rep")
        han, hans = await join(bot, HAN, "Han", "rep", "zh-hans")
        admin = await bot.services.organisation.identity.actor_by_staff_id(1)
        assert admin is not None
        trip = await bot.services.fields.fields.define(admin, FieldDraft(
            FieldEntity.EXPENSE, FieldType.TEXT, {"en": "Trip", "zh-Hans": "行程"}, required=True))

        assert "Trip" in await ned.text_of("/expense 350 taxi")  # required: asked before the summary
        assert "Skip" not in ned.labels()
        summary = await ned.text_of("Taipei visit")
        assert "🧩 Trip: Taipei visit" in summary
        saved = _text(await ned.press(bot.t("en", "expenses.btn_save")))
        assert "🧩 Trip: Taipei visit" in saved and "🧩 Fields" in ned.labels()

        summary = await han.text_of("/expense 120 午餐 行程=客户拜访")
        assert "🧩 行程：客户拜访" in summary
        await han.press(bot.t("zh-Hans", "expenses.btn_save"))
        await han.press("🧩 字段")
        await han.press("✏️ 行程 *")
        assert "已保存" in await han.text_of("上海")
        [theirs] = [c.expense for c in (await bot.services.expenses.expenses.month(hans)).items]
        values = [v.text for _, v in await bot.services.fields.fields.values(hans, FieldEntity.EXPENSE, theirs.id)]
        assert values == ["上海"]
        assert bot.told(await _forge(bot, ned, f"cf:set:expense:{theirs.id}:{trip.id}"),
                        bot.t("en", "error.not_found"))
        assert [v.text for _, v in await bot.services.fields.fields.values(hans, FieldEntity.EXPENSE, theirs.id)] \
            == ["上海"]


async def test_order_fields_asked_shown_and_set(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        nat, _ = await join(bot, NAT, "Nat", "rep", "zh-hant")
        admin = await bot.services.organisation.identity.actor_by_staff_id(1)
        assert admin is not None
        await bot.services.sales.catalog.create(admin, ProductDraft(sku="A-100", name="Widget",
                                                                    list_price=Decimal(100), currency="TWD"))
        po = await bot.services.fields.fields.define(admin, FieldDraft(
            FieldEntity.ORDER, FieldType.TEXT, {"en": "PO", "zh-Hant": "採購單號"}, required=True))
        await _customer(bot, neds, "Acme")

        asked = await ned.text_of("/order Acme A-100 x3")
        assert "PO" in asked and "Skip" not in ned.labels()  # required: asked before the summary
        echoed = await ned.text_of("PO-7781")
        assert "Check the order" in echoed and "🧩 PO: PO-7781" in echoed
        card = _text(await ned.press("✅ Confirm order"))
        assert "🧩 PO: PO-7781" in card and "🧩 Fields" in ned.labels()
        await ned.press("🧩 Fields")
        await ned.press("✏️ PO *")
        assert "Saved" in await ned.text_of("PO-7782")
        [row], _ = await bot.services.orders.orders.listed(neds)
        assert [v.text for _, v in await bot.services.fields.fields.values(neds, FieldEntity.ORDER, row.id)] == \
            ["PO-7782"]
        assert bot.told(await _forge(bot, nat, f"cf:set:order:{row.id}:{po.id}"), bot.t("zh-Hant", "error.not_found"))

        # `label=value` on the one-line form: echoed at once, nothing asked.
        echoed = await ned.text_of("/order Acme A-100 x2 PO=PO-9001")
        assert "Check the order" in echoed and "🧩 PO: PO-9001" in echoed and "A-100 Widget × 2" in echoed


async def test_contact_fields_on_the_add_contact_form(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        ada = bot.user(ADMIN_ID, "Ada")
        await ada.send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        admin = await bot.services.organisation.identity.actor_by_staff_id(1)
        assert admin is not None
        await bot.services.fields.fields.define(admin, FieldDraft(
            FieldEntity.CONTACT, FieldType.CHOICE, {"en": "Role"}, ("Buyer", "Engineer"), required=True))
        acme = await _customer(bot, neds, "Acme")
        await ned.send("Acme")
        await ned.press("🏢 Acme")
        await ned.press("⋯ More")
        await ned.press("➕ Add contact")
        assert "“Role” is required" in await ned.text_of("Amy Chen; 0912-345-678")  # not added without it
        assert "not one of the choices" in await ned.text_of("Amy Chen; 0912-345-678; Role=boss")
        assert "Contact “Amy Chen” added" in await ned.text_of("Amy Chen; 0912-345-678; Role=buyer")
        [contact] = (await bot.services.customers.customers.card(neds, acme)).contacts
        assert [v.text for _, v in await bot.services.fields.fields.values(neds, FieldEntity.CONTACT, contact.id)] \
            == ["Buyer"]


async def test_every_kind_of_record_is_wired(engine: AsyncEngine, clock: ManualClock) -> None:
    """Each module owning a kind registers it when built: values can be read and set for every kind."""
    async with running_bot(engine, clock) as bot:
        assert set(bot.services.fields.fields.kinds) == set(FieldEntity)
