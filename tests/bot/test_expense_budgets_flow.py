"""Budgets, projects, reports and editing expenses in chat: a receipt photo approved until the budget alert at
80% and then 100% (each once), the one-message and guided budget forms with wrong input at each step, ``#project``
with none / several matches, edit and delete before approval and refused after, reports in scope with their
XLSX file, and forged presses that change nothing."""

from __future__ import annotations

import io
import os
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.expenses.budgets import BudgetDraft
from crm.expenses.model import ExpenseFields, ProjectStatus, Status
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from handlers.expenses.budgets import wait_for_files
from scheduler.expenses.budget_alerts import send_unsent_alerts
from storage import tables as t
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

MIA, NED, NAT = 3001, 3002, 3003


async def _sales(bot: BotHarness) -> int:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    department = await bot.services.organisation.departments.create(admin, "業務部", admin.department_id)
    return int(department.id)


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, department: int,
                language: str = "en") -> tuple[Chatter, Actor]:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], department)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor


def _texts(bot: BotHarness, tg_id: int) -> list[str]:
    return [m.text or "" for m in bot.api.sent_messages(tg_id)]


async def _log_and_approve(bot: BotHarness, who: Chatter, manager: Chatter, line: str) -> None:
    await who.send(line)
    await who.press(1)  # ✅ Save (in the user's language)
    await manager.press(1)  # ✅ Approve on the push


async def test_a_receipt_photo_approved_up_to_the_budget_alerts(engine: AsyncEngine, clock: ManualClock,
                                                                tmp_path: Path) -> None:
    async with running_bot(engine, clock, data_dir=tmp_path) as bot:
        sales = await _sales(bot)
        mia, _ = await _join(bot, MIA, "Mia", "manager", sales)
        nat, nats = await _join(bot, NAT, "Nat", "rep", sales, "zh-hant")

        echoed = await mia.text_of("/budget 業務部 計程車 2026 NT$1,000")
        assert "Department: 業務部" in echoed and "Category: Transport" in echoed and "Year: 2026" in echoed
        assert "Amount: TWD 1,000.00" in echoed
        assert "Please choose one of the buttons" in await mia.text_of("yes")  # typed: never the budget
        assert "Budget saved." in ((await mia.press("✅ Save"))[-1].text or "")

        replies = await nat._do(bot.api.photo(nat.user, caption="/expense 850 計程車 去新竹", enqueue=False))
        assert "收據照片" in "\n".join(m.text or "" for m in replies)
        await nat.press("✅ 儲存")
        expense = (await bot.services.expenses.expenses.month(nats)).items[0].expense
        assert expense.receipt_path == f"receipts/expense-{expense.id}.jpg"
        kept = tmp_path / expense.receipt_path
        assert kept.read_bytes().startswith(b"\xff\xd8") and stat.S_IMODE(os.stat(kept).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(kept.parent).st_mode) == 0o700

        before = len(_texts(bot, MIA))
        await mia.press("✅ Approve")
        alerts = [text for text in _texts(bot, MIA)[before:] if "budget" in text.casefold()]
        assert len(alerts) == 1 and "80% of a 2026 budget is used" in alerts[0]
        assert "業務部 · Transport: TWD 850.00 of TWD 1,000.00 (85%)" in alerts[0]

        await _log_and_approve(bot, nat, mia, "/expense 100 taxi")  # 95%: the 80% alert was told already
        await _log_and_approve(bot, nat, mia, "/expense 100 taxi")  # 105%
        await _log_and_approve(bot, nat, mia, "/expense 5 taxi")
        texts = _texts(bot, MIA)
        assert sum("80% of a 2026 budget" in text for text in texts) == 1
        assert sum("budget is used up (100%)" in text for text in texts) == 1
        assert await bot.services.expenses.budgets.unsent() == []

        shown = (await nat.send("/budget"))[-1]
        assert "2026 年預算" in (shown.text or "")
        assert "業務部 · 交通：已用 TWD 1,055.00／預算 TWD 1,000.00（105%）" in (shown.text or "")
        assert shown.reply_markup == []  # a rep gets no proposal button


