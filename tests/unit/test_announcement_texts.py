"""Announcements' pure rules: the body's cleaning, working hours for the nudge, and the recipients' message (what
the preview, /board and the dispatcher all render)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import Catalogs
from crm.announcements.announcements import clean_body
from crm.announcements.delivery import working_hour
from crm.announcements.model import Announcement, Attachment, AttachmentKind, Audience, AudienceKind
from crm.core.errors import ValidationFailed
from tests.fakes.bot_api import parse_html
from views.announcements.texts import message, nudge, translator

AT = datetime(2026, 11, 26, tzinfo=UTC)
CATALOGS = Catalogs()
ANNOUNCEMENT = Announcement(1, 1, "Stocktake", Audience(AudienceKind.ALL), False, AT, AT, 1, AT, AT)


def test_the_body_is_trimmed_and_bounded() -> None:
    assert clean_body("  Stocktake   Friday \n\n\n\n 9:00  ") == "Stocktake Friday\n\n9:00"
    for empty in ("", "   ", "\n\n", None):
        with pytest.raises(ValidationFailed):
            clean_body(empty)
    with pytest.raises(ValidationFailed):
        clean_body("x" * 3501)


@pytest.mark.parametrize(("local", "expected"), [
    (datetime(2026, 11, 26, 9, 0), True),  # Thursday
    (datetime(2026, 11, 26, 17, 59), True),
    (datetime(2026, 11, 26, 18, 0), False),
    (datetime(2026, 11, 26, 8, 59), False),
    (datetime(2026, 11, 28, 10, 0), False),  # Saturday
    (datetime(2026, 11, 29, 10, 0), False),  # Sunday
])
def test_working_hours(local: datetime, expected: bool) -> None:
    assert working_hour(local) is expected


def test_a_body_of_markup_characters_is_cut_before_escaping_never_inside_an_entity() -> None:
    text, rows = message(translator(CATALOGS, "en"), replace(ANNOUNCEMENT, body="<&>" * 1100), "Mia", read=False)
    assert len(text) <= 4096 and text.endswith("…") and "&lt;&amp;&gt;" in text
    parse_html(text)  # Telegram would take it
    assert rows == [[("✅ Got it", "ann:read:1")]]


@given(st.text(min_size=1, max_size=3500))
def test_any_body_renders_as_valid_telegram_html(body: str) -> None:
    try:
        cleaned = clean_body(body)
    except ValidationFailed:
        return
    text, _ = message(translator(CATALOGS, "zh-Hant"), replace(ANNOUNCEMENT, body=cleaned), "<王>", read=True)
    parse_html(text)
    assert len(text) <= 4096


def test_the_message_in_each_state() -> None:
    t = translator(CATALOGS, "zh-Hans")
    edited = replace(ANNOUNCEMENT, version=2, edited_at=AT.replace(hour=1), pinned=True,
                     attachment=Attachment(AttachmentKind.PHOTO, "file-1"))
    text, rows = message(t, edited, "Mia", read=False)
    assert text.startswith("📌📢 <b>公告</b>｜Mia") and "（已编辑）" in text
    assert [label for row in rows for label, _ in row] == ["📎 附件", "✅ 已读"]
    withdrawn, rows = message(t, replace(edited, deleted_at=AT), "Mia", read=False)
    assert "已撤回" in withdrawn and rows == []
    text, rows = nudge(translator(CATALOGS, "en"), replace(ANNOUNCEMENT, body="x" * 500), "Mia")
    assert "You have not read" in text and text.endswith("…") and rows == [[("✅ Got it", "ann:read:1")]]
