"""How opportunities and the pipeline look, for the handlers and for the stale-opportunity nudge alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from crm.core.money import Money
from crm.sales.opportunity_model import Opportunity, Pipeline, Stage, StaleOpportunities
from crm.sales.pricing import round_money
from outbound.telegram_send import Button
from views.core.text import short

Translate = Callable[..., str]
LABEL_LIMIT = 48


def money_text(value: Money) -> str:
    return str(round_money(value))


def amounts_text(t: Translate, values: Sequence[Money]) -> str:
    """Per currency, never added across currencies: "TWD 300,000.00 + USD 5,000.00"."""
    return " + ".join(money_text(v) for v in values) if values else t("sales.opp_nothing")


def stage_label(stage: Stage, locale: str) -> str:
    return f"{stage.display_name(locale)} {stage.probability.normalize():f}%"


def opportunity_button(opportunity: Opportunity, customer_name: str) -> Button:
    label = f"💼 {customer_name} · {opportunity.title} · {money_text(opportunity.money)}"
    return (short(label, LABEL_LIMIT), f"op:open:{opportunity.id}")


def pipeline_text(t: Translate, locale: str, pipeline: Pipeline) -> str:
    lines = [t("sales.pipeline_title_team" if pipeline.team else "sales.pipeline_title", count=pipeline.count)]
    for summary in pipeline.stages:
        lines.append(t("sales.pipeline_line", stage=stage_label(summary.stage, locale), count=summary.count,
                       amount=amounts_text(t, summary.amounts), weighted=amounts_text(t, summary.weighted)))
    lines.append(t("sales.pipeline_weighted", weighted=amounts_text(t, pipeline.weighted)))
    return "\n".join(lines)


def stale_message(t: Translate, stale: StaleOpportunities, now: datetime) -> tuple[str, list[list[Button]]]:
    """The longest untouched first, each a button to its card."""
    lines = [t("sales.stale_title", count=stale.total, days=stale.days)]
    lines += [t("sales.stale_line", customer=name, title=o.title, days=max((now - o.updated_at).days, 0))
              for o, name in stale.items]
    if stale.total > len(stale.items):
        lines.append(t("sales.stale_more", count=stale.total - len(stale.items)))
    return "\n".join(lines), [[opportunity_button(o, name)] for o, name in stale.items]
