"""Forged presses of every registered button with hostile arguments (out of the SQL integer range, negative,
not a number, empty, over-long), as an admin who may press them all: every press is answered, none ends in
"something went wrong", and nothing is logged as an exception."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackQueryHandler

from crm.core.clock import ManualClock
from handlers.core.common import int_arg
from tests.support.bot_harness import ADMIN_ID, running_bot

HOSTILE = ["99999999999999999999999", str(2**31), str(2**63), "-1", "-99999999999999999999", "abc", "",
           "1e3", "٣", " 1", "+1", "1_0", "x" * 200]
_LITERAL = re.compile(r"\^([A-Za-z0-9_]+(?::[A-Za-z0-9_]+)*)")


def _prefixes(app: object) -> list[str]:
    """The literal start of every button pattern the Application routes on (``^cu:open(:|$)`` → ``cu:open``)."""
    found: set[str] = set()
    for group in app.handlers.values():  # type: ignore[attr-defined]
        for handler in group:
            if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern):
                match = _LITERAL.match(handler.pattern.pattern)
                if match:
                    found.add(match.group(1))
    return sorted(found)


@pytest.mark.parametrize("part", ["99999999999999999999999", str(2**31), "-1", "abc", "", "٣", " 1", "+1", "1_0"])
def test_int_arg_refuses_what_no_button_of_ours_carries(part: str) -> None:
    from crm.core.errors import DomainError

    with pytest.raises(DomainError) as caught:
        int_arg([part], 0)
    assert caught.value.key == "error.stale_button"


def test_int_arg_takes_the_whole_integer_range() -> None:
    assert int_arg(["0", str(2**31 - 1)], 0) == 0
    assert int_arg(["0", str(2**31 - 1)], 1) == 2**31 - 1


async def test_hostile_presses_on_every_button(engine: AsyncEngine, clock: ManualClock,
                                               caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(engine, clock) as bot:
        admin = bot.user(ADMIN_ID, "Ada")
        await admin.send("/start")
        prefixes = _prefixes(bot.app)
        assert len(prefixes) > 50 and "cu:open" in prefixes  # the collection found the modules' buttons
        sorry = (bot.t("en", "error.unexpected"), bot.t("en", "error.generic"))
        await admin.send("/language")
        pressed_on = admin.last.message_id  # forged presses name a message; its keyboard does not matter
        caplog.set_level(logging.WARNING)
        for prefix in prefixes:
            seen = len(bot.api.calls)
            shapes = [f"{prefix}:{part}" for part in HOSTILE]
            shapes += [f"{prefix}:{part}:{part}" for part in HOSTILE[:4]] + [f"{prefix}:1:{HOSTILE[0]}"]
            for data in shapes:
                await bot.api.deliver(bot.app, bot.api.press(admin.user, pressed_on, data, enqueue=False,
                                                             forged=True))
                assert not bot.api.unanswered_callback_queries(), data
            said = [str(c.params.get("text") or "") for c in bot.api.calls[seen:]]
            assert not [text for text in said if any(s in text for s in sorry)], prefix
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
            assert not errors, (prefix, [r.getMessage() for r in errors])
