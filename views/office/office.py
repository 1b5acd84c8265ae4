"""What My office shows: a document's card and list lines, an event and its invitation, the day or week of the
schedule. ``t`` is the reader's catalogue (``lambda key, **p: catalogs.t(locale, key, **p)``)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from crm.office.model import Document, DocumentCard, Event, ScheduleItem
from outbound.telegram_send import Button
from views.core.text import short

T = Callable[..., str]
Rows = list[list[Button]]

ICONS = {"document": "📄", "photo": "🖼", "meeting": "👥", "visit": "🚗", "call": "📞", "leave": "🌴",
         "other": "🗓", "followup": "🔔"}


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def tags_text(tags: Sequence[str]) -> str:
    """Plain text: the catalogue escapes it."""
    return " ".join(f"#{tag}" for tag in tags)


def document_line(document: Document) -> str:
    version = f" v{document.version}" if document.version > 1 else ""
    return f"{ICONS[document.kind.value]} {short(document.title, 48)}{version}"


def document_card(t: T, card: DocumentCard, zone: ZoneInfo) -> tuple[str, Rows]:
    d = card.document
    when = d.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if d.created_at else ""
    lines = [f"<b>{ICONS[d.kind.value]} {html.escape(d.title)}</b>",
             t("office.card_file", name=d.file_name, size=size_text(d.size)),
             t("office.card_version", version=d.version, when=when, owner=card.owner_name),
             t("office.card_visibility", visibility=t(f"office.visibility_{d.visibility.value}"))]
    if d.tags:
        lines.append(t("office.card_tags", tags=tags_text(d.tags)))
    if d.link is not None:
        lines.append(t("office.card_link", kind=t(f"office.link_{d.link.kind.value}"), name=d.link.label))
    others = [v for v in card.versions if v.id != d.id]
    if others:
        lines.append(t("office.card_versions", versions=", ".join(f"v{v.version}" for v in others)))
    rows: Rows = [[(t("office.btn_send"), f"ofd:send:{d.id}")]]
    rows += [[(f"v{v.version}", f"ofd:open:{v.id}") for v in others[:6]]] if others else []
    if card.mine:
        rows.append([(t("office.btn_delete"), f"ofd:del:{d.id}")])
    return "\n".join(lines), rows


def event_lines(t: T, event: Event, zone: ZoneInfo) -> list[str]:
    starts = event.starts_at.astimezone(zone)
    ends = event.ends_at.astimezone(zone)
    span = (f"{starts:%Y-%m-%d %H:%M}–{ends:%H:%M}" if starts.date() == ends.date()
            else f"{starts:%Y-%m-%d %H:%M} – {ends:%Y-%m-%d %H:%M}")
    lines = [f"<b>{ICONS[event.kind.value]} {html.escape(event.title)}</b>",
             t("office.event_kind", kind=t(f"office.kind_{event.kind.value}")), t("office.event_when", when=span)]
    if event.attendees:
        names = ", ".join(f"{a.name} ({t(f'office.answer_{a.answer.value}')})" for a in event.attendees)
        lines.append(t("office.event_attendees", names=names))
    return lines


def invitation(t: T, event: Event, zone: ZoneInfo) -> tuple[str, Rows]:
    text = "\n".join([t("office.invited", name=event.owner_name), *event_lines(t, event, zone)])
    return text, [[(t("office.btn_accept"), f"ofe:acc:{event.id}"), (t("office.btn_decline"), f"ofe:dec:{event.id}")]]


def item_line(item: ScheduleItem, zone: ZoneInfo, *, with_day: bool = False) -> str:
    at = item.starts_at.astimezone(zone)
    clock = f"{at:%a %m-%d %H:%M}" if with_day else f"{at:%H:%M}"
    return f"{clock} {ICONS.get(item.kind, '🗓')} {html.escape(short(item.title, 60))}"


def event_button(item: ScheduleItem, zone: ZoneInfo) -> str:
    """A day's event as a button label (plain text: no HTML in a button)."""
    at = item.starts_at.astimezone(zone)
    return f"{at:%H:%M} {ICONS.get(item.kind, '🗓')} {short(item.title, 40)}"


def schedule_text(t: T, days: Sequence[tuple[date, Sequence[ScheduleItem]]], zone: ZoneInfo) -> str:
    if len(days) == 1:
        day, items = days[0]
        lines = [t("office.schedule_day", day=day.isoformat())]
        lines += [item_line(i, zone) for i in items] or [t("office.schedule_empty")]
        return "\n".join(lines)
    lines = [t("office.schedule_week", first=days[0][0].isoformat(), last=days[-1][0].isoformat())]
    for day, items in days:
        lines.append(f"\n<b>{day:%a %m-%d}</b>")
        lines += [item_line(i, zone) for i in items] or ["—"]
    return "\n".join(lines)
