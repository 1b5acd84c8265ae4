"""The schedule in chat. ``/event meeting tomorrow 3pm budget review @Ned`` (or 明天下午3點 拜訪 台積電, 请假 下周一)
echoes what was understood with Save / Cancel; saved, each colleague named with @ is asked to accept or decline.
``/schedule`` shows today, ``/schedule week`` this week (a day or a word like "tomorrow" shows that day), with
events and open follow-ups together. ``/calendar`` gives one's calendar feed address (once: only its hash is
kept); ``/calendar reset`` a new one, the old stops answering.

An event's card (from the saved event, the day's list) lets its owner change the time, the title or the
attendees: the new value is typed, echoed with Save / Cancel, and on Save each attendee is told (the new ones
invited, those taken off told so) and the reminder rows follow.

Buttons (ids only; the service re-checks every press):
  ofe:save  ofe:cancel  ofe:acc:<event id>  ofe:dec:<event id>  ofe:del:<event id>  ofe:rst:<event id>
  ofe:open:<event id>  ofe:ed:<event id>:<time|title|who>  ofe:esave  ofe:ecancel
  ofs:d:<day ordinal>  ofs:w:<monday ordinal>
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.core.natural_dates import parse_when
from crm.office.model import Answer, Attendee, Event, EventDraft, EventKind
from crm.office.schedule import EventChange, week_start, zone_of
from handlers.core import flow
from handlers.core.common import actor_of, require_actor
from handlers.core.screens import Rows, arg, respond, word
from outbound.telegram_send import deliver
from views.office.office import event_button, event_lines, invitation, schedule_text

OPERATION = "office.use"
DRAFT_KEY = "office_event"
EDIT_KEY = "office_event_edit"
CONFIRM = "ofe.confirm"
EDIT = "ofe.edit"
FIELDS = ("time", "title", "who")
_NAMES_SPLIT = re.compile(r"[\s,，、]+")
NOBODY = frozenset({"-", "none", "nobody", "無", "无", "沒有", "没有"})
WEEK_WORDS = frozenset({"week", "週", "周", "本週", "本周", "這週", "这周"})


def _draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


@require_actor(OPERATION)
async def new_event(update: Update, context: CrmContext) -> None:
    line = " ".join(context.args or [])
    if not line.strip():
        await respond(update, context, context.t("office.event_usage"), edit=False)
        return
    schedule = context.services.office.schedule
    actor = actor_of(context)
    parsed = schedule.read_line(actor, line)
    attendees, unknown = await schedule.colleagues(actor, parsed.names)
    if unknown:
        await respond(update, context, context.t("office.no_colleague", name=unknown[0]), edit=False)
        return
    draft = {"kind": parsed.kind.value, "title": parsed.title, "starts_at": parsed.starts_at.isoformat(),
             "ends_at": parsed.ends_at.isoformat(), "attendees": [[a.staff_id, a.name] for a in attendees]}
    if context.user_data is not None:
        context.user_data[DRAFT_KEY] = draft
    flow.ask(context, CONFIRM, expects="button", buttons=("ofe:",), owns=(DRAFT_KEY,))
    await _echo(update, context, draft)


def _event_draft(draft: dict[str, Any]) -> EventDraft:
    return EventDraft(EventKind(draft["kind"]), draft["title"], datetime.fromisoformat(draft["starts_at"]),
                      datetime.fromisoformat(draft["ends_at"]),
                      tuple(Attendee(int(i), str(n)) for i, n in draft["attendees"]))


async def _echo(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    zone = context.services.office.schedule.zone(actor_of(context))
    d = _event_draft(draft)
    shown = Event(0, actor_of(context).staff_id, d.kind, d.title, d.starts_at, d.ends_at, d.attendees)
    text = "\n".join([context.t("office.check"), *event_lines(context.t, shown, zone)])
    rows: Rows = [[(context.t("office.btn_save"), "ofe:save"), (context.t("common.cancel"), "ofe:cancel")]]
    await respond(update, context, text, rows, edit=False)


@flow.on_stray(CONFIRM)
@require_actor(OPERATION)
async def typed_at_echo(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    if not draft:
        await respond(update, context, context.t("input.use_buttons"), edit=False)
        return
    await _echo(update, context, draft)


@require_actor(OPERATION)
async def save(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    draft = _draft(context)
    if waiting is None or waiting.kind != CONFIRM or not draft:
        raise DomainError("error.stale_button")
    schedule = context.services.office.schedule
    event = await schedule.plan(actor_of(context), _event_draft(draft))
    flow.abandon(context)
    zone = schedule.zone(actor_of(context))
    rows: Rows = [[(context.t("office.btn_change"), f"ofe:open:{event.id}"),
                   (context.t("office.btn_cancel_event"), f"ofe:del:{event.id}")]]
    await respond(update, context, "\n".join([context.t("office.event_saved"),
                                              *event_lines(context.t, event, zone)]), rows)
    for attendee in event.attendees:
        person = await schedule.invitee(attendee.staff_id)
        if person is None or person.telegram_user_id is None:
            continue
        t = functools.partial(context.i18n.t, person.locale or "en")
        their_zone = zone_of(person.timezone, schedule.default_timezone)
        text, buttons = invitation(t, event, their_zone)
        await deliver(context.bot, person.telegram_user_id, text, buttons)


@require_actor(OPERATION)
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == CONFIRM:
        flow.abandon(context)
    await respond(update, context, context.t("office.cancelled"))


async def _answer(update: Update, context: CrmContext, accept: bool) -> None:
    schedule = context.services.office.schedule
    event = await schedule.answer(actor_of(context), arg(update, 0), accept)
    zone = schedule.zone(actor_of(context))
    note = context.t("office.accepted" if accept else "office.declined")
    rows: Rows = [[(context.t("office.btn_decline"), f"ofe:dec:{event.id}")]] if accept else \
        [[(context.t("office.btn_accept"), f"ofe:acc:{event.id}")]]
    await respond(update, context, "\n".join([note, *event_lines(context.t, event, zone)]), rows)


@require_actor(OPERATION)
async def accept(update: Update, context: CrmContext) -> None:
    await _answer(update, context, True)


@require_actor(OPERATION)
async def decline(update: Update, context: CrmContext) -> None:
    await _answer(update, context, False)


@require_actor(OPERATION)
async def delete(update: Update, context: CrmContext) -> None:
    event = await context.services.office.schedule.cancel(actor_of(context), arg(update, 0))
    rows: Rows = [[(context.t("office.btn_restore"), f"ofe:rst:{event.id}")]]
    await respond(update, context, context.t("office.event_cancelled", title=event.title), rows)


@require_actor(OPERATION)
async def restore(update: Update, context: CrmContext) -> None:
    schedule = context.services.office.schedule
    event = await schedule.restore(actor_of(context), arg(update, 0))
    zone = schedule.zone(actor_of(context))
    rows: Rows = [[(context.t("office.btn_cancel_event"), f"ofe:del:{event.id}")]]
    await respond(update, context, "\n".join([context.t("office.restored"), *event_lines(context.t, event, zone)]),
                  rows)


# ---- an event's card and its changes ---------------------------------------------------------------------------

def _card_rows(context: CrmContext, event: Event) -> Rows:
    t = context.t
    staff_id = actor_of(context).staff_id
    if event.owner_id == staff_id:
        return [[(t("office.btn_time"), f"ofe:ed:{event.id}:time"), (t("office.btn_title"), f"ofe:ed:{event.id}:title"),
                 (t("office.btn_attendees"), f"ofe:ed:{event.id}:who")],
                [(t("office.btn_cancel_event"), f"ofe:del:{event.id}")]]
    return _answer_rows(t, event, staff_id)


def _answer_rows(t: Any, event: Event, staff_id: int) -> Rows:
    """An attendee's buttons: the answer they have not given."""
    answer = next((a.answer for a in event.attendees if a.staff_id == staff_id), Answer.INVITED)
    buttons = [(t("office.btn_accept"), f"ofe:acc:{event.id}"), (t("office.btn_decline"), f"ofe:dec:{event.id}")]
    if answer is Answer.ACCEPTED:
        buttons = buttons[1:]
    elif answer is Answer.DECLINED:
        buttons = buttons[:1]
    return [buttons]


