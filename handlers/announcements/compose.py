"""``/announce``: text (or a photo / document with a caption) → audience → when → pinned? → a preview exactly as
recipients will see it → Publish. And the author's edit: new text → preview → Save.

Every step is a question of handlers/core/flow.py (docs/input-flows.md): /cancel, timeouts, typed text at a
button step answered with the question again. Nothing is stored before the last tap.

Buttons (ids only; the service checks permission and scope again on publish):
  an:aud:<all|dep|role>  an:dep:<id>  an:role:<id>  an:now  an:pin:<0|1>  an:ok  an:no  an:pv
  ae:ok  ae:no
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.announcements.announcements import clean_body
from crm.announcements.delivery import KICK_KEY
from crm.announcements.model import (
    Announcement,
    AnnouncementDraft,
    Attachment,
    AttachmentKind,
    Audience,
    AudienceKind,
)
from crm.core.errors import DomainError
from crm.core.natural_dates import parse_when
from handlers.announcements.attachments import keep_copy
from handlers.core import flow
from handlers.core.common import actor_of, answer, message_text, require_actor
from handlers.core.screens import Rows, arg, respond, word
from handlers.organisation.display_names import role_label
from views.announcements.texts import audience_text, author_rows, author_view, message
from views.core.formatting import local_time, zone
from views.core.text import short

OP = "announcements.publish"
DRAFT_KEY = "announcement_draft"
EDIT_KEY = "announcement_edit"
TEXT, AUDIENCE, WHEN, PIN, CONFIRM = "an.text", "an.audience", "an.when", "an.pin", "an.confirm"
EDIT_TEXT, EDIT_CONFIRM = "ae.text", "ae.confirm"
PREVIEW_DATA = "an:pv"  # the preview's own buttons: they look like the recipients' and do nothing


def kick(context: CrmContext) -> None:
    """Start a delivery round now rather than at the next tick."""
    start = context.bot_data.get(KICK_KEY)
    if callable(start):
        start()


def _draft(context: CrmContext, key: str = DRAFT_KEY) -> dict[str, Any]:
    data = context.user_data.get(key) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _save(context: CrmContext, draft: dict[str, Any], key: str = DRAFT_KEY) -> None:
    if context.user_data is not None:
        context.user_data[key] = draft


def _at(context: CrmContext, *kinds: str) -> bool:
    waiting = flow.current(context)
    return waiting is not None and waiting.kind in kinds


def _require_step(context: CrmContext, *kinds: str) -> dict[str, Any]:
    """The draft of a flow that is still open at one of ``kinds``; a button of a gone draft is stale."""
    draft = _draft(context)
    if not _at(context, *kinds) or "body" not in draft:
        raise DomainError("error.stale_button")
    return draft


def _preview_rows(rows: Rows) -> Rows:
    return [[(label, PREVIEW_DATA) for label, _ in row] for row in rows]


def _as_announcement(context: CrmContext, draft: dict[str, Any], *, body: str | None = None,
                     base: Announcement | None = None) -> Announcement:
    now = context.services.clock.now()
    attachment = None
    if draft.get("file_id"):
        attachment = Attachment(AttachmentKind(draft["file_kind"]), str(draft["file_id"]), draft.get("file_path"))
    if base is not None:
        return replace(base, body=body or base.body, version=base.version + 1,
                       edited_at=now if base.published_at is not None else None)
    return Announcement(id=0, author_id=actor_of(context).staff_id, body=body or str(draft["body"]),
                        audience=Audience(AudienceKind.ALL), pinned=bool(draft.get("pinned")), publish_at=now,
                        published_at=None, version=1, created_at=now, updated_at=now, attachment=attachment)


# ---- text ---------------------------------------------------------------------------------------------------

@require_actor(OP)
async def announce(update: Update, context: CrmContext) -> None:
    """/announce: ask for the text."""
    _save(context, {})
    flow.ask(context, TEXT, document=True, owns=(DRAFT_KEY,))
    await respond(update, context, context.t("announcements.ask_text"))


@flow.on_text(TEXT)
@require_actor(OP)
async def typed_text(update: Update, context: CrmContext) -> None:
    try:
        body = clean_body(message_text(update))
    except DomainError as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("announcements.ask_text"))
        return
    await _ask_audience(update, context, {**_draft(context), "body": body})


@flow.on_message(TEXT)
@require_actor(OP)
async def file_with_caption(update: Update, context: CrmContext) -> None:
    """A photo or a document with its caption as the text."""
    message_ = update.effective_message
    if message_ is None or not (message_.photo or message_.document):
        await respond(update, context,
                      context.t("announcements.error_kind") + "\n" + context.t("announcements.ask_text"))
        return
    try:
        body = clean_body(message_.caption)
    except DomainError:
        await respond(update, context, context.t("announcements.error_caption"))
        return
    if message_.photo:
        kind, file_id, suffix = AttachmentKind.PHOTO, message_.photo[-1].file_id, "jpg"
    else:
        assert message_.document is not None
        name = message_.document.file_name or ""
        kind, file_id, suffix = AttachmentKind.DOCUMENT, message_.document.file_id, name.rpartition(".")[2]
    path = await keep_copy(context.bot, context.files, file_id, suffix)
    await _ask_audience(update, context, {**_draft(context), "body": body, "file_kind": kind.value,
                                          "file_id": file_id, "file_path": path})


# ---- audience -----------------------------------------------------------------------------------------------

async def _ask_audience(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _save(context, draft)
    flow.ask(context, AUDIENCE, expects="button", buttons=("an:",), owns=(DRAFT_KEY,))
    rows = [[(context.t("announcements.btn_everyone"), "an:aud:all")],
            [(context.t("announcements.btn_department"), "an:aud:dep"),
             (context.t("announcements.btn_role"), "an:aud:role")]]
    await respond(update, context, context.t("announcements.ask_audience"), rows, edit=False)


@require_actor(OP)
async def pick_audience(update: Update, context: CrmContext) -> None:
    draft = _require_step(context, AUDIENCE)
    choice = word(update, 0)
    if choice == "all":
        await _ask_when(update, context, {**draft, "audience": AudienceKind.ALL.value, "audience_id": None,
                                          "audience_name": ""})
        return
    audiences = await context.services.announcements.announcements.audiences(actor_of(context))
    if choice == "dep":
        rows: Rows = [[("· " * d.depth + short(d.name), f"an:dep:{d.id}")] for d in audiences.departments[:60]]
        text = context.t("announcements.ask_department")
    elif choice == "role":
        rows = [[(short(role_label(context, r.name)), f"an:role:{r.id}")] for r in audiences.roles[:60]]
        text = context.t("announcements.ask_role")
    else:
        raise DomainError("error.stale_button")
    flow.ask(context, AUDIENCE, expects="button", buttons=("an:",), owns=(DRAFT_KEY,))
    await respond(update, context, text, rows)


async def _picked(update: Update, context: CrmContext, kind: AudienceKind) -> None:
    draft = _require_step(context, AUDIENCE)
    target = arg(update, 0)
    name = await context.services.announcements.announcements.audience_name(actor_of(context), kind, target)
    if kind is AudienceKind.ROLE:
        name = role_label(context, name)
    await _ask_when(update, context, {**draft, "audience": kind.value, "audience_id": target, "audience_name": name})


@require_actor(OP)
async def pick_department(update: Update, context: CrmContext) -> None:
    await _picked(update, context, AudienceKind.DEPARTMENT)


@require_actor(OP)
async def pick_role(update: Update, context: CrmContext) -> None:
    await _picked(update, context, AudienceKind.ROLE)


@flow.on_stray(AUDIENCE)
@require_actor(OP)
async def stray_audience(update: Update, context: CrmContext) -> None:
    await _ask_audience(update, context, _draft(context))


# ---- when -----------------------------------------------------------------------------------------------------

async def _ask_when(update: Update, context: CrmContext, draft: dict[str, Any], note: str | None = None) -> None:
    _save(context, draft)
    flow.ask(context, WHEN, buttons=("an:",), owns=(DRAFT_KEY,))
    text = context.t("announcements.ask_when")
    await respond(update, context, f"{note}\n{text}" if note else text,
                  [[(context.t("announcements.btn_now"), "an:now")]], edit=False)


@flow.on_text(WHEN)
@require_actor(OP)
async def typed_when(update: Update, context: CrmContext) -> None:
    draft = _draft(context)
    actor = actor_of(context)
    now = context.services.clock.now()
    found = parse_when(message_text(update), now.astimezone(zone(actor.timezone)))
    if found is None:
        await _ask_when(update, context, draft, context.t("announcements.error_when"))
        return
    if found.at <= now:
        await _ask_when(update, context, draft, context.t("announcements.error_past"))
        return
    await _ask_pin(update, context, {**draft, "publish_at": found.at.astimezone(UTC).isoformat()})


@require_actor(OP)
async def now_button(update: Update, context: CrmContext) -> None:
    draft = _require_step(context, WHEN)
    await _ask_pin(update, context, {**draft, "publish_at": None})


# ---- pinned? ----------------------------------------------------------------------------------------------------

async def _ask_pin(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _save(context, draft)
    flow.ask(context, PIN, expects="button", buttons=("an:",), owns=(DRAFT_KEY,))
    rows = [[(context.t("announcements.btn_pin"), "an:pin:1"), (context.t("announcements.btn_no_pin"), "an:pin:0")]]
    await respond(update, context, context.t("announcements.ask_pin"), rows, edit=False)


@require_actor(OP)
async def pin_button(update: Update, context: CrmContext) -> None:
    draft = _require_step(context, PIN)
    choice = word(update, 0)
    if choice not in ("0", "1"):
        raise DomainError("error.stale_button")
    await _preview(update, context, {**draft, "pinned": choice == "1"})


@flow.on_stray(PIN)
@require_actor(OP)
async def stray_pin(update: Update, context: CrmContext) -> None:
    await _ask_pin(update, context, _draft(context))


# ---- preview and publish ---------------------------------------------------------------------------------------

def _when_text(context: CrmContext, draft: dict[str, Any]) -> str:
    at = draft.get("publish_at")
    if not at:
        return context.t("announcements.when_now")
    return local_time(datetime.fromisoformat(str(at)), actor_of(context).timezone)


async def _preview(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _save(context, draft)
    flow.ask(context, CONFIRM, expects="button", buttons=("an:",), owns=(DRAFT_KEY,))
    actor = actor_of(context)
    text, rows = message(context.t, _as_announcement(context, draft), actor.name, read=False)
    await respond(update, context, context.t("announcements.preview_title"), edit=False)
    await respond(update, context, text, _preview_rows(rows), edit=False)
    summary = [context.t("announcements.check_audience", audience=audience_text(
                   context.t, AudienceKind(draft["audience"]), str(draft.get("audience_name") or ""))),
               context.t("announcements.check_when", when=_when_text(context, draft)),
               context.t("announcements.check_pinned" if draft.get("pinned") else "announcements.check_not_pinned")]
    buttons = [[(context.t("announcements.btn_publish"), "an:ok"), (context.t("common.cancel"), "an:no")]]
    await respond(update, context, "\n".join(summary), buttons, edit=False)


@flow.on_stray(CONFIRM)
@require_actor(OP)
async def stray_confirm(update: Update, context: CrmContext) -> None:
    await _preview(update, context, _draft(context))


@require_actor(OP)
async def publish(update: Update, context: CrmContext) -> None:
    draft = _require_step(context, CONFIRM)
    at = draft.get("publish_at")
    attachment = None
    if draft.get("file_id"):
        attachment = Attachment(AttachmentKind(draft["file_kind"]), str(draft["file_id"]), draft.get("file_path"))
    published = await context.services.announcements.announcements.publish(actor_of(context), AnnouncementDraft(
        body=str(draft["body"]), audience=Audience(AudienceKind(draft["audience"]), draft.get("audience_id")),
        publish_at=datetime.fromisoformat(str(at)) if at else None, pinned=bool(draft.get("pinned")),
        attachment=attachment))
    flow.abandon(context)
    announcement = published.announcement
    if announcement.published_at is None:
        note = context.t("announcements.scheduled", when=local_time(announcement.publish_at,
                                                                      actor_of(context).timezone))
    else:
        note = context.t("announcements.published", count=published.recipients)
        kick(context)
    await respond(update, context, note, [[(context.t("announcements.btn_open_mine"), f"ann:adm:{announcement.id}")]])


@require_actor(OP)
async def cancel(update: Update, context: CrmContext) -> None:
    if _at(context, AUDIENCE, WHEN, PIN, CONFIRM):
        flow.abandon(context)
    await respond(update, context, context.t("announcements.cancelled"))


async def preview_button(update: Update, context: CrmContext) -> None:
    """A button on the preview: it shows what recipients will have, and does nothing here."""
    await answer(update.callback_query, context.t("announcements.preview_only"), alert=True)


# ---- the author's edit ------------------------------------------------------------------------------------------

@require_actor(OP)
async def start_edit(update: Update, context: CrmContext) -> None:
    """ann:ed:<id>: ask for the new text (the service says "not found" to anyone but the author or an admin)."""
    view = await context.services.announcements.announcements.author_view(actor_of(context), arg(update, 0))
    if view.announcement.withdrawn:
        raise DomainError("announcements.error_withdrawn")
    _save(context, {"id": view.announcement.id}, EDIT_KEY)
    flow.ask(context, EDIT_TEXT, owns=(EDIT_KEY,), announcement_id=view.announcement.id)
    await respond(update, context, context.t("announcements.ask_edit"), edit=False)


@flow.on_text(EDIT_TEXT)
@require_actor(OP)
async def typed_edit(update: Update, context: CrmContext) -> None:
    draft = _draft(context, EDIT_KEY)
    try:
        body = clean_body(message_text(update))
    except DomainError as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("announcements.ask_edit"))
        return
    await _edit_preview(update, context, {**draft, "body": body})


async def _edit_preview(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    view = await context.services.announcements.announcements.author_view(actor_of(context), int(draft["id"]))
    _save(context, draft, EDIT_KEY)
    flow.ask(context, EDIT_CONFIRM, expects="button", buttons=("ae:",), owns=(EDIT_KEY,))
    shown = _as_announcement(context, {}, body=str(draft["body"]), base=view.announcement)
    text, rows = message(context.t, shown, view.author_name, read=False)
    await respond(update, context, context.t("announcements.preview_title"), edit=False)
    await respond(update, context, text, _preview_rows(rows), edit=False)
    buttons = [[(context.t("announcements.btn_save_edit"), "ae:ok"), (context.t("common.cancel"), "ae:no")]]
    await respond(update, context, context.t("announcements.check_edit"), buttons, edit=False)


@flow.on_stray(EDIT_CONFIRM)
@require_actor(OP)
async def stray_edit(update: Update, context: CrmContext) -> None:
    draft = _draft(context, EDIT_KEY)
    if "body" in draft:
        await _edit_preview(update, context, draft)


@require_actor(OP)
async def save_edit(update: Update, context: CrmContext) -> None:
    draft = _draft(context, EDIT_KEY)
    if not _at(context, EDIT_CONFIRM) or "body" not in draft:
        raise DomainError("error.stale_button")
    view = await context.services.announcements.announcements.edit(actor_of(context), int(draft["id"]),
                                                                   str(draft["body"]))
    flow.abandon(context)
    kick(context)
    timezone = actor_of(context).timezone
    await respond(update, context, context.t("announcements.edited_note") + "\n\n" + author_view(context.t, view,
                                                                                                 timezone),
                  author_rows(context.t, view))


@require_actor(OP)
async def cancel_edit(update: Update, context: CrmContext) -> None:
    if _at(context, EDIT_CONFIRM):
        flow.abandon(context)
    await respond(update, context, context.t("announcements.edit_cancelled"))
