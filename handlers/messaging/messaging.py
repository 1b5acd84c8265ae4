"""Send SMS, e-mail and fax from a customer, contact or lead card, follow what became of them, and /outbox.

Flow: a card button (``ms:sms:customer:42``) → the recipient's number or address → the text (for e-mail and fax:
a subject, a number, a document the rep sends) → a preview (for SMS: characters, GSM-7/UCS-2, segments) → Send.
The draft lives in ``user_data`` (persisted), so a restart or a wrong answer never loses it. The reply to Send is
edited later with the status the dispatcher and the provider report (queued → sent → delivered / failed).
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from bot.i18n import Html
from crm.core.errors import DomainError, ValidationFailed
from crm.messaging.campaigns import ALLOWED_FIELDS
from crm.messaging.messaging import MAX_ATTACHMENT_BYTES, Recipient, SendKind
from crm.messaging.outbox import OutboxChannel, OutboxMessage
from crm.messaging.sms_text import count_segments, render_template
from crm.organisation.permissions import Actor
from handlers.core import common
from handlers.customers import card_extras
from views.core.formatting import local_time
from views.messaging.status import ICON, channel_word, snippet, status_text, status_word

log = logging.getLogger(__name__)

DRAFT = "ms_draft"
PREVIEW_CHARS = 600
MAX_STEPS = 10  # message ids a draft remembers (a preview is sent again after each correction)
_START = {"sms": OutboxChannel.SMS, "mail": OutboxChannel.EMAIL, "fax": OutboxChannel.FAX}
_VERB = {OutboxChannel.SMS: "sms", OutboxChannel.EMAIL: "mail", OutboxChannel.FAX: "fax"}
_OPERATION = {OutboxChannel.SMS: "sms.send", OutboxChannel.EMAIL: "email.send", OutboxChannel.FAX: "fax.send"}

Translate = Callable[..., str]


# ---- what other areas show ------------------------------------------------------------------------------------


def card_rows(t: Translate, actor: Actor, kind: str, record_id: int) -> list[list[common.Button]]:
    """The Send SMS / Send e-mail / Send fax buttons for a customer, contact or lead (those the actor may
    use): the menu behind a card's Send button. ``t`` translates a message key in the reader's language."""
    kind = SendKind(kind).value
    row: list[common.Button] = []
    if actor.can("sms.send"):
        row.append((t("messaging.button_sms"), f"ms:sms:{kind}:{record_id}"))
    if actor.can("email.send"):
        row.append((t("messaging.button_email"), f"ms:mail:{kind}:{record_id}"))
    if actor.can("fax.send"):
        row.append((t("messaging.button_fax"), f"ms:fax:{kind}:{record_id}"))
    return [row] if row else []


def card_button(context: CrmContext, kind: str, record_id: int) -> common.Button | None:
    """A card's one button for messages: the channel itself when the reader may use just one, otherwise
    "Send…", which opens the choice. (A card's keyboard is sent and parsed back with every view, so it stays
    short: three buttons fewer cost measurably less per card shown.)"""
    if context.actor is None:
        return None
    rows = card_rows(context.t, context.actor, kind, record_id)
    if not rows:
        return None
    if len(rows[0]) == 1:
        return rows[0][0]
    return (context.t("messaging.button_send"), f"ms:pick:{SendKind(kind).value}:{record_id}")


_BACK_TO_CARD = {"customer": "cu:card", "contact": "ct:card", "lead": "ld:card"}  # in place


@common.require_actor()
async def pick(update: Update, context: CrmContext) -> None:
    """The card's Send… button: the channels the reader may use, for a record they may see."""
    actor = common.actor_of(context)
    args = common.callback_args(update)
    if len(args) != 2 or args[0] not in {k.value for k in SendKind}:
        raise DomainError("error.stale_button")
    kind, record_id = args[0], common.int_arg(args, 1)
    who = await context.services.messaging.messaging.recipient(actor, kind, record_id)  # in scope, or not found
    rows = card_rows(context.t, actor, kind, record_id)
    await common.answer(update.callback_query)
    await common.reply(update, context, context.t("messaging.pick_channel", name=who.name),
                [[button] for button in rows[0]] + [[(context.t("common.back"),
                                                      f"{_BACK_TO_CARD[kind]}:{record_id}")]])


