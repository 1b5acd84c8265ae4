"""The same interaction logged twice within minutes: warned at "Check and save" before anything is saved, saved
again only on "Save anyway"; and "↩️ Undo" under every saved interaction for UNDO_WINDOW — driven through the chat,
in English and Traditional Chinese."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.followups.followups import DUPLICATE_WINDOW, UNDO_WINDOW
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Actor
from storage import tables as t
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, BotHarness, Chatter, running_bot

BOB, ZED, CAROL = 5201, 5202, 5203


async def _reps(bot: BotHarness) -> dict[int, Actor]:
    await bot.user(ADMIN_ID, "Ada").send("/start")
    s = bot.services
    admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
    roles = {r.name: r.id for r in await s.organisation.roles.list(admin)}
    reps: dict[int, Actor] = {}
    for tg, name, language in ((BOB, "Bob", "en"), (ZED, "小哲", "zh-hant"), (CAROL, "Carol", "en")):
        invite = await s.organisation.invites.create(admin, roles["rep"], admin.department_id)
        who = TelegramIdentity(tg, name, language_code=language)
        await s.organisation.invites.accept(invite.code, who)
        actor = await s.organisation.identity.actor_for(who)
        assert actor is not None
        reps[tg] = actor
    return reps


async def _press(bot: BotHarness, chatter: Chatter, data: str) -> list[ChatMessage]:
    """A press of ``data`` whatever the keyboard now shows: a second tap before the edit arrived, an old message,
    or a modified client."""
    return await chatter._do(bot.api.press(chatter.user, None, data, enqueue=False, forged=True))


async def _rows(engine: AsyncEngine, table: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


async def test_the_same_visit_twice_is_warned_before_saving(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        reps = await _reps(bot)
        await bot.services.customers.customers.create(reps[BOB], CustomerDraft(name="Globex"), force=True)
        bob = bot.user(BOB, "Bob")
        await bob.send("/log Globex visited the shop")
        await bob.press("✅ Save")
        assert "↩️ Undo" in bob.labels()
        clock.advance(timedelta(minutes=3))
        # Retyped with other spaces: still the same visit. Nothing is saved before the rep decides.
        await bob.send("/log Globex   visited  the shop ")
        reply = "\n".join(m.text or "" for m in await bob.press("✅ Save"))
        assert "You logged the same visit 3 minutes ago" in reply
        assert bob.labels() == ["✅ Save anyway", "✖️ Don't save"]
        assert len(await _rows(engine, t.interactions)) == 1
        assert bot.t("en", "input.use_buttons") in await bob.text_of("save it")  # typed text is not an answer
        assert "Nothing was saved" in "\n".join(m.text or "" for m in await bob.press("✖️ Don't save"))
        assert len(await _rows(engine, t.interactions)) == 1
        # Saved anyway when the rep says so.
        await bob.send("/log Globex visited the shop")
        await bob.press("✅ Save")
        await bob.press("✅ Save anyway")
        assert len(await _rows(engine, t.interactions)) == 2
        # Another text, another kind, or after the window: no warning.
        await bob.send("/log Globex visited the shop again")
        assert "Saved" in "\n".join(m.text or "" for m in await bob.press("✅ Save"))
        clock.advance(DUPLICATE_WINDOW + timedelta(seconds=1))
        await bob.send("/log Globex visited the shop again")
        assert "Saved" in "\n".join(m.text or "" for m in await bob.press("✅ Save"))
        assert len(await _rows(engine, t.interactions)) == 4


async def test_undo_takes_back_the_interaction_and_its_follow_up(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        reps = await _reps(bot)
        customer = await bot.services.customers.customers.create(reps[BOB], CustomerDraft(name="Globex"), force=True)
        bob, carol = bot.user(BOB, "Bob"), bot.user(CAROL, "Carol")
        await bob.send("/log Globex called about prices")
        await bob.press("✅ Save")
        first = (await _rows(engine, t.interactions))[-1]
        clock.advance(timedelta(minutes=30))
        await bob.send("/log Globex met the buyer next: tomorrow 3pm send the quote")
        await bob.press("✅ Save")
        second = (await _rows(engine, t.interactions))[-1]
        # Someone else's forged press changes nothing (pressed on a keyboard of her own chat).
        await carol.send("/log")
        assert bot.told(await _press(bot, carol, f"fu:undo:{second.id}"), bot.t("en", "error.not_found"))
        assert (await _rows(engine, t.interactions))[-1].deleted_at is None
        replies = await bob.press("↩️ Undo")
        text = "\n".join(m.text or "" for m in replies)
        assert "Undone" in text and "send the quote" in text
        interactions = await _rows(engine, t.interactions)
        assert [r.deleted_at is not None for r in interactions] == [False, True]
        assert [f.status for f in await _rows(engine, t.followups)] == ["cancelled"]
        audit = [(r.action, r.entity) for r in await _rows(engine, t.audit_log)]
        assert ("undo", "interaction") in audit and ("cancel", "followup") in audit
        # Pressed twice: said so, nothing more happens.
        assert bot.told(await _press(bot, bob, f"fu:undo:{second.id}"), "already undone")
        # The card and the last contact no longer count it.
        row = next(r for r in await _rows(engine, t.customers) if r.id == customer.id)
        assert row.last_contact_at == first.occurred_at
        card = await bot.services.customers.customers.card(reps[BOB], customer.id)
        assert [i.text for i in card.recent_interactions] == ["called about prices"]
        # Later than UNDO_WINDOW: too late, and the interaction stays.
        assert bot.told(await _press(bot, bob, f"fu:undo:{first.id}"), "Too late to undo")
        assert (await _rows(engine, t.interactions))[0].deleted_at is None


async def test_in_traditional_chinese(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        reps = await _reps(bot)
        await bot.services.customers.customers.create(reps[ZED], CustomerDraft(name="王小明"), force=True)
        zed = bot.user(ZED, "小哲")
        await zed.send("/log 王小明 拜訪 看了新產品")
        await zed.press("✅ 儲存")
        clock.advance(timedelta(minutes=5))
        await zed.send("/log 王小明 拜訪 看了新產品")
        reply = "\n".join(m.text or "" for m in await zed.press("✅ 儲存"))
        assert "你在 5 分鐘前記錄過相同的拜訪" in reply
        assert zed.labels() == ["✅ 仍然儲存", "✖️ 不要儲存"]
        await zed.press("✅ 仍然儲存")
        assert len(await _rows(engine, t.interactions)) == 2
        assert "已復原" in "\n".join(m.text or "" for m in await zed.press("↩️ 復原"))
        assert [r.deleted_at is not None for r in await _rows(engine, t.interactions)] == [False, True]
        clock.advance(UNDO_WINDOW)
        assert bot.told(await _press(bot, zed, f"fu:undo:{(await _rows(engine, t.interactions))[0].id}"),
                        "無法復原")