async def _card(update: Update, context: CrmContext, event: Event, note: str | None = None, *,
                edit: bool | None = None) -> None:
    zone = context.services.office.schedule.zone(actor_of(context))
    lines = event_lines(context.t, event, zone)
    await respond(update, context, "\n".join([note, *lines] if note else lines), _card_rows(context, event), edit=edit)


@require_actor(OPERATION)
async def open_event(update: Update, context: CrmContext) -> None:
    await _card(update, context, await context.services.office.schedule.event(actor_of(context), arg(update, 0)),
                edit=False)


@require_actor(OPERATION)
async def ask_edit(update: Update, context: CrmContext) -> None:
    field = word(update, 1)
    if field not in FIELDS:
        raise DomainError("error.stale_button")
    event = await context.services.office.schedule.editable(actor_of(context), arg(update, 0))
    if context.user_data is not None:
        context.user_data[EDIT_KEY] = {"id": event.id, "field": field}
    flow.ask(context, EDIT, step=field, owns=(EDIT_KEY,))
    key = {"time": "office.ask_time", "title": "office.ask_event_title", "who": "office.ask_attendees"}[field]
    await respond(update, context, context.t(key, title=event.title), edit=False)


def _edit_draft(context: CrmContext) -> dict[str, Any]:
    data = context.user_data.get(EDIT_KEY) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _changed(event: Event, draft: dict[str, Any]) -> Event:
    """The event as it would be with the typed change."""
    changed = event
    if "title" in draft:
        changed = replace(changed, title=str(draft["title"]))
    if "starts_at" in draft:
        changed = replace(changed, starts_at=datetime.fromisoformat(draft["starts_at"]),
                          ends_at=datetime.fromisoformat(draft["ends_at"]))
    if "attendees" in draft:
        had = {a.staff_id: a for a in event.attendees}
        changed = replace(changed, attendees=tuple(had.get(int(i)) or Attendee(int(i), str(n))
                                                   for i, n in draft["attendees"]))
    return changed


