"""Whole flows as people use them: admin bootstrap, invite → join → role change → access change, strangers."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from tests.support.bot_harness import ADMIN_ID, running_bot


def _invite_link(text: str) -> str:
    match = re.search(r"https://t\.me/crm_test_bot\?start=(inv_[A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)


async def test_stranger_learns_nothing(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        eve = bot.user(666, "Eve")
        for attempt in ("/start", "/users", "/roles", "hello", "/start inv_forged_code_123"):
            replies = await eve.send(attempt)
            assert len(replies) == 1
            text = replies[0].text or ""
            assert "Company" not in text and "admin" not in text.lower(), text
        assert "private bot" in (await eve.send("/help"))[0].text  # type: ignore[operator]
        assert "not valid" in (await eve.send("/start inv_forged_code_123"))[0].text  # type: ignore[operator]


async def test_invite_join_role_change_and_deactivation(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        assert "Ada" in await admin.text_of("/start")

        await admin.send("/invite")
        assert "Sales rep" in admin.labels()
        await admin.press("Sales rep")
        await admin.press("Company")
        code = _invite_link(admin.last.text or "")

        bob = bot.user(2002, "Bob", language_code="zh-hant")
        joined = await bob.text_of(f"/start {code}")
        assert "歡迎加入" in joined and "/roles" not in joined
        assert "沒有" in await bob.text_of("/roles")  # permission denied, in Bob's language

        # The link is single use.
        carol = bot.user(2003, "Carol")
        assert "already been used" in await carol.text_of(f"/start {code}")

        # The admin makes Bob a manager: his menu grows on the very next message.
        await admin.send("/users")
        await admin.press("Bob")
        await admin.press("Change role")
        await admin.press("Manager")
        assert "Manager" in (admin.last.text or "")
        assert "/invite" in await bob.text_of("/help")

        # Deactivation: Bob is locked out at once.
        await admin.press("⛔ Deactivate")
        await admin.press("Yes, deactivate")
        assert "deactivated" in (admin.last.text or "")
        assert "私人" in await bob.text_of("/help") or "內部" in await bob.text_of("/help")


async def test_admin_edits_a_role_in_chat(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/roles")
        await admin.press("Sales rep")
        await admin.press(next(label for label in admin.labels() if label.startswith("Customers")))
        assert "▫️ export" in admin.labels()
        await admin.press("▫️ export")
        assert "✅ export" in admin.labels()
        await admin.press("« Back")
        await admin.press("👁 Query scope")
        await admin.press("Customers: own records")
        assert "Customers: department" in admin.labels()

        # Create a role by copying, typed name with stray HTML.
        await admin.send("/roles")
        await admin.press("Sales rep")
        await admin.press("Copy")
        assert "Type the role" in (admin.last.text or "")
        created = await admin.text_of("Key <accounts> & partners")
        assert "Key <accounts> & partners" in created


async def test_bad_input_gets_a_clear_reply(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        assert "don't know that command" in await admin.text_of("/frobnicate")
        # Text that matches nothing: one reply, with what to try next (not "nothing found" plus "not sure").
        chatting = await admin.send("just chatting")
        assert len(chatting) == 1 and "Nothing found" in (chatting[0].text or "")
        assert "last 4 digits" in (chatting[0].text or "") and "not sure" not in (chatting[0].text or "")
        await admin.send("/timezone")
        assert "too long" in await admin.text_of("x" * 5000)
        assert "waiting for a text" in "\n".join(m.text or "" for m in await admin.photo())
        assert "don't know the time zone" in await admin.text_of("Mars/Base")
        assert "America/New_York" in await admin.text_of("America/New_York")
        assert "nothing to cancel" in await admin.text_of("/cancel")
        # A button whose record is gone is answered with an alert, never a crash.
        await admin.send("/roles")
        await admin.press("➕ New role")
        await admin.send("Temp")
        await admin.send("/roles")
        old_list = admin.last.message_id
        await admin.send("/roles")
        await admin.press("Temp")
        await admin.press("Delete")
        await admin.press("Yes, delete")
        replies = await admin.press("Temp", message_id=old_list)
        # The press was answered at once (the button stops spinning); the outcome follows as a message.
        assert any("Not found" in (m.text or "") for m in replies)
        # Deleted is not gone: restore it from the roles menu.
        await admin.send("/roles")
        await admin.press("🗑 Deleted roles")
        await admin.press("♻️ Restore Temp")
        assert "Temp" in (admin.last.text or "") and "Operations" in (admin.last.text or "")


async def test_language_switch(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/language")
        await admin.press("简体中文")
        assert "简体中文" in (admin.last.text or "")
        assert "我可以帮您" in await admin.text_of("/help")
        commands = bot.api.commands(language_code="zh")
        assert commands and any(c[0] == "roles" for c in commands)


async def test_a_question_survives_a_restart(engine: AsyncEngine, clock: ManualClock) -> None:
    """The bot asked for a role name, then restarted: the answer still lands where it belongs."""
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/departments")
        await admin.press("Company")
        await admin.press("➕ Sub-department")
        assert "Type the department" in (admin.last.text or "")
    async with running_bot(engine, clock) as restarted:  # a new process on the same database
        admin = restarted.user(ADMIN_ID, "Ada")
        assert "“Kaohsiung” created" in await admin.text_of("Kaohsiung")
        tree = await admin.text_of("/departments")
        assert "Kaohsiung" in tree
