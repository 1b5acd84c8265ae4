"""How an announcement looks: the recipients' message (the same in the author's preview, in /board and in the
dispatcher's sends and edits), the "withdrawn" note, the nudge, and the author's screens."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from crm.announcements.model import (
    Announcement,
    AudienceKind,
    AuthorView,
    BoardItem,
    ReadList,
)
from outbound.telegram_send import Button
from views.core.formatting import local_time
from views.core.text import short

Translate = Callable[..., str]
Rows = list[list[Button]]
NUDGE_EXCERPT = 300
BODY_HTML_LIMIT = 3900  # Telegram counts the text after parsing, but a cut must never split an escaped entity


def _body_html(body: str) -> str:
    """The body escaped, shortened before escaping when "<" and "&" would make it too long to send whole."""
    escaped = html.escape(body, quote=False)
    cut = len(body)
    while len(escaped) > BODY_HTML_LIMIT:
        # A character escapes to at most five: cutting a fifth of the excess never cuts more than needed.
        cut -= max((len(escaped) - BODY_HTML_LIMIT) // 5, 1)
        escaped = html.escape(body[:cut], quote=False) + "…"
    return escaped


def translator(catalogs: Any, locale: str) -> Translate:
    """``t(key, **params)`` in one language, for the dispatcher, which has no CrmContext."""

    def t(key: str, /, **params: Any) -> str:
        return str(catalogs.t(locale, key, **params))

    return t


def message(t: Translate, announcement: Announcement, author: str, *, read: bool) -> tuple[str, Rows]:
    """What a recipient sees: the text and its buttons ("Got it" until pressed, the attachment)."""
    if announcement.withdrawn:
        return t("announcements.withdrawn_note", author=author), []
    head = t("announcements.header_pinned" if announcement.pinned else "announcements.header", author=author)
    parts = [head, "", _body_html(announcement.body)]
    if announcement.edited:
        parts += ["", t("announcements.edited")]
    rows: Rows = []
    if announcement.attachment is not None:
        rows.append([(t("announcements.btn_attachment"), f"ann:file:{announcement.id}")])
    if not read:
        rows.append([(t("announcements.btn_got_it"), f"ann:read:{announcement.id}")])
    return "\n".join(parts), rows


def nudge(t: Translate, announcement: Announcement, author: str) -> tuple[str, Rows]:
    body = announcement.body if len(announcement.body) <= NUDGE_EXCERPT else announcement.body[:NUDGE_EXCERPT] + "…"
    text = t("announcements.nudge", author=author) + "\n\n" + html.escape(body)
    return text, [[(t("announcements.btn_got_it"), f"ann:read:{announcement.id}")]]


def audience_text(t: Translate, kind: AudienceKind, name: str) -> str:
    if kind is AudienceKind.ALL:
        return t("announcements.audience_all")
    if kind is AudienceKind.DEPARTMENT:
        return t("announcements.audience_department", name=name)
    return t("announcements.audience_role", name=name)


def board_line(item: BoardItem, timezone: str) -> str:
    a = item.announcement
    marks = ("📌" if a.pinned else "") + ("" if item.read else "🔵")
    when = local_time(a.published_at or a.publish_at, timezone, "%m-%d")
    return f"{marks} {when} {short(a.body.splitlines()[0] if a.body else '', 30)}".strip()


def board(t: Translate, items: Sequence[BoardItem], timezone: str) -> str:
    if not items:
        return t("announcements.board_empty")
    unread = sum(1 for i in items if not i.read)
    return t("announcements.board_title", unread=unread)


def author_view(t: Translate, view: AuthorView, timezone: str) -> str:
    a = view.announcement
    if a.withdrawn:
        state = t("announcements.state_withdrawn")
    elif a.published_at is None:
        state = t("announcements.state_scheduled", when=local_time(a.publish_at, timezone))
    else:
        state = t("announcements.state_published", when=local_time(a.published_at, timezone))
    lines = [t("announcements.author_title", author=view.author_name), state,
             t("announcements.author_audience", audience=audience_text(t, a.audience.kind, view.audience_name))]
    if a.pinned:
        lines.append(t("announcements.author_pinned"))
    if a.published_at is not None:
        lines.append(t("announcements.author_counts", read=view.read, recipients=view.recipients,
                       delivered=view.delivered))
    lines += ["", html.escape(a.body)]
    return "\n".join(lines)


def author_rows(t: Translate, view: AuthorView) -> Rows:
    a = view.announcement
    if a.withdrawn:
        return [[(t("announcements.btn_restore"), f"ann:rs:{a.id}")], [(t("announcements.btn_mine"), "ann:mine:0")]]
    rows: Rows = []
    if a.published_at is not None:
        rows.append([(t("announcements.btn_readers"), f"ann:rd:{a.id}:0")])
    rows.append([(t("announcements.btn_edit"), f"ann:ed:{a.id}"), (t("announcements.btn_withdraw"), f"ann:wd:{a.id}")])
    rows.append([(t("announcements.btn_mine"), "ann:mine:0")])
    return rows


def read_list(t: Translate, found: ReadList) -> str:
    view = found.view
    lines = [t("announcements.readers_title", read=view.read, recipients=view.recipients)]
    lines.append(t("announcements.readers_read", count=view.read))
    lines += [f"✅ {html.escape(name)}" for name in found.read_names] or [t("announcements.readers_nobody")]
    lines.append("")
    lines.append(t("announcements.readers_unread", count=view.recipients - view.read))
    lines += [f"⏳ {html.escape(name)}" for name in found.unread_names] or [t("announcements.readers_nobody")]
    return "\n".join(lines)