async def test_the_budget_forms_with_wrong_input_and_forged_presses(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        mia, mias = await _join(bot, MIA, "Mia", "manager", sales, "zh-hans")
        nat, _ = await _join(bot, NAT, "Nat", "rep", sales)

        unclear = await mia.text_of("/budget 业务部 2026")
        assert "无法识别预算" in unclear and "类别" in unclear and "金额" in unclear and "部门" in unclear
        assert "部门" in await mia.text_of("/budget 不存在 travel 2026 500")
        assert "部门：業務部" in await mia.text_of("/budget 業務 travel 2026 500")  # the only one containing it
        await mia.press("取消")

        await mia.send("/budget set")
        assert mia.labels() == ["業務部", "取消"]
        assert "请点选上方的按钮" in await mia.text_of("業務部")  # typed at a button step
        await mia.press("業務部")
        await mia.press("差旅")
        assert mia.labels() == ["2026", "2027", "取消"]
        await mia.press("2027")
        assert "金额必须大于零" in await mia.text_of("abc")
        assert "金额必须大于零" in await mia.text_of("0")
        echoed = await mia.text_of("NT$120,000")
        assert "部门：業務部" in echoed and "年份：2027" in echoed and "金额：TWD 120,000.00" in echoed
        await mia.press("✅ 保存")
        view = await bot.services.expenses.budgets.usage(mias, 2027)
        assert [(ln.category.key, ln.budget.amount) for ln in view.lines] == [("travel", Decimal(120000))]
        await mia.send("/budget")  # a message with buttons to forge a press on
        replies = await mia._do(bot.api.press(mia.user, None, "bgs:save", enqueue=False, forged=True))
        assert bot.told(replies, bot.t("zh-Hans", "error.stale_button"))  # the summary is gone: nothing twice
        assert len((await bot.services.expenses.budgets.usage(mias, 2027)).lines) == 1

        # A rep has no expenses.budget: the command and a forged press are refused, nothing stored.
        assert bot.t("en", "error.permission_denied") in await nat.text_of("/budget 業務部 travel 2026 500")
        await nat.send("/expense 5 parking")  # a message with buttons to forge presses on
        await nat._do(bot.api.press(nat.user, None, "bgs:save", enqueue=False, forged=True))
        await nat._do(bot.api.press(nat.user, None, "bg:prop", enqueue=False, forged=True))
        assert (await bot.services.expenses.budgets.usage(mias, 2026)).lines == ()
        assert bot.api.documents(NAT) == []

        # The proposal file: a document with next year's figures.
        await mia.send("/budget")
        await mia.press("📄 2027 预算提案（XLSX）")
        await wait_for_files(bot.app)
        document = bot.api.documents(MIA)[-1]
        assert document.filename == "budget-proposal-2027.xlsx"
        sheet = load_workbook(io.BytesIO(document.content)).active
        assert sheet is not None
        assert [c.value for c in next(sheet.iter_rows())][:3] == ["部门", "类别", "币种"]


async def test_projects_in_chat_and_hash_names_on_an_expense(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        await _join(bot, MIA, "Mia", "manager", sales)
        nat, nats = await _join(bot, NAT, "Nat", "rep", sales, "zh-hant")

        assert "/project" in await nat.text_of("/project")
        assert "建立專案「新竹案」" in await nat.text_of("/project 新竹案")
        assert "請點選上方的按鈕" in await nat.text_of("好")
        assert "專案已建立" in ((await nat.press("✅ 建立"))[-1].text or "")
        await nat.send("/project 新竹案二期")
        await nat.press("✅ 建立")
        await nat.send("/project 新竹案")
        replies = await nat.press("✅ 建立")
        assert bot.told(replies, "已有名為「新竹案」的專案")
        assert len(await bot.services.expenses.projects.listed(nats)) == 2

        assert "沒有名為「高雄」的進行中專案" in await nat.text_of("/expense 100 計程車 #高雄")
        asked = await nat.text_of("/expense 100 計程車 #新竹")
        assert "有多個專案符合" in asked and nat.labels() == ["新竹案", "新竹案二期", "取消"]
        assert "有多個專案符合" in await nat.text_of("新竹案二期")  # typed: not a pick
        await nat._do(bot.api.press(nat.user, None, "exn:save", enqueue=False, forged=True))
        assert (await bot.services.expenses.expenses.month(nats)).items == ()  # no save before the pick
        picked = (await nat.press("新竹案二期"))[-1].text or ""
        assert "專案：新竹案二期" in picked
        saved = (await nat.press("✅ 儲存"))[-1].text or ""
        assert "專案：新竹案二期" in saved
        assert "專案：新竹案" in await nat.text_of("/expense 50 計程車 #新竹案")  # exact name: no question

        listed = await nat.text_of("/projects")
        assert "專案 — 2 個" in listed and nat.labels() == ["🟢 新竹案", "🟢 新竹案二期"]
        shown = (await nat.press("🟢 新竹案二期"))[-1].text or ""
        assert "負責人：Nat" in shown and "TWD 100.00" in shown
        changed = (await nat.press("⚫ 已結案"))[-1].text or ""
        assert "狀態：⚫ 已結案" in changed
        assert "沒有名為「新竹案二期」" in await nat.text_of("/expense 100 計程車 #新竹案二期")
        project = next(p for p in await bot.services.expenses.projects.listed(nats) if p.name == "新竹案二期")
        assert project.status is ProjectStatus.CLOSED

        # Renaming: a taken name is refused and asked again; the expenses on it follow the new name.
        ned, _ = await _join(bot, NED, "Ned", "rep", sales)
        await ned.send("/language")  # a message with buttons to forge a press on
        replies = await ned._do(bot.api.press(ned.user, None, f"pj:ren:{project.id}", enqueue=False, forged=True))
        assert bot.told(replies, bot.t("en", "error.not_found"))
        assert "新名稱" in ((await nat.press("✏️ 改名"))[-1].text or "")
        assert "已有名為「新竹案」的專案" in await nat.text_of("新竹案")
        assert "已修改" in await nat.text_of("  竹科二期 ")
        renamed = await bot.services.expenses.projects.card(nats, project.id)
        assert renamed.project.name == "竹科二期" and renamed.project.status is ProjectStatus.CLOSED
        on_it = [i for i in (await bot.services.expenses.expenses.month(nats)).items if i.project_name]
        assert [i.project_name for i in on_it] == ["竹科二期"]  # the expense logged on it, under its new name
        assert "找不到「好」" in await nat.text_of("好")  # the rename is over: typed text is a search again
        assert (await bot.services.expenses.projects.card(nats, project.id)).project.name == "竹科二期"


async def test_edit_and_delete_before_approval_refused_after(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        mia, _ = await _join(bot, MIA, "Mia", "manager", sales)
        ned, neds = await _join(bot, NED, "Ned", "rep", sales)
        nat, _ = await _join(bot, NAT, "Nat", "rep", sales)

        await ned.send("/expense 90 parking")
        await ned.press("✅ Save")
        expense = (await bot.services.expenses.expenses.month(neds)).items[0].expense
        await ned.send("/expenses")
        await ned.press(1)
        assert ned.labels() == ["✏️ Edit", "🗑 Delete", "🧩 Fields"]
        await ned.press("✏️ Edit")
        await ned.press("Amount")
        assert "amount" in (await ned.text_of("abc")).casefold()
        assert "Changed." in await ned.text_of("120")
        await ned.press("✏️ Edit")
        await ned.press("Category")
        assert "Changed.\n\n🧾 TWD 120.00 · Meals" in ((await ned.press("Meals"))[-1].text or "")
        await ned.press("✏️ Edit")
        await ned.press("Date")
        assert "Changed." in await ned.text_of("yesterday")
        card = await bot.services.expenses.expenses.card(neds, expense.id)
        assert card.expense.amount == Decimal(120) and card.category.key == "meals"
        assert card.expense.spent_on.isoformat() == "2026-11-25"

        # Someone else's expense: not found, nothing changes.
        await nat.send("/expense 5 parking")
        for data in (f"ex:del:{expense.id}", f"ex:delok:{expense.id}", f"ex:ec:{expense.id}:1",
                     f"ex:ef:{expense.id}:a", f"ex:edit:{expense.id}"):
            await nat._do(bot.api.press(nat.user, None, data, enqueue=False, forged=True))
        assert (await bot.services.expenses.expenses.card(neds, expense.id)).expense.amount == Decimal(120)

        await ned.send("/expenses")
        await ned.press(1)
        await ned.press("🗑 Delete")
        assert "Delete the expense TWD 120.00" in (ned.last.text or "")
        deleted_note = (await ned.press("🗑 Delete"))[-1]
        assert "was deleted" in (deleted_note.text or "") and ned.labels() == ["♻️ Restore"]
        assert (await bot.services.expenses.expenses.month(neds)).items == ()

        # Restoring: nobody but Ned — not a colleague, not his manager — brings it back by a forged press.
        for chatter in (nat, mia):
            replies = await chatter._do(bot.api.press(chatter.user, None, f"ex:undel:{expense.id}", enqueue=False,
                                                      forged=True))
            assert bot.told(replies, bot.t("en", "error.not_found"))
        assert (await bot.services.expenses.expenses.month(neds)).items == ()
        back = (await ned.press("♻️ Restore", deleted_note.message_id))[-1].text or ""
        assert "The expense is back." in back and "TWD 120.00" in back
        assert [i.expense.id for i in (await bot.services.expenses.expenses.month(neds)).items] == [expense.id]
        replies = await ned._do(bot.api.press(ned.user, None, f"ex:undel:{expense.id}", enqueue=False,
                                              forged=True))  # twice: it is not deleted any more
        assert bot.told(replies, bot.t("en", "error.not_found"))
        async with engine.connect() as conn:
            a = t.audit_log.c
            actions = (await conn.execute(select(a.action).where(a.entity == "expense", a.entity_id == expense.id)
                                          .order_by(a.id))).scalars().all()
        assert actions[-2:] == ["delete", "restore"]
        await bot.services.expenses.expenses.delete(neds, expense.id)

        await _log_and_approve(bot, ned, mia, "/expense 70 parking")
        approved = (await bot.services.expenses.expenses.month(neds)).items[0].expense
        assert approved.status is Status.APPROVED
        await ned.send("/expenses")
        await ned.press(1)
        assert "✏️ Edit" not in ned.labels()
        for data in (f"ex:del:{approved.id}", f"ex:delok:{approved.id}", f"ex:ec:{approved.id}:1",
                     f"ex:edit:{approved.id}"):
            replies = await ned._do(bot.api.press(ned.user, None, data, enqueue=False, forged=True))
            assert bot.told(replies, bot.t("en", "expenses.error_locked"))
        after = await bot.services.expenses.expenses.card(neds, approved.id)
        assert after.expense.amount == Decimal(70) and after.expense.deleted_at is None


async def test_reports_in_scope_with_the_xlsx_file(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        mia, _ = await _join(bot, MIA, "Mia", "manager", sales, "zh-hans")
        ned, _ = await _join(bot, NED, "Ned", "rep", sales)
        nat, _ = await _join(bot, NAT, "Nat", "rep", sales)
        await _log_and_approve(bot, ned, mia, "/expense 300 dinner")
        await _log_and_approve(bot, nat, mia, "/expense 45 USD taxi")

        mine = await ned.text_of("/expensereport")
        assert "Expense report 2026-11" in mine and "Total: TWD 300.00" in mine and "Nat" not in mine
        assert "I could not read that period" in await ned.text_of("/expensereport someday")
        team = await mia.text_of("/expensereport 2026")
        assert "费用报表 2026" in team and "按人员" in team and "Ned" in team and "Nat" in team
        assert "TWD 300.00" in team and "USD 45.00" in team
        await mia.press("📄 XLSX")
        await wait_for_files(bot.app)
        document = bot.api.documents(MIA)[-1]
        assert document.filename == "expenses-2026.xlsx"
        book = load_workbook(io.BytesIO(document.content))
        rows = [tuple(c.value for c in row) for row in book["按人员"].iter_rows(min_row=2)]
        assert sorted(rows) == [("Nat", "USD", 45, 1), ("Ned", "TWD", 300, 1)]
        await ned._do(bot.api.press(ned.user, None, "er:x:99999999", enqueue=False, forged=True))
        assert bot.api.documents(NED) == []


async def test_categories_are_data_kept_in_chat(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        ada = bot.chatters[ADMIN_ID]
        mia, mias = await _join(bot, MIA, "Mia", "manager", sales)
        nat, nats = await _join(bot, NAT, "Nat", "rep", sales, "zh-hant")

        await ada.send("/expensecategories")
        assert ada.labels()[:2] == ["Travel", "Meals"] and ada.labels()[-1] == "➕ Add a category"
        await ada.press("➕ Add a category")
        assert "The key is 2–30 lowercase" in await ada.text_of("教育 | Training")
        assert "Give one name, or three" in await ada.text_of("training | A | B")
        echoed = await ada.text_of("training | Training | 教育訓練 | 教育培训")
        assert "Add the category training?" in echoed and "Training | 教育訓練 | 教育培训" in echoed
        assert "Please choose one of the buttons" in await ada.text_of("ok")
        added = (await ada.press("✅ Create"))[-1].text or ""
        assert "Category added." in added and "繁體中文: 教育訓練" in added
        assert "類別：教育訓練" in await nat.text_of("/expense 800 教育訓練 講座")
        await nat.press("取消")

        await ada.press("✏️ Rename")
        assert "Changed." in await ada.text_of("Courses | 課程 | 课程")
        assert "類別：課程" in await nat.text_of("/expense 800 課程")
        await nat.press("取消")

        # A manager sets budgets but does not rename the company's categories; a forged press changes nothing.
        listed = await mia.text_of("/expensecategories")
        assert "Expense categories" in listed and "➕ Add a category" not in mia.labels()
        await mia.press("Courses")
        assert mia.labels() == ["◀️ Back"]  # read only
        training = next(c for c in await bot.services.expenses.expenses.categories(mias) if c.key == "training")
        await mia.send("/budget")
        for data in (f"ec:off:{training.id}", f"ec:ren:{training.id}", "ec:add", "ecn:save"):
            await mia._do(bot.api.press(mia.user, None, data, enqueue=False, forged=True))
        assert training in await bot.services.expenses.expenses.categories(mias)

        deactivated = (await ada.press("⚫ Deactivate"))[-1].text or ""
        assert "Inactive" in deactivated and ada.labels()[1] == "🟢 Activate"
        assert training.id not in {c.id for c in await bot.services.expenses.expenses.categories(nats)}
        assert "類別：其他" in await nat.text_of("/expense 800 課程")  # no longer a category word
        await ada.press("🟢 Activate")
        assert training.id in {c.id for c in await bot.services.expenses.expenses.categories(nats)}


async def test_an_alert_not_told_at_approval_is_sent_by_the_job(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        sales = await _sales(bot)
        mia, mias = await _join(bot, MIA, "Mia", "manager", sales, "zh-hans")
        _, nats = await _join(bot, NAT, "Nat", "rep", sales)
        expenses = bot.services.expenses
        travel = next(c for c in await expenses.expenses.categories(nats) if c.key == "travel")
        await expenses.budgets.set(mias, BudgetDraft(department_id=sales, category_id=travel.id, year=2026,
                                                     amount=Decimal(100), currency="TWD"))
        expense = (await expenses.expenses.create(nats, ExpenseFields(
            amount=Decimal(85), currency="TWD", category_id=travel.id, spent_on=date(2026, 11, 20)))).card.expense
        decided = await expenses.expenses.approve(mias, expense.id)  # no chat: nobody was told
        assert await expenses.budgets.unsent() == list(decided.alerts)

        assert await send_unsent_alerts(bot.services, bot.app.bot, bot.runtime.catalogs, "en") == 1
        assert "2026 年预算已使用 80%" in (mia.last.text or "")
        assert await expenses.budgets.unsent() == []
        assert await send_unsent_alerts(bot.services, bot.app.bot, bot.runtime.catalogs, "en") == 0
