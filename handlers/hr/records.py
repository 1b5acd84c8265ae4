"""Staff records in chat: ``/hr`` (the people one may see, or one's own card), ``/hr <name>``, the profile card,
editing a field (typed, echoed, saved on a tap), key events with a date in natural language, a note and an
optional file (echoed, saved on a tap), the timeline; a transfer or a departure offers the customer handover.

Buttons (ids only; every press re-reads through the service, which checks permission and scope):
  hr:open:<staff>  hr:list:<page>  hr:tl:<staff>:<page>  hr:edit:<staff>  hr:ef:<staff>:<field>
  hr:st:<staff>:<status>  hr:es  hr:ex  hr:ev:<staff>  hr:ek:<staff>:<kind>  hr:ed:<staff>:<department>
  hr:eg  hr:off:<staff>  hr:file:<event>
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.core.natural_dates import parse_when_prefix
from crm.hr.model import EmploymentStatus, EventKind, EventOutcome
from crm.hr.records import MAX_NOTE, clean_value
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, page_arg, page_row, respond, word
from handlers.organisation.display_names import role_label
from handlers.organisation.staff import owned_text
from views.core.text import short
from views.hr.hr import card_text, timeline_text

log = logging.getLogger(__name__)
EDIT, EVENT = "hr.edit", "hr.event"
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
FIELD_CODES = {"n": "employee_no", "t": "title", "h": "hire_date", "p": "phone", "e": "email",
               "c": "emergency_contact", "m": "manager_id"}
STATUS_CODES = {"a": EmploymentStatus.ACTIVE, "l": EmploymentStatus.ON_LEAVE, "x": EmploymentStatus.LEFT}
KINDS = {k.value: k for k in EventKind}
_YEAR = re.compile(r"\d{4}")


def _today(context: CrmContext) -> date:
    return context.services.clock.now().astimezone(ZoneInfo(actor_of(context).timezone)).date()


def _waiting(context: CrmContext, kind: str, step: str) -> dict[str, Any]:
    """The flow's data when it is at this step; a button of an earlier, cancelled or timed-out flow is stale."""
    waiting = flow.current(context)
    if waiting is None or waiting.kind != kind or waiting.step != step:
        raise DomainError("error.stale_button")
    return dict(waiting.data)


# ---- the card and the list --------------------------------------------------------------------------------------

async def show_card(update: Update, context: CrmContext, staff_id: int, *, note: str | None = None,
                    edit: bool | None = None) -> None:
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    t, s = context.t, card.staff_id
    rows: Rows = [[(t("hr.btn_timeline"), f"hr:tl:{s}:0"), (t("hr.btn_kpi"), f"hr:kp:{s}")]]
    if card.may_edit:
        rows.append([(t("hr.btn_edit"), f"hr:edit:{s}"), (t("hr.btn_event"), f"hr:ev:{s}")])
    if card.may_review:
        rows.append([(t("hr.btn_review"), f"hr:rv:{s}"), (t("hr.btn_targets"), f"hr:tg:{s}")])
    text = card_text(t, replace(card, role=role_label(context, card.role)))
    await respond(update, context, f"{note}\n\n{text}" if note else text, rows, edit=edit)


@require_actor()
async def hr_command(update: Update, context: CrmContext) -> None:
    """``/hr``: the people whose record one may open (one's own card without hr.view); ``/hr <name>`` finds."""
    name = " ".join(context.args or []).strip()
    actor = actor_of(context)
    if not name and not actor.can("hr.view"):
        await show_card(update, context, actor.staff_id, edit=False)
        return
    await _list(update, context, 0, name or None, edit=False)


async def _list(update: Update, context: CrmContext, page: int, name: str | None, *,
                edit: bool | None = None) -> None:
    people, more = await context.services.hr.records.people(actor_of(context), page, name)
    if name and len(people) == 1:
        await show_card(update, context, people[0].id, edit=edit)
        return
    if not people:
        await respond(update, context, context.t("hr.nobody", name=name or ""), edit=edit)
        return
    rows: Rows = [[(short(("" if p.active else "🔒 ") + p.name, 40), f"hr:open:{p.id}")] for p in people]
    if not name:
        rows.append(page_row(lambda n: f"hr:list:{n}", page, more))
    await respond(update, context, context.t("hr.people_title"), [r for r in rows if r], edit=edit)


@require_actor()
async def list_page(update: Update, context: CrmContext) -> None:
    await _list(update, context, page_arg(update), None)


@require_actor()
async def open_card(update: Update, context: CrmContext) -> None:
    await show_card(update, context, arg(update, 0))


