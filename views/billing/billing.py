"""How invoices, payments and receivables look, for the handlers and the overdue push alike."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from crm.billing.model import BUCKETS, Aging, Invoice, InvoiceCard, InvoiceStatus, Owed, Payment, Receivables
from crm.core.money import Money
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48
STATUS_ICON = {InvoiceStatus.ISSUED: "🧾", InvoiceStatus.PARTIAL: "◐", InvoiceStatus.PAID: "✅",
               InvoiceStatus.VOID: "✖️"}
PDF_LABELS = ("title", "customer", "date", "due_date", "sku", "item", "quantity", "unit_price", "discount", "tax",
              "amount", "subtotal", "order_discount", "total", "paid", "balance", "void")


def money(amount: Decimal, currency: str) -> str:
    return str(Money(amount, currency).quantized())


def status_text(t: Translate, invoice: Invoice, today: date) -> str:
    text = f"{STATUS_ICON[invoice.status]} " + t(f"billing.status_{invoice.status.value}")
    if invoice.overdue(today):
        text += " · " + t("billing.overdue_days", days=(today - invoice.due_date).days)
    return text


def lines_text(t: Translate, invoice: Invoice, *, locale: str | None = None) -> list[str]:
    """The lines, each name in ``locale`` (the reader's) when the product had one there, and the totals."""
    totals = invoice.totals
    rows = [t("billing.line", sku=html.escape(line.sku), name=html.escape(line.name_in(locale)),
              quantity=f"{line.quantity.normalize():f}", price=money(line.unit_price, invoice.currency),
              amount=money(amounts.net, invoice.currency))
            for line, amounts in zip(invoice.lines, totals.lines, strict=True)]
    rows.append(t("billing.totals", subtotal=money(totals.subtotal, invoice.currency),
                  tax=money(totals.tax, invoice.currency), total=money(totals.total, invoice.currency)))
    return rows


def card_text(t: Translate, card: InvoiceCard, today: date, *, locale: str | None = None) -> str:
    invoice = card.invoice
    lines = [t("billing.card_title", number=invoice.number),
             t("billing.card_customer", name=html.escape(card.customer_name)),
             t("billing.card_owner", name=html.escape(card.owner_name)),
             t("billing.card_dates", issued=invoice.issue_date.isoformat(), due=invoice.due_date.isoformat()),
             *lines_text(t, invoice, locale=locale),
             t("billing.card_balance", paid=money(invoice.paid, invoice.currency),
               balance=money(invoice.outstanding, invoice.currency)),
             t("billing.card_status", status=status_text(t, invoice, today))]
    if invoice.void_reason:
        lines.append(t("billing.card_void_reason", reason=html.escape(invoice.void_reason)))
    for payment in card.payments:
        lines.append(payment_line(t, payment, invoice.id))
    return "\n".join(lines)


def payment_line(t: Translate, payment: Payment, invoice_id: int | None = None) -> str:
    share = next((a.amount for a in payment.allocations if a.invoice_id == invoice_id), payment.amount)
    key = "billing.payment_line_reversed" if payment.reversed_at is not None else "billing.payment_line"
    return t(key, date=payment.received_on.isoformat(), amount=money(share, payment.currency),
             method=t(f"billing.method_{payment.method.value}"))


def payment_history_line(t: Translate, payment: Payment) -> str:
    """A payment among the customer's history: the date received, the whole amount, how, and whether reversed."""
    key = "billing.payment_history_line_reversed" if payment.reversed_at is not None else \
        "billing.payment_history_line"
    return t(key, date=payment.received_on.isoformat(), amount=money(payment.amount, payment.currency),
             method=t(f"billing.method_{payment.method.value}"))


def invoice_rows(t: Translate, invoice: Invoice, *, may_pay: bool, may_void: bool) -> list[list[Button]]:
    rows: list[list[Button]] = [[(t("billing.btn_pdf"), f"bi:pdf:{invoice.id}")]]
    if invoice.is_open and may_pay:
        rows[0].insert(0, (t("billing.btn_record_payment"), f"bi:pay:{invoice.id}"))
    if may_void and invoice.status is InvoiceStatus.ISSUED:
        rows.append([(t("billing.btn_void"), f"bi:void:{invoice.id}")])
    return rows


def invoice_button(invoice: Invoice, customer_name: str) -> Button:
    amount = money(invoice.outstanding or invoice.total, invoice.currency)
    label = f"{STATUS_ICON[invoice.status]} {invoice.number} · {amount} · {customer_name}"
    return (short(label, LABEL_LIMIT), f"bi:open:{invoice.id}")


def overdue_push(t: Translate, invoice: Invoice, customer_name: str, today: date, *,
                 may_pay: bool = True) -> tuple[str, list[list[Button]]]:
    """The push to an invoice's owner when it is overdue: the invoice with "record payment" (for an owner who
    may record one; otherwise the invoice only)."""
    text = t("billing.push_overdue", number=invoice.number, name=html.escape(customer_name),
             balance=money(invoice.outstanding, invoice.currency), due=invoice.due_date.isoformat(),
             days=(today - invoice.due_date).days)
    row: list[Button] = [(t("billing.btn_open"), f"bi:open:{invoice.id}")]
    if may_pay:
        row.insert(0, (t("billing.btn_record_payment"), f"bi:pay:{invoice.id}"))
    return text, [row]


def _aging_line(t: Translate, row: Aging) -> str:
    parts = [f"{t('billing.bucket_' + name)} {money(row.bucket(name), row.currency)}"
             for name in BUCKETS if row.bucket(name)]
    return " · ".join(parts)


def receivables_text(t: Translate, view: Receivables) -> str:
    if not view.totals:
        return t("billing.receivables_none")
    lines = [t("billing.receivables_title", date=view.today.isoformat())]
    for total in view.totals:
        lines.append(t("billing.receivables_total", total=money(total.total, total.currency),
                       overdue=money(total.overdue, total.currency)))
        lines.append("  " + _aging_line(t, total))
    lines.append("")
    for row in view.customers:
        lines.append(f"<b>{html.escape(row.customer_name)}</b> — {money(row.total, row.currency)}")
        lines.append("  " + _aging_line(t, row))
    if view.more:
        lines.append(t("billing.receivables_more", count=view.more))
    return "\n".join(lines)


def owed_text(t: Translate, items: Sequence[Owed]) -> str:
    """The customer card's section; empty when nothing is owed."""
    if not items:
        return ""
    parts = [t("billing.card_owed", outstanding=money(o.outstanding, o.currency), count=o.invoices)
             + (" " + t("billing.card_owed_overdue", overdue=money(o.overdue, o.currency)) if o.overdue else "")
             for o in items]
    return "\n".join(parts)