CARD_MESSAGES = 3  # how many of the latest messages a customer's card lists


def card_section(context: CrmContext, messages: Sequence[OutboxMessage]) -> str:
    """Lines about the latest messages sent to a customer, for its card ("" when none)."""
    if not messages:
        return ""
    zone = common.actor_of(context).timezone
    lines = [context.t("messaging.card_title")]
    lines += [_one_line(context.t, zone, m) for m in messages]
    return "\n".join(lines)


# ---- rendering -----------------------------------------------------------------------------------------------


def _one_line(t: Translate, zone: str, message: OutboxMessage) -> str:
    return t("messaging.line", icon=ICON[message.channel], to=message.recipient,
             status=Html(status_word(t, message.status)), when=local_time(message.created_at, zone, "%m-%d %H:%M"),
             text=snippet(message))


# ---- the draft -----------------------------------------------------------------------------------------------


def _draft(context: CrmContext) -> dict[str, Any]:
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    return draft if isinstance(draft, dict) else {}


def _current(context: CrmContext, key: str | None = None) -> dict[str, Any]:
    draft = _draft(context)
    if not draft or (key is not None and draft.get("key") != key):
        raise DomainError("error.stale_button")
    return draft


def _save(context: CrmContext, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[DRAFT] = draft


def _drop(context: CrmContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    pending = common.current_pending(context)
    if str(pending.get("kind", "")).startswith("ms."):
        common.clear_pending(context)


def _channel(draft: dict[str, Any]) -> OutboxChannel:
    return OutboxChannel(draft["ch"])


async def _recipient(context: CrmContext, draft: dict[str, Any]) -> Recipient:
    return await context.services.messaging.messaging.prepare(common.actor_of(context), _channel(draft), draft["kind"],
                                                    int(draft["id"]))


def _cancel_row(draft: dict[str, Any], context: CrmContext) -> list[common.Button]:
    return [(context.t("common.cancel"), f"ms:x:{draft['key']}")]


async def _ask(update: Update, context: CrmContext, draft: dict[str, Any], text: str,
               rows: Sequence[Sequence[common.Button]]) -> None:
    """A new message for one step of the draft; remembered, so that sending or cancelling takes its buttons away."""
    sent = await common.reply(update, context, text, rows, edit=False)
    if sent is not None:
        draft["steps"] = [*draft.get("steps", []), sent.message_id][-MAX_STEPS:]
        _save(context, draft)


async def _close_steps(update: Update, context: CrmContext, draft: dict[str, Any], keep: int | None) -> None:
    """Take the buttons off the draft's earlier steps: a Cancel left above a message that was sent would read as
    if it could still stop it."""
    chat = update.effective_chat
    if chat is None:
        return
    for message_id in draft.get("steps", []):
        if message_id == keep:
            continue
        try:
            await context.bot.edit_message_reply_markup(chat.id, int(message_id), reply_markup=None)
        except BadRequest as exc:  # deleted by the user, or already without buttons
            log.debug("draft step %s kept its buttons: %s", message_id, exc)


# ---- steps ---------------------------------------------------------------------------------------------------


@common.require_actor()
async def start(update: Update, context: CrmContext) -> None:
    """A card's Send SMS / e-mail / fax button: check the channel and the record, then ask the first question."""
    data = update.callback_query.data if update.callback_query else ""
    verb = (data or "").split(":")[1] if data and data.count(":") >= 1 else ""
    channel = _START.get(verb)
    actor = context.actor
    if channel is None or actor is None:
        await common.answer(update.callback_query, context.t("error.stale_button"), alert=True)
        return
    args = common.callback_args(update)
    if len(args) != 2 or args[0] not in {k.value for k in SendKind}:
        raise DomainError("error.stale_button")
    record_id = common.int_arg(args, 1)
    who = await context.services.messaging.messaging.prepare(actor, channel, args[0], record_id)
    await common.answer(update.callback_query)
    draft: dict[str, Any] = {"key": secrets.token_urlsafe(6), "ch": channel.value, "kind": args[0], "id": record_id}
    _save(context, draft)
    if channel is OutboxChannel.EMAIL:
        common.expect_text(context, "ms.subject")
        await _ask(update, context, draft, context.t("messaging.ask_subject", name=who.name, to=who.email or ""),
                   [_cancel_row(draft, context)])
        return
    if channel is OutboxChannel.SMS and len(who.phones) == 1:
        draft["to"] = who.phones[0]
        _save(context, draft)
        await _ask_body(update, context, draft, who)
        return
    await _ask_number(update, context, draft, who)


async def _ask_number(update: Update, context: CrmContext, draft: dict[str, Any], who: Recipient) -> None:
    rows: list[list[common.Button]] = [[(phone, f"ms:to:{draft['key']}:{index}")] for index,
                                       phone in enumerate(who.phones)]
    rows.append(_cancel_row(draft, context))
    if _channel(draft) is OutboxChannel.FAX:
        common.expect_text(context, "ms.faxno")
        text = context.t("messaging.ask_fax_number", name=who.name)
    else:
        text = context.t("messaging.ask_phone", name=who.name)
    await _ask(update, context, draft, text, rows)


@common.require_actor()
async def pick_number(update: Update, context: CrmContext) -> None:
    """One of the record's numbers, chosen by its position (re-read now: the record may have changed)."""
    args = common.callback_args(update)
    draft = _current(context, args[0] if args else None)
    who = await _recipient(context, draft)
    index = common.int_arg(args, 1)
    if not 0 <= index < len(who.phones):
        raise DomainError("error.stale_button")
    number = who.phones[index]
    if _channel(draft) is OutboxChannel.FAX:
        number = context.services.messaging.messaging.fax_number(number)
    await common.answer(update.callback_query)
    draft["to"] = number
    _save(context, draft)
    await _ask_body(update, context, draft, who)


async def _ask_body(update: Update, context: CrmContext, draft: dict[str, Any], who: Recipient) -> None:
    channel = _channel(draft)
    # E-mail and fax take a document too: the text fallback hands documents to a question that accepts them.
    common.expect_text(context, "ms.body", document=channel is not OutboxChannel.SMS)
    rows: list[list[common.Button]] = []
    if channel is OutboxChannel.SMS:
        text = context.t("messaging.ask_sms", name=who.name, to=draft["to"])
        templates, _ = await context.services.messaging.campaigns.templates(common.actor_of(context))
        if templates:
            text += "\n" + context.t("messaging.or_template")
            rows = [[(f"📝 {t.name}", f"ms:tpl:{draft['key']}:{t.id}")] for t in templates]
    elif channel is OutboxChannel.EMAIL:
        text = context.t("messaging.ask_email_body", name=who.name)
    else:
        text = context.t("messaging.ask_fax_document", to=draft["to"])
    await _ask(update, context, draft, text, [*rows, _cancel_row(draft, context)])


@common.require_actor("sms.send")
async def use_template(update: Update, context: CrmContext) -> None:
    """A template instead of typed text: filled with this recipient's name and the company, in the sender's
    language (or the nearest one the template has), then the same preview as typed text."""
    args = common.callback_args(update)
    draft = _current(context, args[0] if args else None)
    actor = common.actor_of(context)
    template = await context.services.messaging.campaigns.template(actor, common.int_arg(args, 1))
    locale, body = template.body_for(actor.locale)
    if not body:
        raise ValidationFailed("messaging.template_empty")
    who = await _recipient(context, draft)
    program = context.services.messaging.campaigns.program.program(locale)
    text = render_template(body, {"name": who.name, "company": program}, allowed=ALLOWED_FIELDS)
    context.services.messaging.messaging.check_sms_text(text)
    await common.answer(update.callback_query)
    draft["body"] = text
    _save(context, draft)
    await _preview(update, context, draft)


@common.on_pending("ms.faxno")
@common.require_actor("fax.send")
async def typed_fax_number(update: Update, context: CrmContext) -> None:
    draft = _current(context)
    number = context.services.messaging.messaging.fax_number(common.message_text(update))
    draft["to"] = number
    _save(context, draft)
    await _ask_body(update, context, draft, await _recipient(context, draft))


@common.on_pending("ms.subject")
@common.require_actor("email.send")
async def typed_subject(update: Update, context: CrmContext) -> None:
    draft = _current(context)
    subject = " ".join(common.message_text(update).split())
    context.services.messaging.messaging.check_subject(subject)
    draft["subject"] = subject
    who = await _recipient(context, draft)
    draft["to"] = who.email
    _save(context, draft)
    await _ask_body(update, context, draft, who)


@common.on_pending("ms.body")
@common.require_actor()
async def typed_body(update: Update, context: CrmContext) -> None:
    """The text (or, for e-mail and fax, a document): saved in the draft, then the preview."""
    draft = _current(context)
    channel = _channel(draft)
    message = update.effective_message
    document = message.document if message is not None else None
    if document is not None:
        if channel is OutboxChannel.SMS:
            raise ValidationFailed("messaging.sms_no_attachments")
        if (document.file_size or 0) > MAX_ATTACHMENT_BYTES:
            raise ValidationFailed("messaging.attachment_too_big", limit_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024))
        mime = document.mime_type or "application/octet-stream"
        name = document.file_name or ("document.pdf" if mime == "application/pdf" else "document")
        if channel is OutboxChannel.FAX and mime != "application/pdf" and not name.lower().endswith(".pdf"):
            raise ValidationFailed("messaging.fax_needs_pdf")
        draft["file"] = {"id": document.file_id, "name": name, "mime": mime, "size": document.file_size or 0}
        if message is not None and message.caption and not draft.get("body"):
            draft["body"] = message.caption.strip()
    else:
        text = common.message_text(update).strip()
        if channel is OutboxChannel.SMS:
            context.services.messaging.messaging.check_sms_text(text)
        elif not text:
            raise ValidationFailed("messaging.empty_text")
        draft["body"] = text
    _save(context, draft)
    await _preview(update, context, draft)


async def _preview(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    channel = _channel(draft)
    body = str(draft.get("body") or "")
    shown = body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…"
    lines = [context.t("messaging.preview_head", icon=ICON[channel], channel=channel_word(context.t, channel),
                       to=draft.get("to") or "")]
    if draft.get("subject"):
        lines.append(context.t("messaging.preview_subject", subject=draft["subject"]))
    if shown:
        lines.append(f"<blockquote>{html.escape(shown, quote=False)}</blockquote>")
    if channel is OutboxChannel.SMS:
        segments = count_segments(body)
        lines.append(context.t("messaging.preview_segments", chars=segments.characters, encoding=segments.encoding,
                               segments=segments.segments))
        if not common.actor_of(context).can("sms.send_direct"):
            lines.append(context.t("messaging.preview_review"))
    file = draft.get("file")
    if isinstance(file, dict):
        lines.append(context.t("messaging.preview_file", name=file.get("name", ""),
                               kb=max(1, int(file.get("size", 0)) // 1024)))
    ready = bool(body) if channel is OutboxChannel.SMS else (
        isinstance(file, dict) if channel is OutboxChannel.FAX else bool(body or file))
    if channel is OutboxChannel.EMAIL:
        lines.append(context.t("messaging.preview_email_hint"))
    elif channel is OutboxChannel.FAX and not ready:
        lines.append(context.t("messaging.ask_fax_document", to=draft.get("to") or ""))
    rows: list[list[common.Button]] = []
    if ready:
        rows.append([(context.t("messaging.send"), f"ms:go:{draft['key']}")])
    rows.append(_cancel_row(draft, context))
    await _ask(update, context, draft, "\n".join(lines), rows)


@common.require_actor()
async def send(update: Update, context: CrmContext) -> None:
    """Send: one service call; the answer becomes the status message the dispatcher's progress edits."""
    args = common.callback_args(update)
    draft = _current(context, args[0] if args else None)
    actor = common.actor_of(context)
    channel = _channel(draft)
    if not actor.can(_OPERATION[channel]):
        raise DomainError("error.permission_denied")
    await common.answer(update.callback_query)
    messaging = context.services.messaging.messaging
    kind, record_id, key = draft["kind"], int(draft["id"]), str(draft["key"])
    if channel is OutboxChannel.SMS:
        sent = await messaging.send_sms(actor, kind, record_id, str(draft.get("body") or ""),
                                        to=draft.get("to"), draft_key=key)
    else:
        files = await _download(context, draft)
        if channel is OutboxChannel.EMAIL:
            sent = await messaging.send_email(actor, kind, record_id, subject=str(draft.get("subject") or ""),
                                              body=str(draft.get("body") or ""), attachments=files, draft_key=key)
        else:
            if not files:
                raise ValidationFailed("messaging.fax_needs_pdf")
            sent = await messaging.send_fax(actor, kind, record_id, to=str(draft.get("to") or ""), document=files[0],
                                            cover_text=str(draft.get("body") or ""), draft_key=key)
    _drop(context)
    shown = await common.reply(update, context, status_text(context.t, actor.timezone, sent), edit=True)
    await _close_steps(update, context, draft, keep=shown.message_id if shown is not None else None)
    if shown is not None:
        await messaging.watch(actor, sent.id, shown.chat_id, shown.message_id)


async def _download(context: CrmContext, draft: dict[str, Any]) -> list[tuple[str, str, bytes | str]]:
    """The document the rep sent, as bytes: stored with the message, so the send never depends on Telegram."""
    file = draft.get("file")
    if not isinstance(file, dict):
        return []
    try:
        telegram_file = await context.bot.get_file(str(file["id"]))
        content = bytes(await telegram_file.download_as_bytearray())
    except BadRequest:
        raise ValidationFailed("messaging.file_unavailable") from None
    return [(str(file.get("name") or "document"), str(file.get("mime") or "application/octet-stream"), content)]


@common.require_actor()
async def cancel(update: Update, context: CrmContext) -> None:
    args = common.callback_args(update)
    draft = _current(context, args[0] if args else None)  # a sent (or replaced) draft has nothing to cancel
    await common.answer(update.callback_query)
    pressed = update.callback_query.message if update.callback_query is not None else None
    await _close_steps(update, context, draft, keep=pressed.message_id if pressed is not None else None)
    _drop(context)
    await common.reply(update, context, context.t("messaging.cancelled"))


# ---- /outbox -------------------------------------------------------------------------------------------------


@common.require_actor()
async def outbox(update: Update, context: CrmContext) -> None:
    """The user's recent sends with their status; a button per message for the details."""
    await common.answer(update.callback_query)
    actor = common.actor_of(context)
    messages = await context.services.messaging.messaging.recent_by_user(actor)
    if not messages:
        await common.reply(update, context, context.t("messaging.outbox_empty"))
        return
    lines = [context.t("messaging.outbox_title", count=len(messages))]
    lines += [_one_line(context.t, actor.timezone, m) for m in messages]
    rows: list[list[common.Button]] = [[(f"{ICON[m.channel]} #{m.id} {snippet(m, 24)}", f"ms:view:{m.id}")]
                                for m in messages]
    rows.append([(context.t("messaging.refresh"), "ms:list")])
    await common.reply(update, context, "\n".join(lines), rows)


@common.require_actor()
async def view(update: Update, context: CrmContext) -> None:
    actor = common.actor_of(context)
    message = await context.services.messaging.messaging.get(actor, common.int_arg(common.callback_args(update), 0))
    await common.answer(update.callback_query)
    await common.reply(update, context, status_text(context.t, actor.timezone, message),
                [[(context.t("common.back"), "ms:list")]])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    # Customer, contact and lead cards show what was sent and offer Send… (handlers/customers/card_extras.py).
    card_extras.add(app, card_extras.CardExtra(section="messages", items=CARD_MESSAGES, render=card_section,
                                               button=card_button))
    app.add_handler(CommandHandler("outbox", outbox))
    routes: dict[str, Any] = {"sms": start, "mail": start, "fax": start, "pick": pick, "to": pick_number, "go": send,
                              "x": cancel,
                              "view": view, "list": outbox, "tpl": use_template}
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^ms:{verb}(:|$)") for verb, func in routes.items()])


__all__: Sequence[str] = ["card_button", "card_rows", "card_section", "register", "status_text"]