@require_actor()
async def timeline(update: Update, context: CrmContext) -> None:
    staff_id, page = arg(update, 0), max(arg(update, 1), 0)
    service = context.services.hr.records
    events, more = await service.timeline(actor_of(context), staff_id, page)
    card = await service.card(actor_of(context), staff_id)
    ids = {d for e in events for d in (e.from_department_id, e.to_department_id) if d is not None}
    names = await service.department_names(actor_of(context), sorted(ids)) if ids else {}
    rows: Rows = [[(f"📎 {e.occurred_on.isoformat()} {short(e.file_name or '', 24)}", f"hr:file:{e.id}")]
                  for e in events if e.file_id]
    rows.append(page_row(lambda n: f"hr:tl:{staff_id}:{n}", page, more))
    rows.append([(context.t("hr.btn_back"), f"hr:open:{staff_id}")])
    await respond(update, context, timeline_text(context.t, card.name, events, names), [r for r in rows if r])


@require_actor()
async def send_file(update: Update, context: CrmContext) -> None:
    event = await context.services.hr.records.event(actor_of(context), arg(update, 0))
    await respond(update, context, context.t("hr.file_caption", on=event.occurred_on.isoformat(),
                                             what=context.t(f"hr.kind_{event.kind.value}")), edit=False)
    chat = update.effective_chat
    if event.file_id and chat is not None:
        await context.bot.send_document(chat.id, event.file_id)


# ---- editing the profile ----------------------------------------------------------------------------------------

@require_actor("hr.manage")
async def edit_menu(update: Update, context: CrmContext) -> None:
    card = await context.services.hr.records.card(actor_of(context), arg(update, 0))
    if not card.may_edit:
        raise DomainError("error.permission_denied")
    s = card.staff_id
    fields = [(context.t(f"hr.label_{name}"), f"hr:ef:{s}:{code}") for code, name in FIELD_CODES.items()]
    statuses = [(context.t(f"hr.status_{status.value}"), f"hr:st:{s}:{code}") for code, status in STATUS_CODES.items()]
    rows = [*grid(fields, 2), statuses, [(context.t("hr.btn_back"), f"hr:open:{s}")]]
    await respond(update, context, context.t("hr.edit_which", name=card.name), rows)


@require_actor("hr.manage")
async def edit_field(update: Update, context: CrmContext) -> None:
    staff_id, code = arg(update, 0), word(update, 1)
    field = FIELD_CODES.get(code)
    if field is None:
        raise DomainError("error.stale_button")
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_edit:
        raise DomainError("error.permission_denied")
    flow.ask(context, EDIT, step="value", staff_id=staff_id, field=field)
    await respond(update, context, context.t("hr.ask_value", field=context.t(f"hr.label_{field}"), name=card.name),
                  edit=False)


