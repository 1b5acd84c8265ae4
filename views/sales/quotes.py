"""How quotations and discount approvals look, for the handlers and for the pushes to approvers and reps alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from crm.core.money import Money
from crm.sales.discount_model import ApprovalStatus, DiscountApproval, Discounted
from crm.sales.discounts import Clearance, Pending, Standing
from crm.sales.pricing import round_money
from crm.sales.quote_model import ExpiredQuote, Quote, QuoteLine, QuoteStatus, line_amounts
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48
STATUS_ICON = {QuoteStatus.DRAFT: "📝", QuoteStatus.SENT: "📤", QuoteStatus.ACCEPTED: "✅",
               QuoteStatus.REJECTED: "✖️", QuoteStatus.EXPIRED: "⌛"}
PDF_LABELS = ("title", "customer", "date", "valid_until", "sku", "item", "quantity", "unit_price", "discount", "tax",
              "amount", "subtotal", "order_discount", "total")


def money_text(value: Money) -> str:
    return str(round_money(value))


def percent_text(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def limit_text(t: Translate, limit: Decimal | None) -> str:
    return t("sales.discount_unlimited") if limit is None else percent_text(limit)


def pdf_labels(t: Translate) -> dict[str, str]:
    """The printed quote's labels in the reader's language."""
    return {name: t(f"sales.quote_pdf_{name}") for name in PDF_LABELS}


def status_text(t: Translate, status: QuoteStatus | str) -> str:
    value = QuoteStatus(status)
    return f"{STATUS_ICON[value]} " + t(f"sales.quote_status_{value.value}")


def line_text(t: Translate, line: QuoteLine, order_discount: Decimal, currency: str, *,
              locale: str | None = None) -> str:
    """One line, its name in ``locale`` (the reader's) when the product had one there."""
    amounts = line_amounts(line, order_discount, currency)
    discount = t("sales.quote_line_discount", discount=percent_text(line.discount)) if line.discount else ""
    return t("sales.quote_line", sku=line.sku, name=line.name_in(locale), quantity=f"{line.quantity.normalize():f}",
             price=money_text(Money(line.unit_price, currency)), discount=discount,
             net=money_text(Money(amounts.net, currency)))


def totals_text(t: Translate, quote: Quote) -> list[str]:
    totals = quote.totals
    lines = [t("sales.quote_subtotal", amount=money_text(totals.money(totals.subtotal)))]
    if quote.order_discount:
        lines.append(t("sales.quote_order_discount", percent=percent_text(quote.order_discount),
                       amount=money_text(totals.money(totals.discount))))
    lines += [t("sales.quote_tax", amount=money_text(totals.money(totals.tax))),
              t("sales.quote_total", amount=money_text(totals.money(totals.total)))]
    return lines


def quote_body(t: Translate, quote: Quote, *, locale: str | None = None) -> list[str]:
    """The lines and the totals, as the card and the review show them."""
    return [*(line_text(t, line, quote.order_discount, quote.currency, locale=locale) for line in quote.lines), "",
            *totals_text(t, quote)]


def standing_text(t: Translate, standing: Standing) -> str:
    percent, limit = percent_text(standing.percent), limit_text(t, standing.limit)
    if standing.clearance is Clearance.WITHIN:
        return t("sales.discount_within", percent=percent, limit=limit)
    if standing.clearance is Clearance.APPROVED:
        return t("sales.discount_approved_line", percent=percent, limit=limit)
    if standing.clearance is Clearance.PENDING:
        return t("sales.discount_pending_line", percent=percent, limit=limit)
    if standing.clearance is Clearance.REJECTED and standing.approval is not None:
        return t("sales.discount_rejected_line", percent=percent, limit=limit,
                 reason=standing.approval.reason or "")
    return t("sales.discount_needed_line", percent=percent, limit=limit)


def quote_button(quote_id: int, number: str, status: str, customer: str) -> Button:
    label = f"{STATUS_ICON[QuoteStatus(status)]} {number} · {customer}"
    return (short(label, LABEL_LIMIT), f"qt:open:{quote_id}")


def subject_text(t: Translate, subject: Discounted, approval: DiscountApproval, requester: str) -> str:
    """A request as the approver reads it: what, for whom, how much, over which limit, asked by whom."""
    return "\n".join((
        t("sales.discount_subject", kind=t(f"sales.discount_kind_{subject.kind}"), title=subject.title,
          customer=subject.customer_name),
        t("sales.discount_subject_total", total=money_text(subject.total)),
        t("sales.discount_subject_percent", percent=percent_text(approval.percent),
          limit=percent_text(approval.limit)),
        t("sales.discount_subject_requester", name=requester),
    ))


# The card a kind of record opens with (``<prefix>:open:<id>``, handlers/core/screens.py). A module that adds a
# kind to ``DiscountService.subjects`` adds its card here when it registers its handlers ("order": "or"), and a
# ``sales.btn_open_<kind>`` label to the catalogs.
CARD_PREFIX: dict[str, str] = {"quote": "qt"}


def open_rows(t: Translate, subject: Discounted) -> list[list[Button]]:
    prefix = CARD_PREFIX.get(subject.kind)
    if prefix is None:
        return []
    return [[(t(f"sales.btn_open_{subject.kind}"), f"{prefix}:open:{subject.subject_id}")]]


def decide_rows(t: Translate, approval: DiscountApproval, subject: Discounted) -> list[list[Button]]:
    rows: list[list[Button]] = [[(t("sales.btn_approve"), f"da:ok:{approval.id}"),
                                 (t("sales.btn_reject"), f"da:no:{approval.id}")]]
    return rows + open_rows(t, subject)


def approval_request(t: Translate, pending: Pending) -> tuple[str, list[list[Button]]]:
    """The push to an approver."""
    text = t("sales.discount_push_request") + "\n\n" + subject_text(t, pending.subject, pending.approval,
                                                                    pending.requester_name)
    return text, decide_rows(t, pending.approval, pending.subject)


def outcome(t: Translate, approval: DiscountApproval, subject: Discounted, decider: str) -> tuple[str,
                                                                                                   list[list[Button]]]:
    """The push to the person who asked, once an approver decided."""
    kind = t(f"sales.discount_kind_{subject.kind}")
    if approval.status is ApprovalStatus.APPROVED:
        text = t("sales.discount_push_approved", kind=kind, title=subject.title,
                 percent=percent_text(approval.percent), name=decider)
    else:
        text = t("sales.discount_push_rejected", kind=kind, title=subject.title,
                 percent=percent_text(approval.percent), name=decider, reason=approval.reason or "")
    return text, open_rows(t, subject)


def open_quotes_text(t: Translate, items: Sequence[tuple[int, str, str, str]]) -> str:
    """The customer card's section."""
    if not items:
        return ""
    lines = [t("sales.card_quotes_title")]
    lines += [t("sales.card_quote_line", number=number, status=status_text(t, status), until=until)
              for _, number, status, until in items]
    return "\n".join(lines)


def expired_message(t: Translate, quotes: Sequence[ExpiredQuote]) -> tuple[str, list[list[Button]]]:
    """The owner's quotes the daily expiry moved past their valid-until date, each a button to its card."""
    lines = [t("sales.quote_expired_title", count=len(quotes))]
    lines += [t("sales.quote_expired_line", number=q.number, customer=q.customer_name,
                valid_until=q.valid_until.isoformat()) for q in quotes]
    rows = [[quote_button(q.id, q.number, QuoteStatus.EXPIRED.value, q.customer_name)] for q in quotes[:20]]
    return "\n".join(lines), rows


def history_line(t: Translate, quote: Quote) -> str:
    """A quote among the customer's history (handlers/customers/actions.py)."""
    return t("sales.quote_history_line", date=quote.created_at.date().isoformat(), number=quote.number,
             status=status_text(t, quote.status), amount=money_text(quote.totals.money(quote.totals.total)),
             valid_until=quote.valid_until.isoformat())
