"""How follow-ups look in chat: times in the reader's zone, reminder pushes, the agenda. Shared by the /log,
/today handlers and by the scheduler jobs, which render in the owner's language without an update."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from crm.customers.model import FollowUp, InteractionKind
from crm.followups.agenda import Agenda, RepLoad
from crm.followups.reminders import ReminderNote
from views.core.formatting import zone

Translate = Callable[..., str]
Button = tuple[str, str]

KIND_ORDER: tuple[InteractionKind, ...] = (
    InteractionKind.CALL, InteractionKind.VISIT, InteractionKind.MEETING,
    InteractionKind.MESSAGE, InteractionKind.EMAIL, InteractionKind.OTHER,
)
AGENDA_BUTTONS = 10
SNOOZE_CHOICES = ("1h", "tomorrow", "week")


def translator(catalogs: Any, locale: str) -> Translate:
    """``t(key, **params)`` in one language, for jobs that have no CrmContext."""

    def t(key: str, /, **params: Any) -> str:
        return str(catalogs.t(locale, key, **params))

    return t


def kind_label(t: Translate, kind: InteractionKind | str) -> str:
    return t(f"followups.kind_{InteractionKind(kind).value}")


def _parts(t: Translate, at: datetime, timezone: str) -> dict[str, Any]:
    local = at.astimezone(zone(timezone))
    weekdays = t("followups.weekdays").split()
    months = t("followups.months").split()
    return {"weekday": weekdays[local.weekday()] if len(weekdays) == 7 else local.strftime("%a"),
            "month": months[local.month - 1] if len(months) == 12 else str(local.month),
            "day": local.day, "year": local.year, "time": local.strftime("%H:%M"), "zone": timezone}


def when_text(t: Translate, at: datetime, timezone: str, now: datetime | None = None) -> str:
    """"Thu 3 Dec 15:00 (Asia/Taipei)" / "12月3日（週四）15:00（Asia/Taipei）"; the year only when not this year."""
    parts = _parts(t, at, timezone)
    this_year = (now or at).astimezone(zone(timezone)).year
    return t("followups.when" if parts["year"] == this_year else "followups.when_year", **parts)


def day_text(t: Translate, day: date, this_year: int | None = None) -> str:
    """"Fri 27 Nov"; with the year ("Mon 1 Jan 2099") when ``this_year`` is given and the day is in another."""
    weekdays = t("followups.weekdays").split()
    months = t("followups.months").split()
    key = "followups.date_short" if this_year is None or day.year == this_year else "followups.date_year"
    return t(key, weekday=weekdays[day.weekday()] if len(weekdays) == 7 else day.strftime("%a"),
             month=months[day.month - 1] if len(months) == 12 else str(day.month), day=day.day, year=day.year)


def open_button(t: Translate, followup: FollowUp) -> Button | None:
    """Opening the customer or lead is the customers area's button; we only emit it."""
    if followup.customer_id is not None:
        return (t("followups.btn_open_customer"), f"cu:open:{followup.customer_id}")
    if followup.lead_id is not None:
        return (t("followups.btn_open_lead"), f"ld:open:{followup.lead_id}")
    return None


def followup_buttons(t: Translate, followup: FollowUp) -> list[list[Button]]:
    fid = followup.id
    rows: list[list[Button]] = [
        [(t("followups.btn_done"), f"fu:done:{fid}")],
        [(t("followups.btn_snooze_hour"), f"fu:snz:{fid}:1h"),
         (t("followups.btn_snooze_tomorrow"), f"fu:snz:{fid}:tomorrow"),
         (t("followups.btn_snooze_week"), f"fu:snz:{fid}:week")],
    ]
    last: list[Button] = [(t("followups.btn_reschedule"), f"fu:rs:{fid}")]
    opener = open_button(t, followup)
    if opener is not None:
        last.append(opener)
    rows.append(last)
    return rows


def reminder_message(t: Translate, followup: FollowUp, name: str, timezone: str, *, late: bool,
                     now: datetime | None = None, note: ReminderNote | None = None) -> tuple[str, list[list[Button]]]:
    """The push; a module's ``note`` (a contract's renewal) speaks instead of the follow-up's own text and puts
    its buttons first."""
    if note is not None:
        text = t(note.late_key if late else note.text_key, name=name, **note.params)
        return text, [*([(t(label), data)] for label, data in note.buttons), *followup_buttons(t, followup)]
    key = "followups.reminder_late" if late else "followups.reminder"
    text = t(key, text=followup.text, name=name, when=when_text(t, followup.due_at, timezone, now))
    return text, followup_buttons(t, followup)


def target_buttons(t: Translate, entity: str, target_id: int) -> list[Button]:
    """Log what happened, plan the next step, or set a call-back reminder for a customer, contact or lead."""
    return [(t("followups.btn_log"), f"fu:log:{entity}:{target_id}"),
            (t("followups.btn_plan"), f"fu:plan:{entity}:{target_id}"),
            (t("followups.btn_callback"), f"fu:cb:{entity}:{target_id}")]


