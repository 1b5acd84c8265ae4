"""How expenses look, for the handlers and for the pushes to approvers and submitters alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crm.core.money import Money
from crm.expenses.model import ExpenseCard, MonthView, Status
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48
STATUS_ICON = {Status.SUBMITTED: "⏳", Status.APPROVED: "✅", Status.REJECTED: "✖️"}


def money_text(value: Money) -> str:
    return str(value.quantized())


def amounts_text(t: Translate, values: Sequence[Money]) -> str:
    """Per currency, never added across currencies: "TWD 350.00 + USD 20.00"."""
    return " + ".join(money_text(v) for v in values) if values else t("expenses.nothing")


def status_text(t: Translate, status: Status) -> str:
    return f"{STATUS_ICON[status]} " + t(f"expenses.status_{status.value}")


def card_text(t: Translate, locale: str, card: ExpenseCard) -> str:
    e = card.expense
    lines = [t("expenses.card_title", amount=money_text(e.money), category=card.category.display_name(locale)),
             t("expenses.card_date", date=e.spent_on.isoformat()),
             t("expenses.card_staff", name=card.staff_name)]
    if card.customer_name:
        lines.append(t("expenses.card_customer", name=card.customer_name))
    if card.project_name:
        lines.append(t("expenses.card_project", name=card.project_name))
    if e.note:
        lines.append(t("expenses.card_note", note=e.note))
    if e.receipt_file_id:
        lines.append(t("expenses.card_receipt"))
    lines.append(t("expenses.card_status", status=status_text(t, e.status)))
    if e.status is Status.REJECTED and e.reject_reason:
        lines.append(t("expenses.card_reason", reason=e.reject_reason))
    return "\n".join(lines)


def decide_rows(t: Translate, expense_id: int) -> list[list[Button]]:
    return [[(t("expenses.btn_approve"), f"ex:ok:{expense_id}"), (t("expenses.btn_reject"), f"ex:no:{expense_id}")]]


def approval_request(t: Translate, locale: str, card: ExpenseCard) -> tuple[str, list[list[Button]]]:
    """The push to an approver: the expense with Approve / Reject."""
    rows = decide_rows(t, card.expense.id)
    if card.expense.receipt_file_id:
        rows.append([(t("expenses.btn_receipt"), f"ex:rcpt:{card.expense.id}")])
    return t("expenses.push_request", name=card.staff_name) + "\n\n" + card_text(t, locale, card), rows


def outcome(t: Translate, locale: str, card: ExpenseCard) -> str:
    """The push to the submitter once an approver decided."""
    e = card.expense
    key = "expenses.push_approved" if e.status is Status.APPROVED else "expenses.push_rejected"
    return t(key, amount=money_text(e.money), category=card.category.display_name(locale),
             date=e.spent_on.isoformat(), name=card.decided_by_name or "?", reason=e.reject_reason or "")


def expense_button(locale: str, card: ExpenseCard, *, who: bool = False) -> Button:
    e = card.expense
    label = f"{STATUS_ICON[e.status]} {e.spent_on.strftime('%m-%d')} · {money_text(e.money)} · " \
            f"{card.category.display_name(locale)}" + (f" · {card.staff_name}" if who else "")
    return (short(label, LABEL_LIMIT), f"ex:open:{e.id}")


def month_text(t: Translate, view: MonthView) -> str:
    key = "expenses.month_title_team" if view.team else "expenses.month_title"
    lines = [t(key, month=view.first_day.strftime("%Y-%m"), count=len(view.items)),
             t("expenses.month_total", total=amounts_text(t, view.totals))]
    if not view.items:
        lines.append(t("expenses.month_empty"))
    return "\n".join(lines)
