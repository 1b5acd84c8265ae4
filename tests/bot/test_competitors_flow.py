"""The competitor archive in chat: intel with a photo of a flyer for a competitor not yet in the archive (asked
before it is created, echoed before it is saved) → the card; the opportunity card's "⚔️ Competitors"; a lost
opportunity asking its owner who won; win/loss per quarter and prices beside ours; forged presses; three
languages; wrong input at every step."""

from __future__ import annotations

import os
import stat
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.competitors.model import IntelKind, LossAnswer
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from crm.sales.model import ProductFields
from crm.sales.opportunity_model import Opportunity, OpportunityFields
from scheduler.competitors.losses import ask_unasked
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

MIA, NED, NAT, SUE = 3101, 3102, 3103, 3104


async def _join(bot: BotHarness, tg_id: int, name: str, role: str, language: str = "en") -> tuple[Chatter, Actor]:
    admin = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await bot.services.organisation.roles.assignable(admin)}
    invite = await bot.services.organisation.invites.create(admin, roles[role], admin.department_id)
    chatter = bot.user(tg_id, name, language_code=language)
    await chatter.send(f"/start {invite.code}")
    actor = await bot.services.organisation.identity.actor_for(TelegramIdentity(tg_id, name, language_code=language))
    assert actor is not None
    return chatter, actor


async def _forge(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    """A press of callback data no message of this chat carries."""
    return await chatter._do(bot.api.press(chatter.user, chatter.last.message_id, data, enqueue=False, forged=True))


def _text(replies: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in replies)


async def _intel_rows(engine: AsyncEngine) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(t.competitor_intel)))