def card_message(t: Translate, followup: FollowUp, name: str, timezone: str,
                 now: datetime | None = None) -> tuple[str, list[list[Button]]]:
    """One open follow-up, with the reminder's buttons and the ones to log or plan for its customer or lead."""
    text = t("followups.card", text=followup.text, name=name, when=when_text(t, followup.due_at, timezone, now))
    rows = followup_buttons(t, followup)
    if followup.customer_id is not None:
        rows.append(target_buttons(t, "customer", followup.customer_id))
    elif followup.lead_id is not None:
        rows.append(target_buttons(t, "lead", followup.lead_id))
    return text, rows


def _line(t: Translate, followup: FollowUp, name: str, timezone: str, *, with_day: bool, this_year: int) -> str:
    local = followup.due_at.astimezone(zone(timezone))
    when = f"{day_text(t, local.date(), this_year)} {local:%H:%M}" if with_day else f"{local:%H:%M}"
    who = f" · {html.escape(name, quote=False)}" if name else ""
    return f"• {when}{who} — {html.escape(_short(followup.text, 200), quote=False)}"


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def agenda_message(t: Translate, agenda: Agenda, names: Mapping[int, str], timezone: str, today: date, *,
                   morning: bool = False, offset: int = 0, page_data: Callable[[int], str] | None = None,
                   title: str | None = None, footer: Sequence[Sequence[Button]] | None = None,
                   ) -> tuple[str, list[list[Button]]]:
    """The day's follow-ups and, on today's, everything overdue: a button per item, AGENDA_BUTTONS at a time from
    ``offset`` (page buttons carry ``page_data(offset)``), then ``footer`` (by default, buttons to move by a day)."""
    shown_day = day_text(t, agenda.day, today.year)
    if title is not None:
        lines = [title]
    elif morning:
        lines = [t("followups.agenda_morning", date=shown_day)]
    elif agenda.day == today:
        lines = [t("followups.agenda_today", date=shown_day)]
    else:
        lines = [t("followups.agenda_day", date=shown_day)]
    if agenda.overdue:
        lines += ["", t("followups.agenda_overdue", count=len(agenda.overdue))]
        lines += [_line(t, f, names.get(f.id, ""), timezone, with_day=True, this_year=today.year)
                  for f in agenda.overdue]
    if agenda.due:
        lines += ["", t("followups.agenda_due", count=len(agenda.due))]
        lines += [_line(t, f, names.get(f.id, ""), timezone, with_day=False, this_year=today.year)
                  for f in agenda.due]
    if not agenda.overdue and not agenda.due:
        lines += ["", t("followups.agenda_empty")]
    rows: list[list[Button]] = []
    items: Sequence[FollowUp] = (*agenda.overdue, *agenda.due)
    start = max(0, min(offset, (len(items) - 1) // AGENDA_BUTTONS * AGENDA_BUTTONS)) if items else 0
    overdue_ids = {f.id for f in agenda.overdue}
    for followup in items[start:start + AGENDA_BUTTONS]:
        local = followup.due_at.astimezone(zone(timezone))
        mark = "⚠️ " if followup.id in overdue_ids else ""
        label = f"{mark}{local:%H:%M} {_short(names.get(followup.id, '') or followup.text, 28)}"
        rows.append([(label, f"fu:view:{followup.id}")])
    if page_data is None:
        page_data = functools.partial(_day_page, agenda.day)
    if len(items) > AGENDA_BUTTONS:
        lines += ["", t("followups.agenda_page", first=start + 1, last=min(start + AGENDA_BUTTONS, len(items)),
                        total=len(items))]
        paging: list[Button] = []
        if start > 0:
            paging.append((t("followups.btn_items_prev"), page_data(start - AGENDA_BUTTONS)))
        if start + AGENDA_BUTTONS < len(items):
            paging.append((t("followups.btn_items_next"), page_data(start + AGENDA_BUTTONS)))
        rows.append(paging)
    if footer is None:
        before, after = agenda.day - timedelta(days=1), agenda.day + timedelta(days=1)
        rows.append([(t("followups.btn_prev_day"), f"fu:day:{before:%Y%m%d}"),
                     (t("followups.btn_next_day"), f"fu:day:{after:%Y%m%d}")])
    else:
        rows.extend(list(row) for row in footer)
    return "\n".join(lines), rows


def _day_page(day: date, offset: int) -> str:
    return f"fu:day:{day:%Y%m%d}:{offset}"


def team_message(t: Translate, loads: Sequence[RepLoad], today: date) -> tuple[str, list[list[Button]]]:
    """A manager's team today: per person, what is due today and what is overdue; a button opens their list."""
    lines = [t("followups.team_title", date=day_text(t, today, today.year))]
    if not loads:
        lines += ["", t("followups.team_empty")]
    rows: list[list[Button]] = []
    for load in loads:
        lines.append(t("followups.team_line", name=load.name, due=load.due_today, overdue=load.overdue))
        label = f"{_short(load.name, 24)} · ⚠️{load.overdue} · 🗓{load.due_today}"
        rows.append([(label, f"fu:rep:{load.staff_id}")])
    return "\n".join(lines), rows


def is_empty(agenda: Agenda) -> bool:
    return not agenda.overdue and not agenda.due
