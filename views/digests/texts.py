"""A manager's digest as a message, and the settings screen: shared by ``/digest`` and the scheduled push."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from crm.core.money import Money
from crm.digests.digests import Digest
from crm.digests.schedule import Frequency, LocalPeriod
from crm.organisation.digest import DigestFigure, DigestSectionResult
from outbound.telegram_send import Button

Translate = Callable[..., str]
FREQUENCY_CODES = {Frequency.DAILY: "d", Frequency.WEEKLY: "w", Frequency.MONTHLY: "m", Frequency.OFF: "o"}
FREQUENCY_BY_CODE = {code: frequency for frequency, code in FREQUENCY_CODES.items()}


def translator(catalogs: Any, locale: str) -> Translate:
    """``t(key, **params)`` in one language, for the job, which has no CrmContext."""

    def t(key: str, /, **params: Any) -> str:
        return str(catalogs.t(locale, key, **params))

    return t


def period_text(period: LocalPeriod) -> str:
    if period.first == period.last:
        return f"{period.first:%Y-%m-%d}"
    return f"{period.first:%Y-%m-%d} – {period.last:%Y-%m-%d}"


def _number(value: int | Decimal, currency: str | None) -> str:
    if currency is not None:
        return str(Money(Decimal(value), currency))
    return f"{value:,}"


def _change(value: int | Decimal, previous: int | Decimal, currency: str | None) -> str:
    delta = Decimal(value) - Decimal(previous)
    if delta == 0:
        return "±0"
    sign = "+" if delta > 0 else "−"
    return sign + _number(abs(delta) if currency else int(abs(delta)), currency)


def figure_text(t: Translate, figure: DigestFigure, *, name: str | None = None) -> str:
    """``New customers: 3 (2 before, +1)``; under a section, a person's row: ``• Ned: 5 (3 before, +2)``.
    Names are data: the catalogue escapes them."""
    currency = figure.params.get("currency")
    value = _number(figure.value, currency)
    label = name if name is not None else t(figure.key, **figure.params)
    key = "digests.row" if name is not None else "digests.figure"
    if figure.previous is None:
        return t(f"{key}_alone", label=label, value=value)
    return t(key, label=label, value=value, previous=_number(figure.previous, currency),
             change=_change(figure.value, figure.previous, currency))


def section_text(t: Translate, section: DigestSectionResult) -> str:
    lines = [t("digests.section", title=t(section.title_key))]
    lines += [figure_text(t, f) for f in section.figures]
    for row in section.rows:
        lines += [figure_text(t, f, name=row.label) for f in row.figures]
    return "\n".join(lines)


def digest_message(t: Translate, digest: Digest) -> str:
    head = t(f"digests.title_{digest.frequency.value}", period=period_text(digest.period))
    lines = [head, t("digests.compared", period=period_text(digest.previous))]
    if not digest.sections:
        lines.append("\n" + t("digests.nothing"))
    lines += ["\n" + section_text(t, s) for s in digest.sections]
    lines.append("\n" + t("digests.footer"))
    return "\n".join(lines)


def chart_caption(t: Translate, digest: Digest) -> str:
    return t("digests.chart_caption", period=period_text(digest.period))


def settings_message(t: Translate, frequency: Frequency, timezone: str) -> tuple[str, list[list[Button]]]:
    text = t("digests.settings", current=t(f"digests.frequency_{frequency.value}"), zone=timezone)
    choices = [(("✅ " if f is frequency else "") + t(f"digests.btn_{f.value}"), f"dg:set:{FREQUENCY_CODES[f]}")
               for f in Frequency]
    return text, [choices[:2], choices[2:], [(t("digests.btn_now"), "dg:now")]]