@flow.on_text(EDIT)
@require_actor("hr.manage")
async def typed_value(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.step != "value":
        await respond(update, context, context.t("hr.press_button"), edit=False)
        return
    data, raw = dict(waiting.data), message_text(update)
    field = str(data["field"])
    try:
        if field == "manager_id":
            people, _ = await context.services.hr.records.people(actor_of(context), 0, raw.strip())
            if len(people) != 1:
                raise ValidationFailed("hr.error_manager", name=raw.strip()[:40])
            value: Any = people[0].id
            shown = people[0].name
        else:
            cleaned = clean_value(field, raw)
            value = cleaned.isoformat() if isinstance(cleaned, date) else cleaned
            shown = value if value is not None else context.t("hr.none")
    except DomainError as exc:
        await respond(update, context, context.t(exc.key, **exc.params), edit=False)
        return
    flow.ask(context, EDIT, step="confirm", expects="button", buttons=("hr:es", "hr:ex"), **data, value=value)
    rows: Rows = [[(context.t("hr.btn_save"), "hr:es"), (context.t("common.cancel"), "hr:ex")]]
    await respond(update, context, context.t("hr.check_value", field=context.t(f"hr.label_{field}"), value=shown),
                  rows, edit=False)


@flow.on_stray(EDIT)
@require_actor("hr.manage")
async def stray_at_edit(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("hr.press_button"), edit=False)


@require_actor("hr.manage")
async def edit_save(update: Update, context: CrmContext) -> None:
    data = _waiting(context, EDIT, "confirm")
    field, value = str(data["field"]), data.get("value")
    if field == "hire_date" and isinstance(value, str):
        value = date.fromisoformat(value)
    await context.services.hr.records.edit(actor_of(context), int(data["staff_id"]), field, value)
    flow.end(context)
    await show_card(update, context, int(data["staff_id"]), note=context.t("hr.saved"), edit=False)


@require_actor()
async def edit_cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind in (EDIT, EVENT):
        flow.abandon(context)
    await respond(update, context, context.t("hr.cancelled"))


@require_actor("hr.manage")
async def set_status(update: Update, context: CrmContext) -> None:
    staff_id, status = arg(update, 0), STATUS_CODES.get(word(update, 1))
    if status is None:
        raise DomainError("error.stale_button")
    await context.services.hr.records.edit(actor_of(context), staff_id, "status", status.value)
    await show_card(update, context, staff_id, note=context.t("hr.saved"))


# ---- key events -------------------------------------------------------------------------------------------------

@require_actor("hr.manage")
async def event_menu(update: Update, context: CrmContext) -> None:
    card = await context.services.hr.records.card(actor_of(context), arg(update, 0))
    if not card.may_edit:
        raise DomainError("error.permission_denied")
    kinds = [(context.t(f"hr.kind_{k.value}"), f"hr:ek:{card.staff_id}:{k.value}") for k in EventKind]
    rows = [*grid(kinds, 2), [(context.t("hr.btn_back"), f"hr:open:{card.staff_id}")]]
    await respond(update, context, context.t("hr.event_which", name=card.name), rows)


@require_actor("hr.manage")
async def event_kind(update: Update, context: CrmContext) -> None:
    staff_id, kind = arg(update, 0), KINDS.get(word(update, 1))
    if kind is None:
        raise DomainError("error.stale_button")
    if kind is EventKind.TRANSFER:
        targets = await context.services.hr.records.transfer_targets(actor_of(context), staff_id)
        rows: Rows = [[(short("· " * depth + d.name, 40), f"hr:ed:{staff_id}:{d.id}")] for depth, d in targets]
        rows.append([(context.t("hr.btn_back"), f"hr:ev:{staff_id}")])
        await respond(update, context, context.t("hr.ask_department"), rows)
        return
    await _ask_note(update, context, staff_id, kind, None)


@require_actor("hr.manage")
async def event_department(update: Update, context: CrmContext) -> None:
    staff_id, department_id = arg(update, 0), arg(update, 1)
    targets = await context.services.hr.records.transfer_targets(actor_of(context), staff_id)
    if department_id not in {d.id for _, d in targets}:
        raise DomainError("error.stale_button")
    await _ask_note(update, context, staff_id, EventKind.TRANSFER, department_id)


async def _ask_note(update: Update, context: CrmContext, staff_id: int, kind: EventKind,
                    department_id: int | None) -> None:
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_edit:
        raise DomainError("error.permission_denied")
    flow.ask(context, EVENT, step="note", document=True, staff_id=staff_id, what=kind.value,
             department_id=department_id, name=card.name)
    await respond(update, context, context.t("hr.ask_note", what=context.t(f"hr.kind_{kind.value}"),
                                             name=card.name), edit=False)


def _understood(context: CrmContext, text: str) -> tuple[date, str]:
    """The date at the start (natural language, the writer's zone), else today; the rest is the note."""
    zone = ZoneInfo(actor_of(context).timezone)
    found = parse_when_prefix(text.strip(), context.services.clock.now().astimezone(zone))
    if found is None:
        return _today(context), text.strip()
    when, rest = found
    day = when.at.date()
    # The grammar names the next such day, as follow-ups want; an event is mostly recorded after the fact, so a day
    # named without its year ("11月20日", "Mar 3") that lands half a year ahead is last year's.
    if day > _today(context) + timedelta(days=183) and not _YEAR.search(when.text):
        with contextlib.suppress(ValueError):  # 29 February stays as it was
            day = day.replace(year=day.year - 1)
    return day, rest.strip(" ,，:：-")


async def _echo_event(update: Update, context: CrmContext, data: dict[str, Any], text: str,
                      file: tuple[str, str] | None) -> None:
    on, note = _understood(context, text)
    if not note and file is None:
        await respond(update, context, context.t("hr.error_note"), edit=False)
        return
    if len(note) > MAX_NOTE:
        await respond(update, context, context.t("hr.error_too_long", limit=MAX_NOTE), edit=False)
        return
    data.update(on=on.isoformat(), note=note, file_id=file[0] if file else None, file_name=file[1] if file else None)
    flow.ask(context, EVENT, step="confirm", expects="button", buttons=("hr:eg", "hr:ex"), **data)
    t = context.t
    lines = [t("hr.check_event"), t("hr.check_person", name=data["name"]),
             t("hr.check_kind", what=t(f"hr.kind_{data['what']}")), t("hr.check_on", on=on.isoformat()),
             t("hr.check_note", note=note or t("hr.none"))]
    if data.get("department_id"):
        names = await context.services.hr.records.department_names(actor_of(context), [int(data["department_id"])])
        lines.append(t("hr.check_department", name=names.get(int(data["department_id"]), "?")))
    if file is not None:
        lines.append(t("hr.check_file", name=file[1]))
    rows: Rows = [[(t("hr.btn_save"), "hr:eg"), (t("common.cancel"), "hr:ex")]]
    await respond(update, context, "\n".join(lines), rows, edit=False)


@flow.on_text(EVENT)
@require_actor("hr.manage")
async def typed_note(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.step != "note":
        await respond(update, context, context.t("hr.press_button"), edit=False)
        return
    await _echo_event(update, context, dict(waiting.data), message_text(update), None)


@flow.on_message(EVENT)
@require_actor("hr.manage")
async def sent_file(update: Update, context: CrmContext) -> None:
    waiting, message = flow.current(context), update.effective_message
    if waiting is None or waiting.step != "note" or message is None:
        await respond(update, context, context.t("hr.press_button"), edit=False)
        return
    if message.document is not None:
        file = (message.document.file_id, message.document.file_name or "file")
        size = message.document.file_size
    elif message.photo:
        file, size = (message.photo[-1].file_id, "photo.jpg"), message.photo[-1].file_size
    else:
        await respond(update, context, context.t("hr.ask_note_again"), edit=False)
        return
    if size is not None and size > MAX_FILE_BYTES:
        await respond(update, context, context.t("hr.error_file_size"), edit=False)
        return
    await _echo_event(update, context, dict(waiting.data), message.caption or "", file)


@flow.on_stray(EVENT)
@require_actor("hr.manage")
async def stray_at_event(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("hr.press_button"), edit=False)


@require_actor("hr.manage")
async def event_save(update: Update, context: CrmContext) -> None:
    data = _waiting(context, EVENT, "confirm")
    staff_id = int(data["staff_id"])
    outcome = await context.services.hr.records.record(
        actor_of(context), staff_id, EventKind(data["what"]), date.fromisoformat(str(data["on"])),
        str(data.get("note") or ""), to_department_id=int(data["department_id"]) if data.get("department_id") else None,
        file_id=data.get("file_id"), file_name=data.get("file_name"))
    flow.end(context)
    if outcome.event.file_id:
        await _keep_file(context, outcome)
    await _after_event(update, context, staff_id, outcome)


async def _keep_file(context: CrmContext, outcome: EventOutcome) -> None:
    """The file's copy under DATA_DIR; the event stands without it (Telegram keeps the file too)."""
    event = outcome.event
    try:
        assert event.file_id is not None
        file = await context.bot.get_file(event.file_id)
        if file.file_size is not None and file.file_size > MAX_FILE_BYTES:
            raise ValidationFailed("hr.error_file_size")
        data = bytes(await file.download_as_bytearray())
        await context.services.hr.records.keep_file(actor_of(context), event.id, event.file_name or "file", data)
    except Exception:  # the file stays reachable by its file id
        log.warning("could not keep a copy of the file of HR event %s", event.id, exc_info=True)


async def _after_event(update: Update, context: CrmContext, staff_id: int, outcome: EventOutcome, *,
                       saved: bool = True) -> None:
    """The card, with what the event did; while the person still owns customers, leads or follow-ups after a
    transfer or a departure, the handover (the segments module's flow, ``ho:pick``) is offered."""
    t, kind = context.t, outcome.event.kind
    notes = [t("hr.event_saved", what=t(f"hr.kind_{kind.value}"))] if saved else []
    if outcome.deactivated:
        notes.append(t("hr.login_locked"))
    if not outcome.open_work:
        await show_card(update, context, staff_id, note="\n".join(notes), edit=False)
        return
    notes += [owned_text(context, outcome.open_work), t(f"hr.handover_offer_{kind.value}")]
    rows: Rows = []
    if actor_of(context).can("customers.handover"):
        rows.append([(t("hr.btn_handover"), f"ho:pick:{staff_id}")])
    else:
        notes.append(t("segments.deactivate_ask_manager"))
    if kind is EventKind.DEPARTURE:
        rows.append([(t("hr.btn_lock"), f"hr:off:{staff_id}")])
    rows.append([(t("hr.btn_card"), f"hr:open:{staff_id}")])
    await respond(update, context, "\n".join(notes), rows, edit=False)


@require_actor("hr.manage")
async def finish_departure(update: Update, context: CrmContext) -> None:
    staff_id = arg(update, 0)
    left = await context.services.hr.records.finish_departure(actor_of(context), staff_id)
    if left is not None:  # something was given to them since: the handover first, again
        await _after_event(update, context, staff_id, left, saved=False)
        return
    await show_card(update, context, staff_id, note=context.t("hr.login_locked"))