async def _edit_echo(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    schedule = context.services.office.schedule
    event = await schedule.editable(actor_of(context), int(draft["id"]))
    flow.ask(context, EDIT, step="confirm", expects="button", buttons=("ofe:",), owns=(EDIT_KEY,))
    text = "\n".join([context.t("office.check"),
                      *event_lines(context.t, _changed(event, draft), schedule.zone(actor_of(context)))])
    if "attendees" in draft and not draft["attendees"]:
        text += "\n" + context.t("office.nobody_invited")
    rows: Rows = [[(context.t("office.btn_save"), "ofe:esave"), (context.t("common.cancel"), "ofe:ecancel")]]
    await respond(update, context, text, rows, edit=False)


async def _retry(update: Update, context: CrmContext, draft: dict[str, Any], message: str) -> None:
    flow.ask(context, EDIT, step=str(draft["field"]), owns=(EDIT_KEY,))
    await respond(update, context, message, edit=False)


@flow.on_text(EDIT)
@require_actor(OPERATION)
async def typed_edit(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    draft = _edit_draft(context)
    message = update.effective_message
    line = " ".join(((message.text if message else None) or "").split())
    if waiting is None or waiting.step not in FIELDS or not draft:
        await respond(update, context, context.t("input.use_buttons"), edit=False)
        return
    schedule = context.services.office.schedule
    actor = actor_of(context)
    event = await schedule.editable(actor, int(draft["id"]))
    draft = {"id": event.id, "field": waiting.step}
    try:
        if waiting.step == "time":
            starts, ends = schedule.read_time(actor, line, event)
            draft["starts_at"], draft["ends_at"] = starts.isoformat(), ends.isoformat()
        elif waiting.step == "title":
            title = " ".join(line.split())
            if not title or line.startswith("/"):
                raise ValidationFailed("office.error_event_title")
            draft["title"] = title
        else:
            names = [] if line.lower() in NOBODY else [n.lstrip("@") for n in _NAMES_SPLIT.split(line)]
            attendees, unknown = await schedule.colleagues(actor, [n for n in names if n])
            if unknown:
                await _retry(update, context, draft, context.t("office.no_colleague", name=unknown[0]))
                return
            draft["attendees"] = [[a.staff_id, a.name] for a in attendees]
    except ValidationFailed as exc:
        await _retry(update, context, draft, context.t(exc.key or "office.error_when", **exc.params))
        return
    if context.user_data is not None:
        context.user_data[EDIT_KEY] = draft
    await _edit_echo(update, context, draft)


@flow.on_stray(EDIT)
@require_actor(OPERATION)
async def typed_at_edit_echo(update: Update, context: CrmContext) -> None:
    draft = _edit_draft(context)
    if len(draft) <= 2:
        await respond(update, context, context.t("input.use_buttons"), edit=False)
        return
    await _edit_echo(update, context, draft)


@require_actor(OPERATION)
async def save_edit(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    draft = _edit_draft(context)
    if waiting is None or waiting.kind != EDIT or waiting.step != "confirm" or len(draft) <= 2:
        raise DomainError("error.stale_button")
    schedule = context.services.office.schedule
    change = await schedule.edit(
        actor_of(context), int(draft["id"]), title=draft.get("title"),
        starts_at=datetime.fromisoformat(draft["starts_at"]) if "starts_at" in draft else None,
        ends_at=datetime.fromisoformat(draft["ends_at"]) if "ends_at" in draft else None,
        attendees=[Attendee(int(i), str(n)) for i, n in draft["attendees"]] if "attendees" in draft else None)
    flow.abandon(context)
    await _card(update, context, change.after, context.t("office.event_updated"))
    await _tell(context, change)


async def _tell(context: CrmContext, change: EventChange) -> None:
    """Each attendee in their own language and zone: the new ones invited, those taken off told, the others
    shown the event as it is now with the answer they may still give."""
    schedule = context.services.office.schedule
    after = change.after
    moved = (after.title, after.starts_at, after.ends_at) != (change.before.title, change.before.starts_at,
                                                               change.before.ends_at)
    told: list[tuple[Attendee, str]] = [(a, "added") for a in change.added]
    told += [(a, "removed") for a in change.removed]
    told += [(a, "kept") for a in change.kept if moved or change.added or change.removed]
    for attendee, how in told:
        person = await schedule.invitee(attendee.staff_id)
        if person is None or person.telegram_user_id is None:
            continue
        t = functools.partial(context.i18n.t, person.locale or "en")
        zone = zone_of(person.timezone, schedule.default_timezone)
        if how == "added":
            text, buttons = invitation(t, after, zone)
        elif how == "removed":
            text, buttons = t("office.event_removed", name=after.owner_name, title=change.before.title), []
        else:
            text = "\n".join([t("office.event_changed", name=after.owner_name), *event_lines(t, after, zone)])
            buttons = _answer_rows(t, after, attendee.staff_id)
        await deliver(context.bot, person.telegram_user_id, text, buttons)


@require_actor(OPERATION)
async def cancel_edit(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == EDIT:
        flow.abandon(context)
    await respond(update, context, context.t("office.cancelled"))


# ---- /schedule ------------------------------------------------------------------------------------------------

async def _show(update: Update, context: CrmContext, first: date, count: int, *, edit: bool | None = None) -> None:
    schedule = context.services.office.schedule
    actor = actor_of(context)
    days = await schedule.days(actor, first, count)
    text = schedule_text(context.t, days, schedule.zone(actor))
    if count == 1:
        events = [item for _, items in days for item in items if item.event_id is not None]
        rows: Rows = [[(event_button(item, schedule.zone(actor)), f"ofe:open:{item.event_id}")]
                      for item in events[:10]]
        rows += [[("◀️", f"ofs:d:{(first - timedelta(days=1)).toordinal()}"),
                       (context.t("office.btn_week"), f"ofs:w:{week_start(first).toordinal()}"),
                       ("▶️", f"ofs:d:{(first + timedelta(days=1)).toordinal()}")]]
    else:
        rows = [[("◀️", f"ofs:w:{(first - timedelta(days=7)).toordinal()}"),
                 (context.t("office.btn_today"), f"ofs:d:{schedule.local_now(actor).date().toordinal()}"),
                 ("▶️", f"ofs:w:{(first + timedelta(days=7)).toordinal()}")],
                [(context.t("office.btn_image"), f"ofs:img:{first.toordinal()}")]]
    await respond(update, context, text, rows, edit=edit)


@require_actor(OPERATION)
async def show_schedule(update: Update, context: CrmContext) -> None:
    """``/schedule`` today; ``/schedule week`` this week; ``/schedule tomorrow`` / ``/schedule 下週一`` that day."""
    schedule = context.services.office.schedule
    actor = actor_of(context)
    now = schedule.local_now(actor)
    words = " ".join(context.args or []).strip()
    if words.lower() in WEEK_WORDS:
        await _show(update, context, week_start(now.date()), 7, edit=False)
        return
    if words:
        parsed = parse_when(words, now)
        if parsed is None:
            await respond(update, context, context.t("office.error_when"), edit=False)
            return
        await _show(update, context, parsed.at.date(), 1, edit=False)
        return
    await _show(update, context, now.date(), 1, edit=False)


def _day(update: Update) -> date:
    ordinal = arg(update, 0)
    if not date(2000, 1, 1).toordinal() <= ordinal <= date(2100, 1, 1).toordinal():
        raise DomainError("error.stale_button")
    return date.fromordinal(ordinal)


@require_actor(OPERATION)
async def day_page(update: Update, context: CrmContext) -> None:
    await _show(update, context, _day(update), 1)


@require_actor(OPERATION)
async def week_page(update: Update, context: CrmContext) -> None:
    await _show(update, context, week_start(_day(update)), 7)


@require_actor(OPERATION)
async def week_image(update: Update, context: CrmContext) -> None:
    """The week as a picture, drawn in the worker."""
    first = week_start(_day(update))
    title = context.t("office.schedule_week", first=first.isoformat(),
                      last=(first + timedelta(days=6)).isoformat())
    png = await context.services.office.schedule.week_image(actor_of(context), first,
                                                            title.replace("<b>", "").replace("</b>", ""))
    await respond(update, context, context.t("office.drawing") if png else context.t("office.schedule_empty"),
                  edit=False)
    chat = update.effective_chat
    if png and chat is not None:
        await context.bot.send_photo(chat.id, png, filename="week.png")


# ---- /calendar --------------------------------------------------------------------------------------------------

@require_actor(OPERATION)
async def calendar(update: Update, context: CrmContext) -> None:
    """``/calendar``: the feed's address, made now if there is none; ``/calendar reset``: a new address."""
    service = context.services.office.calendar
    actor = actor_of(context)
    reset = " ".join(context.args or []).strip().lower() in ("reset", "重設", "重设", "重置")
    if not reset and await service.has_feed(actor):
        await respond(update, context, context.t("office.calendar_exists"), edit=False)
        return
    token = await service.new_token(actor)
    base = (context.settings.public_base_url or f"http://{context.settings.http_host}:{context.settings.http_port}")
    url = f"{base.rstrip('/')}/calendar/{token}.ics"
    key = "office.calendar_reset" if reset else "office.calendar_new"
    await respond(update, context, context.t(key, url=url), edit=False)
