"""What the chat shows of HR records and reviews: the profile card, the timeline, KPI lines, a review and the
team ranking. Shared by the handlers and the push that asks a person to acknowledge their review."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from crm.hr.model import HrEvent, KpiLine, PersonKpis, ProfileCard, Review
from crm.hr.periods import ReviewPeriod
from views.core.text import short

Translate = Callable[..., str]


def number(value: Decimal) -> str:
    """1234 → 1,234; 1234.5 → 1,234.50 (money keeps its cents)."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def period_label(t: Translate, period: ReviewPeriod) -> str:
    return t(f"hr.period_{period.kind.value}", label=period.label)


def card_text(t: Translate, card: ProfileCard) -> str:
    p = card.profile
    none = t("hr.none")
    rows = [
        t("hr.card_title", name=card.name),
        t("hr.field_status", value=t(f"hr.status_{p.status.value}") + ("" if card.active else t("hr.locked"))),
        t("hr.field_department", value=card.department or none),
        t("hr.field_role", value=card.role or none),
        t("hr.field_employee_no", value=p.employee_no or none),
        t("hr.field_title", value=p.title or none),
        t("hr.field_manager_id", value=card.manager_name or none),
        t("hr.field_hire_date", value=p.hire_date.isoformat() if p.hire_date else none),
        t("hr.field_phone", value=p.phone or none),
        t("hr.field_email", value=p.email or none),
        t("hr.field_emergency_contact", value=p.emergency_contact or none),
    ]
    return "\n".join(rows)


def event_line(t: Translate, event: HrEvent, departments: Mapping[int, str]) -> str:
    what = t(f"hr.kind_{event.kind.value}")
    if event.to_department_id is not None:
        what += " " + t("hr.moved", before=departments.get(event.from_department_id or 0, "?"),
                        after=departments.get(event.to_department_id, "?"))
    note = t("hr.event_note", note=short(event.note, 200)) if event.note else ""
    clip = " 📎" if event.file_id else ""
    return f"{t('hr.event_line', on=event.occurred_on.isoformat(), what=what)}{clip}{note}"


def timeline_text(t: Translate, name: str, events: Sequence[HrEvent], departments: Mapping[int, str]) -> str:
    if not events:
        return t("hr.timeline_title", name=name) + "\n" + t("hr.timeline_empty")
    return "\n".join([t("hr.timeline_title", name=name), *(event_line(t, e, departments) for e in events)])


def kpi_line(t: Translate, line: KpiLine) -> str:
    actual = number(line.actual)
    if line.currency:
        actual = f"{line.currency} {actual}"
    if line.target is None:
        return t("hr.kpi_line_no_target", name=t(line.title_key), actual=actual)
    return t("hr.kpi_line", name=t(line.title_key), actual=actual, target=number(line.target),
             share=f"{line.attainment}")


def attainment_text(t: Translate, value: Decimal | None) -> str:
    return t("hr.attainment", share="—" if value is None else f"{value}")


def kpis_text(t: Translate, title: str, lines: Sequence[KpiLine], attainment: Decimal | None) -> str:
    body = [kpi_line(t, x) for x in lines] or [t("hr.no_measures")]
    return "\n".join([title, *body, attainment_text(t, attainment)])


def person_text(t: Translate, person: PersonKpis, period: ReviewPeriod) -> str:
    return kpis_text(t, t("hr.kpi_title", name=person.name, period=period_label(t, period)), person.lines,
                     person.attainment)


def review_text(t: Translate, name: str, reviewer: str, review: Review) -> str:
    period = ReviewPeriod(review.period_kind, review.period_start)
    head = t("hr.review_title", name=name, period=period_label(t, period))
    lines = [head, *(kpi_line(t, x) for x in review.lines), attainment_text(t, review.attainment),
             t("hr.review_score", score="★" * review.score + "☆" * (5 - review.score), by=reviewer),
             t("hr.review_comment", comment=review.comment or "—"),
             t(f"hr.review_{review.status.value}")]
    return "\n".join(lines)


def team_text(t: Translate, period: ReviewPeriod, people: Sequence[PersonKpis]) -> str:
    head = t("hr.team_title", period=period_label(t, period))
    if not people:
        return head + "\n" + t("hr.team_empty")
    rows = [t("hr.team_row_no_target", rank=i, name=p.name) if p.attainment is None
            else t("hr.team_row", rank=i, name=p.name, share=f"{p.attainment}")
            for i, p in enumerate(people, start=1)]
    return "\n".join([head, *rows])
