"""What both the chat and the lost-opportunity job show of competitors: the card, intel lines, the question."""

from __future__ import annotations

from collections.abc import Callable

from crm.competitors.model import FACTS, CompetitorCard, IntelItem, LossQuestion, WinLoss
from crm.core.money import Money
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]


def money_text(value: Money) -> str:
    return str(value.quantized())


def intel_line(t: Translate, item: IntelItem) -> str:
    i = item.intel
    parts = [i.seen_on.isoformat(), t(f"competitors.kind_{i.kind.value}")]
    if i.money is not None:
        parts.append(money_text(i.money))
    if item.customer_name:
        parts.append(f"@{item.customer_name}")
    photo = " 📷" if i.file_id else ""
    return t("competitors.intel_line", head=" · ".join(parts), text=short(i.text, 200), who=item.staff_name,
             photo=photo)


def _figures(t: Translate, label: str, figures: WinLoss) -> str:
    rate = "—" if figures.win_rate is None else f"{figures.win_rate}%"
    return t("competitors.card_winloss", period=label, since=figures.since.isoformat(), won=figures.won,
             lost=figures.lost, theirs=figures.lost_to_them, rate=rate)


def card_text(t: Translate, card: CompetitorCard, page: int = 0) -> str:
    c = card.competitor
    lines = [t("competitors.card_title", name=c.name)]
    for fact in FACTS:
        value = getattr(c, fact)
        if value:
            lines.append(t(f"competitors.card_{fact}", value=value))
    if card.products:
        lines.append(t("competitors.card_products"))
        lines += [t("competitors.product_line", name=p.name, price=money_text(p.money), seen=p.seen_on.isoformat())
                  for p in card.products[:10]]
    for label, figures in zip(("this", "last"), card.win_loss, strict=False):
        lines.append(_figures(t, t(f"competitors.quarter_{label}"), figures))
    for comparison in card.prices:
        lines.append(t("competitors.card_prices", category=comparison.category))
        theirs = ", ".join(f"{p.name} {money_text(p.money)}" for p in comparison.theirs) or "—"
        ours = ", ".join(f"{p.name} {money_text(p.money)}" for p in comparison.ours) or "—"
        lines.append(t("competitors.prices_theirs", prices=theirs))
        lines.append(t("competitors.prices_ours", prices=ours))
    lines.append(t("competitors.card_intel", page=page + 1))
    lines += [intel_line(t, item) for item in card.intel] or [t("competitors.intel_none")]
    return "\n".join(lines)


def question_text(t: Translate, question: LossQuestion) -> str:
    return t("competitors.loss_question", title=question.title, customer=question.customer_name)


def question_rows(t: Translate, question: LossQuestion) -> list[list[Button]]:
    o = question.opportunity_id
    rows: list[list[Button]] = [[(short(c.name, 40), f"cpl:w:{o}:{c.id}")] for c in question.linked]
    rows.append([(t("competitors.btn_other"), f"cpl:o:{o}"), (t("competitors.btn_nobody"), f"cpl:n:{o}")])
    return rows
