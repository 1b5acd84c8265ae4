"""How contracts look: the card, list buttons and the customer card's section lines."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from crm.contracts.model import ContractCard, Status
from crm.core.money import Money
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48
STATUS_ICON = {Status.ACTIVE: "🟢", Status.EXPIRED: "⌛", Status.RENEWED: "🔁", Status.TERMINATED: "⛔"}


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def money_text(value: Money) -> str:
    return str(value.quantized())


def status_text(t: Translate, status: Status) -> str:
    return f"{STATUS_ICON[status]} " + t(f"contracts.status_{status.value}")


def card_text(t: Translate, card: ContractCard) -> str:
    c = card.contract
    # Placeholders are escaped by the catalog (bot/i18n.py); only text put together here is escaped here.
    lines = [t("contracts.card_title", number=c.number, title=c.title),
             t("contracts.card_customer", name=card.customer_name),
             t("contracts.card_value", value=money_text(c.money)),
             t("contracts.card_term", start=c.starts_on.isoformat(), end=c.ends_on.isoformat()),
             t("contracts.card_owner", name=card.owner_name),
             t("contracts.card_status", status=status_text(t, card.state))]
    if c.status is Status.ACTIVE:
        lines.append(t("contracts.card_remind", days=c.remind_days))
    if c.status is Status.TERMINATED and c.end_reason:
        lines.append(t("contracts.card_reason", reason=c.end_reason))
    if c.file_name:
        lines.append(t("contracts.card_file", name=c.file_name))
    if c.terms:
        lines.append(t("contracts.card_terms", terms=short(c.terms, 1000)))
    return "\n".join(lines)


def contract_button(card: ContractCard, *, customer: bool = True) -> Button:
    c = card.contract
    label = f"{STATUS_ICON[card.state]} {c.ends_on.isoformat()} · {c.title}" + \
        (f" · {card.customer_name}" if customer else "")
    return (short(label, LABEL_LIMIT), f"kt:open:{c.id}")


def section_lines(t: Translate, cards: Sequence[ContractCard]) -> str:
    """The customer card's "contracts" section: one line each, "" when there are none."""
    if not cards:
        return ""
    lines = [t("contracts.section_title")]
    for card in cards:
        c = card.contract
        lines.append(f"{STATUS_ICON[card.state]} {c.number} {_e(short(c.title, 60))} · {money_text(c.money)} · "
                     f"{c.starts_on.isoformat()} → {c.ends_on.isoformat()}")
    return "\n".join(lines)


def card_rows(t: Translate, card: ContractCard, *, manage: bool) -> list[list[Button]]:
    """The card's buttons: the file for every reader; changing it for those who may manage it."""
    c = card.contract
    rows: list[list[Button]] = []
    if c.file_id:
        rows.append([(t("contracts.btn_file"), f"kt:file:{c.id}")])
    if not manage:
        return rows
    rows.append([(t("contracts.btn_edit"), f"kt:edit:{c.id}"),
                 (t("contracts.btn_attach"), f"kt:att:{c.id}")])
    if c.status is Status.ACTIVE:
        rows.append([(t("contracts.btn_renew"), f"kt:renew:{c.id}"),
                     (t("contracts.btn_terminate"), f"kt:term:{c.id}")])
    rows.append([(t("contracts.btn_delete"), f"kt:del:{c.id}")])
    return rows
