"""How tickets look, for the handlers and for the SLA pushes alike."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from crm.service.model import MOVES, EntryKind, Report, ReportRow, Severity, Status, Ticket, TicketCard
from outbound.telegram_send import Button
from views.core.formatting import local_time
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48
STATUS_ICON = {Status.NEW: "🆕", Status.ASSIGNED: "👤", Status.IN_PROGRESS: "🔧", Status.WAITING: "⏳",
               Status.RESOLVED: "✅", Status.CLOSED: "🔒"}
SEVERITY_ICON = {Severity.LOW: "▫️", Severity.NORMAL: "🔹", Severity.HIGH: "🔶", Severity.URGENT: "🔴"}


def status_text(t: Translate, status: Status) -> str:
    return f"{STATUS_ICON[status]} " + t(f"service.status_{status.value}")


def severity_text(t: Translate, severity: Severity) -> str:
    return f"{SEVERITY_ICON[severity]} " + t(f"service.severity_{severity.value}")


def card_text(t: Translate, card: TicketCard, timezone: str, now: datetime) -> str:
    ticket = card.ticket
    lines = [t("service.card_title", number=ticket.number, subject=ticket.subject),
             t("service.card_customer", name=card.customer_name + (f" · {card.contact_name}"
                                                                    if card.contact_name else "")),
             t("service.card_status", status=status_text(t, ticket.status)),
             t("service.card_severity", severity=severity_text(t, ticket.severity)),
             t("service.card_assignee", name=card.assignee_name or t("service.nobody"))]
    if ticket.category:
        lines.append(t("service.card_category", category=ticket.category))
    if card.product_label:
        lines.append(t("service.card_product", product=html.escape(card.product_label)))
    if card.order_number:
        lines.append(t("service.card_order", number=html.escape(card.order_number)))
    if ticket.is_open:
        key = "service.card_breached" if ticket.breached(now) else "service.card_due"
        lines.append(t(key, due=local_time(ticket.due_at, timezone)))
    if ticket.description != ticket.subject:
        lines.append(html.escape(ticket.description))
    if ticket.satisfaction is not None:
        lines.append(t("service.card_rating", score=ticket.satisfaction))
    elif ticket.satisfaction_asked_at is not None:
        lines.append(t("service.card_rating_asked"))
    if card.entries:
        lines.append("")
        for entry in reversed(card.entries):
            text = t(f"service.status_{entry.text}") if entry.kind is EntryKind.STATUS else entry.text
            lines.append(t(f"service.entry_{entry.kind.value}", when=local_time(entry.created_at, timezone),
                           text=short(text, 200)))
    return "\n".join(lines)


def card_rows(t: Translate, card: TicketCard, *, staff_id: int, may_assign: bool,
              may_close: bool) -> list[list[Button]]:
    """The buttons the reader may use: moving it on, notes and updates (the assignee or a service manager),
    assigning (a manager)."""
    ticket = card.ticket
    rows: list[list[Button]] = []
    works = ticket.assignee_id == staff_id or may_assign
    if works:
        moves = [s for s in MOVES[ticket.status] if s is not Status.CLOSED or may_close]
        order = list(Status)
        buttons = [(t("service.btn_reopen") if not ticket.is_open and s is Status.IN_PROGRESS
                    else status_text(t, s), f"tk:mv:{ticket.id}:{order.index(s)}")
                   for s in sorted(moves, key=order.index)]
        if buttons:
            rows.append(buttons)
        if ticket.is_open:
            rows.append([(t("service.btn_update"), f"tk:upd:{ticket.id}"),
                         (t("service.btn_note"), f"tk:note:{ticket.id}")])
            rows.append([(t("service.btn_attach"), f"tk:att:{ticket.id}"),
                         (t("service.btn_product"), f"tk:prod:{ticket.id}")])
            if ticket.customer_id is not None:
                rows.append([(t("service.btn_order"), f"tk:ord:{ticket.id}")])
    if may_assign and ticket.is_open:
        rows.append([(t("service.btn_assign"), f"tk:asg:{ticket.id}")])
    return rows


def ticket_button(t: Translate, ticket: Ticket, now: datetime) -> Button:
    flag = "⏰ " if ticket.breached(now) else ""
    label = f"{flag}{STATUS_ICON[ticket.status]} {ticket.number} · {ticket.subject}"
    return (short(label, LABEL_LIMIT), f"tk:open:{ticket.id}")


def listing_text(t: Translate, tickets: Sequence[Ticket], team: bool, now: datetime) -> str:
    key = "service.list_team" if team else "service.list_mine"
    lines = [t(key, count=len(tickets))]
    if not tickets:
        lines.append(t("service.list_empty"))
        return "\n".join(lines)
    breached = sum(1 for ticket in tickets if ticket.breached(now))
    if breached:
        lines.append(t("service.list_breached", count=breached))
    for status in Status:
        count = sum(1 for ticket in tickets if ticket.status is status)
        if count:
            lines.append(f"{status_text(t, status)}: {count}")
    return "\n".join(lines)


def nudge_text(t: Translate, ticket: Ticket, breach: bool, timezone: str) -> tuple[str, list[list[Button]]]:
    key = "service.push_breached" if breach else "service.push_nudge"
    text = t(key, number=ticket.number, subject=ticket.subject, due=local_time(ticket.due_at, timezone))
    return text, [[(ticket.number, f"tk:open:{ticket.id}")]]


def _figure(value: float | None, fmt: str = "{:.1f}") -> str:
    return fmt.format(value) if value is not None else "—"


def report_row(t: Translate, row: ReportRow) -> str:
    return t("service.report_row", label=row.label, opened=row.opened, open=row.open_now, closed=row.closed,
             breaches=row.breaches, response=_figure(row.first_response_hours), resolve=_figure(row.resolve_hours),
             rating=_figure(row.satisfaction), rated=row.rated)


def report_text(t: Translate, report: Report, days: int, timezone: str) -> str:
    lines = [t("service.report_title", days=days, since=local_time(report.since, timezone, "%Y-%m-%d")),
             report_row(t, replace(report.total, label=t("service.report_total")))]
    if report.total.opened:
        lines += ["", t("service.report_by_category")]
        lines += [report_row(t, row) for row in report.by_category]
        lines += ["", t("service.report_by_assignee")]
        lines += [report_row(t, row) for row in report.by_assignee]
    return "\n".join(lines)