async def test_intel_photo_for_a_new_competitor_is_asked_echoed_saved_and_shown(engine: AsyncEngine,
                                                                               clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, nats = await _join(bot, NAT, "Nat", "rep", "zh-hant")
        await bot.services.customers.customers.create(nats, CustomerDraft(name="台積電"), force=True)

        assert "/intel <競爭對手> <所見內容>" in await nat.text_of("/intel")  # alone: how to use it
        assert "@" in await nat.text_of("/intel 大同 冷氣八折 @沒有這家")  # an unknown customer: said, nothing kept

        replies = await nat._do(bot.api.photo(nat.user, caption="#intel 大同 冷氣全面八折 NT$18,900 @台積電",
                                              enqueue=False))
        asked = _text(replies)
        assert "還沒有名為「大同」的競爭對手" in asked
        assert nat.labels() == ["➕ 建立「大同」", "取消"]
        assert "請點選上方的按鈕" in await nat.text_of("好")  # typed text is no answer to the question
        assert await bot.services.competitors.competitors.names(nats) == []  # nothing created yet

        echoed = _text(await nat.press("➕ 建立「大同」"))
        assert "這樣對嗎" in echoed and "競爭對手：大同" in echoed and "客戶：台積電" in echoed
        assert "類型：促銷" in echoed and "價格：TWD 18,900.00" in echoed and "已附照片" in echoed
        assert "日期：今天" in echoed  # no day named: the day it is sent
        assert await _intel_rows(engine) == []  # nothing before the tap
        assert "這樣對嗎" in await nat.text_of("儲存")  # typed at the echo: shown again
        saved = _text(await nat.press("✅ 儲存"))
        assert "情報已儲存" in saved and "⚔️ 大同" in saved and "冷氣全面八折" in saved and "@台積電" in saved

        rows = await _intel_rows(engine)
        assert len(rows) == 1
        row = rows[0]
        assert row.kind == IntelKind.PROMOTION.value and row.price == Decimal("18900") and row.currency == "TWD"
        assert row.file_id and row.file_path == f"intel/intel-{row.id}.jpg"
        kept = bot.runtime.settings.data_dir / row.file_path
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600

        # A second message names the competitor in another case and width: no question this time.
        again = await nat.text_of("/intel 大同 參加台北國際電子展")
        assert "競爭對手：大同" in again and "類型：活動" in again
        await nat.press("取消")
        assert len(await _intel_rows(engine)) == 1

        # A day named in the text is the day it was seen (the clock's Thursday 26 November in Taipei).
        dated = await nat.text_of("/intel 大同 上週五 新竹展覽 發傳單")
        assert "日期：2026-11-20" in dated
        await nat.press("✅ 儲存")
        assert sorted(str(r.seen_on) for r in await _intel_rows(engine)) == ["2026-11-20", "2026-11-26"]


async def test_similar_names_are_offered_and_forged_picks_change_nothing(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await _join(bot, NED, "Ned", "rep", "zh-hans")
        acme = await bot.services.competitors.competitors.create(neds, "Acme Printers")
        asked = await ned.text_of("#Intel Acme-Print price 12900 USD for the X200")  # a text tagged
        assert "还没有名为「Acme-Print」的竞争对手" in asked and "或者您指的是" in asked
        assert ned.labels() == ["➕ 创建「Acme-Print」", "Acme Printers", "取消"]
        forged = await _forge(bot, ned, "cpi:pick:999999")
        assert bot.told(forged, bot.t("zh-Hans", "error.stale_button"))
        echoed = _text(await ned.press("Acme Printers"))
        assert "竞争对手：Acme Printers" in echoed and "价格：USD 12,900.00" in echoed and "类型：价格" in echoed
        await ned.press("✅ 保存")
        assert (await bot.services.competitors.competitors.card(neds, acme.id)).intel[0].intel.price == 12900
        stale = await _forge(bot, ned, "cpi:save")  # the draft is gone: a second save stores nothing
        assert bot.told(stale, bot.t("zh-Hans", "error.stale_button"))
        assert len(await _intel_rows(engine)) == 1


async def _opportunity(bot: BotHarness, actor: Actor, customer: str, title: str) -> Opportunity:
    created = await bot.services.customers.customers.create(actor, CustomerDraft(name=customer), force=True)
    opportunity: Opportunity = await bot.services.sales.opportunities.create(actor, OpportunityFields(
        customer_id=created.id, title=title, amount=Decimal(1000), currency="TWD"))
    return opportunity


async def test_a_lost_opportunity_asks_who_won_and_the_card_counts_wins_and_losses(engine: AsyncEngine,
                                                                                  clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, mias = await _join(bot, MIA, "Mia", "manager")
        ned, neds = await _join(bot, NED, "Ned", "rep")
        sue, _ = await _join(bot, SUE, "Sue", "rep", "zh-hant")
        service = bot.services.competitors.competitors
        acme = await service.create(mias, "Acme")
        await service.create(mias, "Globex")
        stages = {s.key: s.id for s in await bot.services.sales.opportunities.stages(neds)}
        opps = bot.services.sales.opportunities

        # Last quarter (the clock starts 2026-11-26): one linked opportunity lost, nobody said who won.
        clock.advance(timedelta(days=-90))  # 2026-08-28
        old = await _opportunity(bot, neds, "Old Co", "Old deal")
        await service.toggle(neds, old.id, acme.id)
        await opps.move(neds, old.id, stages["lost"], "budget cut")
        clock.advance(timedelta(days=90))
        await ask_unasked(bot.services, bot.app.bot, bot.runtime.catalogs, "en")
        await ned.press("Nobody")
        await ned.press("Skip")

        # This quarter: one won and one lost, linked in chat through the opportunity card.
        won = await _opportunity(bot, neds, "Won Co", "Won deal")
        await service.toggle(neds, won.id, acme.id)
        await opps.move(neds, won.id, stages["won"])
        lost = await _opportunity(bot, neds, "Lost Co", "Lost deal")
        await _forge(bot, ned, f"op:open:{lost.id}")  # as from /pipeline
        assert "⚔️ Competitors" in ned.labels()
        await ned.press("⚔️ Competitors")
        assert "➕ Acme" in ned.labels() and "➕ Globex" in ned.labels()
        linked = _text(await ned.press("➕ Acme"))
        assert "competitors met — Acme" in linked and "✅ Acme" in ned.labels()
        forged = await _forge(bot, sue, f"cpo:tg:{lost.id}:{acme.id}")  # another rep's opportunity
        assert bot.told(forged, bot.t("zh-Hant", "error.not_found"))
        assert [c.name for c in (await service.links(neds, lost.id)).linked] == ["Acme"]

        await opps.move(neds, lost.id, stages["lost"], "price")
        assert await ask_unasked(bot.services, bot.app.bot, bot.runtime.catalogs, "en") == 1
        push = bot.api.last_message(NED).text or ""
        assert "Lost deal" in push and "Lost Co" in push and "Which competitor won" in push
        assert ned.labels() == ["Acme", "Another one", "Nobody"]
        assert await ask_unasked(bot.services, bot.app.bot, bot.runtime.catalogs, "en") == 0  # asked once

        forged = await _forge(bot, sue, f"cpl:w:{lost.id}:{acme.id}")  # not Sue's question
        assert bot.told(forged, bot.t("zh-Hant", "error.not_found"))
        garbage = await _forge(bot, ned, f"cpl:w:{lost.id}:999999")  # not a linked competitor
        assert bot.told(garbage, bot.t("en", "error.not_found"))
        answered = _text(await ned.press("Acme"))
        assert "Recorded: Acme won it" in answered and "Why did they win" in answered
        assert "recorded" in await ned.text_of("They were 15% cheaper")
        again = await _forge(bot, ned, f"cpl:n:{lost.id}")  # answered already: nothing changes
        assert bot.told(again, bot.t("en", "competitors.error_answered"))
        async with engine.connect() as conn:
            row = (await conn.execute(select(t.opportunity_losses)
                                      .where(t.opportunity_losses.c.opportunity_id == lost.id))).one()
        assert row.answer == LossAnswer.COMPETITOR.value and row.winner_id == acme.id
        assert row.why == "They were 15% cheaper"

        # Hand-computed: this quarter 1 won, 1 lost (to Acme: 1) → 50 %; last quarter 0 won, 1 lost (to nobody).
        card = await mia.text_of("/competitor acme")
        assert "This quarter (from 2026-10-01): won 1, lost 1 (to them: 1), win rate 50%" in card
        assert "Last quarter (from 2026-07-01): won 0, lost 1 (to them: 0), win rate 0%" in card
        # Sue's scope holds none of Ned's opportunities: her figures are zero.
        sue_card = await sue.text_of("/competitor Acme")
        assert "本季（自 2026-10-01）：贏 0、輸 0（輸給對方：0），勝率 —" in sue_card


async def test_products_beside_ours_edits_delete_restore_and_wrong_input(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        ada = await bot.services.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        printers = await bot.services.sales.catalog.create_category(ada, "Printers")
        await bot.services.sales.catalog.create(ada, ProductFields(
            sku="P-1", name="Our P1", category_id=printers.id, list_price=Decimal(11500), currency="TWD"))
        acme = await bot.services.competitors.competitors.create(ada, "Acme")

        assert "No competitor" in await admin.text_of("/competitor Nobody Inc")
        await admin.send("/competitors")
        await admin.press("Acme")
        await admin.press("➕ Product")
        assert "name and a price" in await admin.text_of("just words")  # wrong input: asked again
        assert "No single category" in await admin.text_of("X200 12900 #Scanners")
        echoed = await admin.text_of("X200 printer 12900 #Printers")
        assert "Product: X200 printer" in echoed and "Price: TWD 12,900.00" in echoed
        assert "Our category: Printers" in echoed
        assert "choose one of the buttons" in await admin.text_of("yes")
        card = _text(await admin.press("✅ Save"))
        assert "Prices in Printers" in card and "Theirs: X200 printer TWD 12,900.00" in card
        assert "Ours: Our P1 TWD 11,500.00" in card

        await admin.press("✏️ Edit")
        await admin.press("Weaknesses")
        edited = await admin.text_of("Slow service in the south")
        assert "Serious weaknesses: Slow service in the south" in edited
        await admin.press("✏️ Edit")
        await admin.press("Name")
        await bot.services.competitors.competitors.create(ada, "Globex")
        assert "already a competitor" in await admin.text_of("globex")  # taken: asked again
        await admin.text_of("/cancel")

        await _forge(bot, admin, f"cp:del:{acme.id}")
        await admin.press("🗑 Delete")
        assert "No competitor" in await admin.text_of("/competitor Acme")
        await admin.send("/competitors")
        await admin.press("🗑 Deleted competitors")
        restored = _text(await admin.press("Acme"))
        assert "Restored" in restored and "⚔️ Acme" in restored
        async with engine.connect() as conn:
            actions = [r.action for r in await conn.execute(
                select(t.audit_log).where(t.audit_log.c.entity == "competitor",
                                          t.audit_log.c.entity_id == acme.id).order_by(t.audit_log.c.id))]
        assert actions == ["create", "update", "delete", "restore"]
        assert date(2026, 11, 26).isoformat() in restored  # the product's date seen


async def test_intel_is_edited_deleted_and_restored_by_its_author_only(engine: AsyncEngine,
                                                                       clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        nat, _ = await _join(bot, NAT, "Nat", "rep", "zh-hant")
        ned, _ = await _join(bot, NED, "Ned", "rep")
        await nat.send("/intel 大同 昨天 新竹店 冷氣八折")
        await nat.press("➕ 建立「大同」")
        await nat.press("✅ 儲存")
        [row] = await _intel_rows(engine)
        assert str(row.seen_on) == "2026-11-25" and row.kind == IntelKind.PROMOTION.value and row.price is None

        await nat.send("/competitor 大同")
        opened = _text(await nat.press("✏️ 2026-11-25 昨天 新竹店 冷氣八折"))
        assert "🕵️ 情報" in opened and "冷氣八折" in opened
        await nat.press("📅 日期")
        assert "看不懂是過去的哪一天" in await nat.text_of("明天")  # a day to come: asked again
        assert "✅" in await nat.text_of("前天")
        await nat.press("💲 價格")
        assert "看不懂價格" in await nat.text_of("很便宜")
        await nat.text_of("NT$990")
        assert "價格" in (await nat.press("價格"))[-1].text  # type: ignore[operator]  # the kind
        await nat.press("✏️ 內容")
        assert "請再試一次" in await nat.text_of("   ")  # no text: asked again
        await nat.text_of("新竹店 冷氣 990 元")
        [row] = await _intel_rows(engine)
        assert (str(row.seen_on), row.kind, row.price, row.currency, row.text) == (
            "2026-11-24", IntelKind.PRICE.value, Decimal(990), "TWD", "新竹店 冷氣 990 元")

        # Someone else's: Ned (a rep: his own scope) can neither open, change, delete nor restore it.
        await ned.send("/competitors")
        for data in (f"cie:open:{row.id}", f"cie:f:{row.id}:t", f"cie:k:{row.id}:1", f"cie:del:{row.id}",
                     f"cie:rst:{row.id}"):
            assert bot.told(await _forge(bot, ned, data), bot.t("en", "error.not_found"))
        assert (await _intel_rows(engine))[0].deleted_at is None

        deleted = _text(await nat.press("🗑 刪除"))
        assert "情報已刪除" in deleted
        assert (await _intel_rows(engine))[0].deleted_at is not None
        assert bot.told(await _forge(bot, ned, f"cie:rst:{row.id}"), bot.t("en", "error.not_found"))
        restored = _text(await nat.press("♻️ 復原"))
        assert "冷氣 990 元" in restored and (await _intel_rows(engine))[0].deleted_at is None
        async with engine.connect() as conn:
            a = t.audit_log.c
            actions = (await conn.execute(select(a.action).where(a.entity == "competitor_intel")
                                          .order_by(a.id))).scalars().all()
        assert actions == ["create", "update", "update", "update", "update", "delete", "restore"]


async def test_competitors_are_named_on_an_opportunity_only_as_links_in_three_languages(
        engine: AsyncEngine, clock: ManualClock) -> None:
    """The opportunity has no free-text competitors any more: ⚔️ → ✏️ Another competitor → a known name (any
    case or width) is linked; an unknown one asks before it is created; typed text at the question is not an
    answer; forged presses change nothing."""
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        _, mias = await _join(bot, MIA, "Mia", "manager")
        service = bot.services.competitors.competitors
        tatung = await service.create(mias, "大同 Tatung")
        sampo = await service.create(mias, "Sampo")
        sue, _ = await _join(bot, SUE, "Sue", "rep", "zh-hant")
        cases = [(NED, "Ned", "en", "Acme Co", "ⓐ", "大同 TATUNG", "Newco"),
                 (NAT, "Nat", "zh-hant", "台積電", "ⓑ", "大同　tatung", "聲寶新創"),
                 (3105, "Ning", "zh-hans", "华为", "ⓒ", "大同 TaTung", "新对手")]
        for tg_id, name, language, customer, tag, known, unknown in cases:
            chatter, actor = await _join(bot, tg_id, name, "rep", language)
            locale = {"en": "en", "zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}[language]
            opportunity = await _opportunity(bot, actor, customer, f"Deal {tag}")
            await _forge(bot, chatter, f"op:open:{opportunity.id}")
            await chatter.press(bot.t(locale, "sales.btn_edit"))
            assert not any("competitor" in label.casefold() or "競爭" in label or "竞争" in label
                           for label in chatter.labels())  # no free-text field to type into
            await _forge(bot, chatter, f"op:open:{opportunity.id}")
            await chatter.press(bot.t(locale, "competitors.btn_opportunity"))
            await chatter.press(bot.t(locale, "competitors.btn_name"))
            assert bot.t(locale, "competitors.ask_link_name", title=f"Deal {tag}") in (chatter.last.text or "")
            linked = await chatter.text_of(known)
            assert bot.t(locale, "competitors.linked", name="大同 Tatung") in linked
            assert "✅ 大同 Tatung" in chatter.labels()

            await chatter.press(bot.t(locale, "competitors.btn_name"))
            asked = await chatter.text_of(unknown)
            assert bot.t(locale, "competitors.ask_new", name=unknown) in asked
            assert await chatter.text_of("yes please") == bot.t(locale, "input.use_buttons")  # not an answer
            assert [c.name for c in (await service.links(actor, opportunity.id)).linked] == ["大同 Tatung"]
            forged = await _forge(bot, sue, f"cpo:new:{opportunity.id}")  # not Sue's question
            assert bot.told(forged, bot.t("zh-Hant", "error.stale_button"))
            created = _text(await chatter.press(bot.t(locale, "competitors.btn_create", name=unknown)))
            assert bot.t(locale, "competitors.linked", name=unknown) in created
            names = sorted(c.name for c in (await service.links(actor, opportunity.id)).linked)
            assert names == sorted(["大同 Tatung", unknown])
            again = await _forge(bot, chatter, f"cpo:new:{opportunity.id}")  # answered: out of date
            assert bot.told(again, bot.t(locale, "error.stale_button"))

        # a similar name offered and picked; Sue (another rep) cannot link to Ned's opportunity at all
        ned, neds = bot.user(NED, "Ned", language_code="en"), await bot.services.organisation.identity.actor_for(
            TelegramIdentity(NED, "Ned", language_code="en"))
        assert neds is not None
        deal = await _opportunity(bot, neds, "Beta", "Second deal")
        await _forge(bot, ned, f"cpo:nm:{deal.id}")
        asked = await ned.text_of("Sampo Corp")
        assert "Sampo" in ned.labels()
        picked = _text(await ned.press("Sampo"))
        assert "Linked: Sampo" in picked
        assert [c.id for c in (await service.links(neds, deal.id)).linked] == [sampo.id]
        for data in (f"cpo:nm:{deal.id}", f"cpo:pk:{deal.id}:{tatung.id}", f"cpo:tg:{deal.id}:{tatung.id}"):
            await _forge(bot, sue, data)
        assert [c.id for c in (await service.links(neds, deal.id)).linked] == [sampo.id]
        async with engine.connect() as conn:
            a = t.audit_log.c
            actions = (await conn.execute(select(a.action).where(a.entity == "opportunity_competitor",
                                                                 a.entity_id == deal.id))).scalars().all()
        assert actions == ["link"]


async def test_names_kept_from_the_free_text_are_shown_and_become_links(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        ned, neds = await _join(bot, NED, "Ned", "rep")
        sue, _ = await _join(bot, SUE, "Sue", "rep")
        service = bot.services.competitors.competitors
        sampo = await service.create(neds, "Sampo")
        deal = await _opportunity(bot, neds, "Acme", "Old deal")
        async with engine.begin() as conn:  # as migration 0031 leaves what the archive did not know
            await conn.execute(t.opportunities.update().where(t.opportunities.c.id == deal.id)
                               .values(competitors_typed="Foxconn, Sampo Ltd"))
        card = _text(await _forge(bot, ned, f"op:open:{deal.id}"))
        assert "Competitors named before, not in the archive: Foxconn, Sampo Ltd" in card
        await ned.press("⚔️ Competitors")
        assert "✏️ Foxconn" in ned.labels() and "✏️ Sampo Ltd" in ned.labels()
        for data in (f"cpo:ty:{deal.id}:0", f"cpo:ty:{deal.id}:1"):  # another rep: not found, nothing asked
            assert bot.told(await _forge(bot, sue, data), bot.t("en", "error.not_found"))
        assert bot.told(await _forge(bot, ned, f"cpo:ty:{deal.id}:7"), bot.t("en", "error.stale_button"))

        asked = _text(await ned.press("✏️ Foxconn"))
        assert 'There is no competitor "Foxconn" yet' in asked
        created = _text(await ned.press('➕ Create "Foxconn"'))
        assert "Linked: Foxconn" in created and "✏️ Foxconn" not in ned.labels()
        await ned.press("✏️ Sampo Ltd")
        picked = _text(await ned.press("Sampo"))  # the similar one, for the kept name
        assert "Linked: Sampo" in picked and not any(label.startswith("✏️ Sampo") for label in ned.labels())
        links = await service.links(neds, deal.id)
        assert sorted(c.name for c in links.linked) == ["Foxconn", "Sampo"] and links.typed == ()
        assert sampo.id in {c.id for c in links.linked}
        card = _text(await _forge(bot, ned, f"op:open:{deal.id}"))
        assert "named before" not in card
        async with engine.connect() as conn:
            a = t.audit_log.c
            kept = (await conn.execute(select(a.before, a.after).where(a.entity == "opportunity",
                                                                       a.entity_id == deal.id, a.action == "update")
                                       .order_by(a.id))).all()
        assert [(r.before, r.after) for r in kept] == [
            ({"competitors_typed": "Foxconn, Sampo Ltd"}, {"competitors_typed": "Sampo Ltd"}),
            ({"competitors_typed": "Sampo Ltd"}, {"competitors_typed": None})]
