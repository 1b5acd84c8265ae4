"""The daily "no contact for N days" nudge, as the scheduler pushes it."""

from __future__ import annotations

from collections.abc import Callable

from crm.followups.nudges import Nudge
from outbound.telegram_send import Button
from views.core.text import short
from views.customers.icons import customer_icon
from views.segments.labels import class_label

Translate = Callable[..., str]


def nudge_message(t: Translate, nudge: Nudge) -> tuple[str, list[list[Button]]]:
    """The longest-neglected customers first, each a button to its card."""
    lines = [t("segments.nudge_title", count=nudge.total)]
    lines += [t("segments.nudge_line", name=n.customer.name, classification=class_label(t, n.customer.classification),
                days=n.days) for n in nudge.customers]
    if nudge.total > len(nudge.customers):
        lines.append(t("segments.nudge_more", count=nudge.total - len(nudge.customers)))
    rows: list[list[Button]] = [[(short(f"{customer_icon(n.customer)} {n.customer.name}"), f"cu:open:{n.customer.id}")]
                                for n in nudge.customers]
    return "\n".join(lines), rows
