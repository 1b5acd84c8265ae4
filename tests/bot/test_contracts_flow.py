"""Contracts in chat: the guided /contract flow with wrong input at every step and a document, the one-message
form in Traditional Chinese echoed for one tap, /contracts and the card in Simplified Chinese (terminate with a
reason, renew, delete and restore), the customer card's section, the renewal reminder's buttons, and forged
presses that change nothing."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.contracts.model import ContractFields, Status
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.permissions import Actor
from scheduler.followups.reminders import dispatcher_for
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, join, running_bot

NED, SUE, NAT, FAY = 3002, 3003, 3004, 3005


def _joined(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _contracts(bot: BotHarness, actor: Actor) -> list[object]:
    cards, _ = await bot.services.contracts.contracts.listed(actor)
    return list(cards)


async def test_guided_flow_answers_wrong_input_at_every_step_and_keeps_the_document(
        engine: AsyncEngine, clock: ManualClock, tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme Trading"), force=True)

        assert "Which customer?" in await ned.text_of("/contract")
        assert "No customer found for “zzzz”" in await ned.text_of("zzzz")
        assert "tap the right one" in await ned.text_of("Acme")
        assert "What is the contract's title?" in _joined(await ned.press("Acme Trading"))
        assert "needs a title" in await ned.text_of("x" * 201)
        assert "Its value?" in await ned.text_of("Support plan")
        assert "not a value" in await ned.text_of("lots")
        assert "When does it start?" in await ned.text_of("5,000 USD")
        assert "could not read that date" in await ned.text_of("someday maybe")
        assert "When does it end?" in await ned.text_of("2027-01-01")
        assert "before the start date" in await ned.text_of("2026-06-01")
        assert "Send the signed contract" in await ned.text_of("2027-12-31")
        assert "send a document or a photo" in await ned.text_of("here it is")
        replies = await ned._do(bot.api.document(ned.user, "../signed contract.pdf", b"%PDF-1.4 signed",
                                                 "application/pdf", enqueue=False))
        summary = _joined(replies)
        assert "Check and save the contract" in summary and "USD 5,000.00" in summary
        assert "Term: 2027-01-01 → 2027-12-31" in summary and "File: ../signed contract.pdf" in summary
        assert await _contracts(bot, neds) == []  # nothing before the tap
        assert "Check and save" in await ned.text_of("ok")  # typed at the summary: shown again, not saved
        saved = _joined(await ned.press("✅ Save"))
        assert "Contract saved" in saved and "C2026-0001" in saved and "📎 signed_contract.pdf" in saved

        card = (await bot.services.contracts.contracts.listed(neds))[0][0]
        assert card.contract.owner_id == neds.staff_id and card.contract.file_id
        copy = tmp_path / "contracts" / f"{card.contract.id}-signed_contract.pdf"
        assert copy.read_bytes() == b"%PDF-1.4 signed"
        assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(copy.parent).st_mode) == 0o700

        await ned.press("📎 File")
        assert bot.api.documents(NED)[-1].content == b"%PDF-1.4 signed"
        # Another bot token: Telegram no longer knows the file id, the copy under DATA_DIR is sent instead.
        async with bot.services.uow() as uow:
            await uow.contracts.contracts.update(card.contract.id, file_id="AgADunknownToThisBot")
            await uow.commit()
        sent_before = len(bot.api.documents(NED))
        await ned.press_data(f"kt:file:{card.contract.id}")
        assert len(bot.api.documents(NED)) == sent_before + 1
        assert bot.api.documents(NED)[-1].content == b"%PDF-1.4 signed"


async def test_one_message_form_in_traditional_chinese_is_echoed_then_saved(engine: AsyncEngine,
                                                                             clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, nats = await join(bot, NAT, "Nat", "rep", "zh-hant")
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)

        assert "找不到合約期間" in await nat.text_of("/contract 台積電 維護合約 NT$120000")
        picked = await nat.text_of("/contract 台積電 維護合約 NT$120000 2027-01-01 至 2027-12-31")
        assert "找到符合「台積電」的客戶" in picked
        summary = _joined(await nat.press("台積電"))
        assert "確認後儲存合約" in summary and "名稱：維護合約" in summary and "金額：TWD 120,000.00" in summary
        assert "期間：2027-01-01 → 2027-12-31" in summary and "續約提醒：到期前 30 天" in summary
        assert await _contracts(bot, nats) == []
        saved = _joined(await nat.press("✅ 儲存"))
        assert "合約已儲存" in saved and "狀態：🟢 生效中" in saved
        assert len(await _contracts(bot, nats)) == 1

        # the customer card lists it
        await nat.text_of("台積電")
        card = _joined(await nat.press(1))
        assert "\n合約\n🟢 C2026-0001 維護合約 · TWD 120,000.00 · 2027-01-01 → 2027-12-31" in card
        assert "🔁 C2026-0001 維護合約 → 2027-12-31" in card  # the renewal reminder is its open follow-up


async def test_list_card_terminate_renew_delete_restore_in_simplified_chinese(engine: AsyncEngine,
                                                                             clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        sue, sues = await join(bot, SUE, "Sue", "rep", "zh-hans")
        customer = await bot.services.customers.customers.create(sues, CustomerDraft(name="华为"), force=True)
        service = bot.services.contracts.contracts
        for title, end in (("维护合同", date(2027, 3, 31)), ("年度服务", date(2027, 1, 31))):
            await service.create(sues, ContractFields(customer_id=customer.id, title=title, value=Decimal(1000),
                                                      currency="CNY", starts_on=date(2026, 2, 1), ends_on=end))
        listed = await sue.text_of("/contracts")
        assert "合同" in listed and "最快到期在前" in listed
        assert sue.labels()[0].startswith("🟢 2027-01-31 · 年度服务")  # ending soonest first

        opened = _joined(await sue.press(1))
        assert "年度服务" in opened and "状态：🟢 生效中" in opened
        assert "为何终止" in _joined(await sue.press("⛔ 终止"))
        assert "请重新输入" in await sue.text_of("理" * 501)  # too long: asked again
        ended = await sue.text_of("客户取消")
        assert "已终止" in ended and "原因：客户取消" in ended

        await sue.text_of("/contracts")
        await sue.press(1)  # 维护合同: the active one is listed before the terminated one
        renew = _joined(await sue.press("🔁 续约"))
        assert "新合同自 2027-04-01 至 2028-05-28" in renew
        assert "何时结束" in _joined(await sue.press("📅 其他结束日期"))
        assert "无法识别这个日期" in await sue.text_of("不知道")
        renewed = await sue.text_of("2028-03-31")
        assert "已续约" in renewed and "C2026-0003" in renewed and "2027-04-01 → 2028-03-31" in renewed

        assert "删除合同 C2026-0003" in _joined(await sue.press("🗑 删除"))
        deleted = _joined(await sue.press("确定删除"))
        assert "已删除" in deleted
        restored = _joined(await sue.press("♻️ 恢复"))
        assert "已恢复" in restored and "C2026-0003" in restored

        edited = _joined(await sue.press("✏️ 编辑"))
        assert "哪一个字段" in edited
        await sue.press("提醒天数")
        assert "0 到 365 的整数" in await sue.text_of("一百")
        assert "续约提醒：到期前 14 天" in await sue.text_of("14")
        states = sorted(c.contract.status.value for c in (await service.listed(sues))[0])
        assert states == ["active", "renewed", "terminated"]


async def test_the_reminder_push_renews_from_its_button(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        customer = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        card = await bot.services.contracts.contracts.create(neds, ContractFields(
            customer_id=customer.id, title="Support", value=Decimal(100), currency="USD",
            starts_on=date(2026, 2, 1), ends_on=date(2027, 1, 31)))
        clock.set(datetime(2027, 1, 1, 1, 0, 30, tzinfo=UTC))  # 09:00:30 in Taipei
        assert (await dispatcher_for(bot.app).run_once()).sent == 1
        push = bot.api.last_message(NED)
        assert "Contract renewal" in (push.text or "") and "Support" in (push.text or "")
        assert ned.labels()[:3] == ["📄 Open the contract", "🔁 Renewed", "📝 Log a follow-up"]
        assert "C2026-0001" in _joined(await ned.press("📄 Open the contract"))
        await ned.press_data(f"kt:renew:{card.contract.id}", push.message_id)
        renewed = _joined(await ned.press("✅ Renew with these dates"))
        assert "Renewed" in renewed and "2027-02-01 → 2028-01-31" in renewed
        old = await bot.services.contracts.contracts.card(neds, card.contract.id)
        assert old.contract.status is Status.RENEWED


async def _forged(chatter: Chatter, data: str) -> list[ChatMessage]:
    """A modified client pressing ``data`` on the latest message with a keyboard."""
    api = chatter.harness.api
    return await chatter._do(api.press(chatter.user, None, data, enqueue=False, forged=True))


async def test_forged_presses_change_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, neds = await join(bot, NED, "Ned", "rep")
        sue, sues = await join(bot, SUE, "Sue", "rep")
        fay, _ = await join(bot, FAY, "Fay", "finance")
        own = await bot.services.customers.customers.create(sues, CustomerDraft(name="Own"), force=True)
        await bot.services.contracts.contracts.create(sues, ContractFields(
            customer_id=own.id, title="Hers", value=Decimal(1), currency="USD", starts_on=date(2026, 2, 1),
            ends_on=date(2027, 1, 31)))
        customer = await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)
        card = await bot.services.contracts.contracts.create(neds, ContractFields(
            customer_id=customer.id, title="Support", value=Decimal(100), currency="USD",
            starts_on=date(2026, 2, 1), ends_on=date(2027, 1, 31)))
        cid = card.contract.id
        await sue.send("/contracts")
        for data in (f"kt:open:{cid}", f"kt:delok:{cid}", f"kt:rnok:{cid}", f"kt:term:{cid}", f"kt:rst:{cid}",
                     f"kt:file:{cid}", f"kt:ef:{cid}:title", "kt:open:99999999", "kt:delok:-1", "kt:open:abc"):
            replies = await _forged(sue, data)
            assert bot.told(replies, "Not found") or bot.told(replies, "out of date") or bot.told(
                replies, "no longer"), data
        # finance sees sales, but may not change contracts
        await fay.send("/contracts")
        replies = await _forged(fay, f"kt:delok:{cid}")
        assert bot.told(replies, "don't have permission")
        # a button of the new-contract flow with no flow open
        replies = await _forged(sue, f"ktn:cu:{customer.id}")
        assert bot.told(replies, "out of date")
        after = await bot.services.contracts.contracts.card(neds, cid)
        assert after.contract.status is Status.ACTIVE and after.contract.deleted_at is None
        assert after.contract.title == "Support"


async def test_odd_input_at_every_step_is_answered_and_the_draft_survives(engine: AsyncEngine,
                                                                          clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await join(bot, NED, "Ned", "rep")
        await bot.services.customers.customers.create(neds, CustomerDraft(name="Acme Trading"), force=True)
        # Anything is a title; at the other steps these are all wrong.
        odd = ("🙂", "x" * 5000, "/nosuchcommand", "<b>&", "-5")
        answers = {"What is the contract's title?": "R&D <Support>", "Its value?": "100",
                   "When does it start?": "2027-01-01", "When does it end?": "2027-12-31"}
        await ned.send("/contract")
        await ned.send("Acme")
        await ned.press("Acme Trading")
        for question, good in answers.items():
            assert question in (ned.last.text or "")
            for text in odd[1:3] if question.startswith("What is") else odd:
                replies = await ned.send(text)
                assert replies, text  # always an answer, never silence
                if text not in ("x" * 5000, "/nosuchcommand"):  # those two get their own general answers
                    assert question in (ned.last.text or ""), text  # the same question again
            photo = await ned.photo()
            assert "waiting for a text answer" in _joined(photo) or "Please" in _joined(photo)
            await ned.send(good)
        assert "Send the signed contract" in (ned.last.text or "")
        await ned.press("⏭ Skip")
        assert "Check and save" in (ned.last.text or "")
        for text in odd:
            await ned.send(text)
        saved = _joined(await ned.press("✅ Save"))
        # HTML in the title arrives as typed (escaped once, by the catalog)
        assert "Contract saved" in saved and "R&D <Support>" in saved and "2027-01-01 → 2027-12-31" in saved
        assert len(await _contracts(bot, neds)) == 1
