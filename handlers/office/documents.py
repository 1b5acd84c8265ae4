"""Documents in chat. A file or photo sent with no question open (and not taken by another module first: a
spreadsheet is an import, a photo captioned /intel or /expense is theirs) is offered "📁 File it". Filing asks
one line — the title, ``#tags`` and ``@customer`` (or ``@project``, ``@T2026-0001`` a ticket, ``@O42`` an
opportunity) — and echoes what was understood with the visibility to pick
and Save / Cancel; nothing is stored before the tap. ``/docs [words | #tag]`` finds documents; a card sends the
file again in one tap. ``/docs trash`` lists one's deleted documents to restore.

Buttons (ids only; the service re-checks every press):
  ofd:file:<message id of the file>  ofd:skip  ofd:vis:<me|department|everyone>  ofd:save  ofd:cancel
  ofd:open:<id>  ofd:send:<id>  ofd:del:<id>  ofd:rst:<id>  ofd:pg:<page>  ofd:lk:<link kind>:<id>
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.customers.model import EntityKind
from crm.office.documents import clean_draft
from crm.office.model import MAX_FILE_BYTES, DocumentDraft, FileKind, Link, LinkKind, Upload, Visibility
from crm.office.schedule import zone_of
from crm.sales.opportunity_model import OpportunityCard
from crm.service.model import TicketCard
from handlers.core import flow, text
from handlers.core.common import Button, actor_of, require_actor
from handlers.core.screens import Rows, arg, page_arg, page_row, respond, word
from views.core.text import short
from views.office.office import document_card, document_line

OPERATION = "office.use"
UPLOAD_KEY = "office_upload"
DRAFT_KEY = "office_draft"
QUERY_KEY = "office_query"
FILING = "ofd.file"
_TAG = re.compile(r"(?:^|\s)#(\S+)")
_LINK = re.compile(r"(?:^|\s)@(\S+)")


def _t(context: CrmContext) -> Any:
    return context.t


def _stash(context: CrmContext, key: str, value: dict[str, Any] | None) -> None:
    if context.user_data is None:
        return
    if value is None:
        context.user_data.pop(key, None)
    else:
        context.user_data[key] = value


def _stashed(context: CrmContext, key: str) -> dict[str, Any]:
    data = context.user_data.get(key) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _upload_of(update: Update) -> dict[str, Any] | None:
    message = update.effective_message
    if message is None:
        return None
    if message.document is not None:
        d = message.document
        return {"file_id": d.file_id, "name": d.file_name or "file", "mime": d.mime_type or
                "application/octet-stream", "kind": FileKind.DOCUMENT.value, "size": d.file_size or 0}
    if message.photo:
        p = message.photo[-1]
        return {"file_id": p.file_id, "name": "photo.jpg", "mime": "image/jpeg", "kind": FileKind.PHOTO.value,
                "size": p.file_size or 0}
    return None


async def sent_file(update: Update, context: CrmContext) -> None:
    """A file or photo nothing else took. While a question is open it is that question's (a ticket's
    attachment, a contract's file): handed to the usual fallback. Otherwise "File it?"."""
    if flow.current(context) is not None or context.actor is None or not context.actor.can(OPERATION):
        await text.on_other(update, context)
        return
    upload = _upload_of(update)
    if upload is None:
        await text.on_other(update, context)
        return
    message = update.effective_message
    caption = " ".join(((message.caption if message else None) or "").split())
    upload["caption"] = caption[:300]
    upload["message_id"] = message.message_id if message else 0
    _stash(context, UPLOAD_KEY, upload)
    # The offer names its message: an older offer's button cannot file the latest file instead of its own.
    rows: Rows = [[(context.t("office.btn_file"), f"ofd:file:{upload['message_id']}"),
                   (context.t("office.btn_skip"), "ofd:skip")]]
    await respond(update, context, context.t("office.offer", name=short(upload["name"], 60)), rows, edit=False)


@require_actor(OPERATION)
async def start_filing(update: Update, context: CrmContext) -> None:
    upload = _stashed(context, UPLOAD_KEY)
    if not upload or int(upload.get("message_id", -1)) != arg(update, 0):
        raise DomainError("error.stale_button")
    flow.ask(context, FILING, step="title", owns=(UPLOAD_KEY, DRAFT_KEY))
    if upload.get("caption"):
        await _read_line(update, context, upload["caption"])
        return
    await respond(update, context, context.t("office.ask_title"))


@require_actor(OPERATION)
async def skip(update: Update, context: CrmContext) -> None:
    _stash(context, UPLOAD_KEY, None)
    await respond(update, context, context.t("office.skipped"))


async def _customer(context: CrmContext, name: str) -> tuple[int, str] | None:
    actor = actor_of(context)
    if not actor.can("customers.view"):
        return None
    found = await context.services.customers.customers.named(actor, [name])
    customers = [h for h in found.get(name, ()) if h.entity is EntityKind.CUSTOMER]
    return (customers[0].id, customers[0].title) if len(customers) == 1 else None


async def _read_line(update: Update, context: CrmContext, line: str) -> None:
    tags = tuple(m.group(1) for m in _TAG.finditer(line))
    links = [m.group(1) for m in _LINK.finditer(line)]
    title = " ".join(_LINK.sub(" ", _TAG.sub(" ", line)).split())
    draft: dict[str, Any] = {"title": title, "tags": list(tags), "visibility": Visibility.ME.value}
    try:
        cleaned = clean_draft(DocumentDraft(title, tags))
    except ValidationFailed as exc:
        flow.ask(context, FILING, step="title", owns=(UPLOAD_KEY, DRAFT_KEY))
        await respond(update, context, context.t(exc.key or "office.error_title", **exc.params) + "\n"
                      + context.t("office.ask_title"), edit=False)
        return
    draft["title"], draft["tags"] = cleaned.title, list(cleaned.tags)
    if links:
        documents = context.services.office.documents
        customer = await _customer(context, links[0])
        link = (await documents.check_link(actor_of(context), LinkKind.CUSTOMER, customer[0]) if customer
                else await documents.find_link(actor_of(context), links[0]))
        if link is None:
            flow.ask(context, FILING, step="title", owns=(UPLOAD_KEY, DRAFT_KEY))
            await respond(update, context, context.t("office.no_customer", name=links[0]), edit=False)
            return
        draft["link_kind"], draft["link_id"], draft["link_label"] = link.kind.value, link.id, link.label
    _stash(context, DRAFT_KEY, draft)
    await _echo(update, context, draft, edit=False)


async def _echo(update: Update, context: CrmContext, draft: dict[str, Any], *, edit: bool | None = None) -> None:
    flow.ask(context, FILING, step="confirm", expects="button", buttons=("ofd:",), owns=(UPLOAD_KEY, DRAFT_KEY))
    t = context.t
    upload = _stashed(context, UPLOAD_KEY)
    lines = [t("office.check"), t("office.check_title", title=draft["title"]),
             t("office.check_tags", tags=" ".join(f"#{tag}" for tag in draft["tags"]) or t("office.none")),
             t("office.check_link", name=(t(f"office.link_{draft['link_kind']}") + " " + draft["link_label"])
               if draft.get("link_label") else t("office.none")),
             t("office.check_file", name=upload.get("name", "?")),
             t("office.card_visibility", visibility=t(f"office.visibility_{draft['visibility']}"))]
    marks = {v.value: ("✅ " if v.value == draft["visibility"] else "") + t(f"office.visibility_{v.value}")
             for v in Visibility}
    rows: Rows = [[(marks[v.value], f"ofd:vis:{v.value}") for v in Visibility],
                  [(t("office.btn_save"), "ofd:save"), (t("common.cancel"), "ofd:cancel")]]
    await respond(update, context, "\n".join(lines), rows, edit=edit)


@flow.on_text(FILING)
@require_actor(OPERATION)
async def typed_title(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    message = update.effective_message
    line = " ".join(((message.text if message else None) or "").split())
    if waiting is None or waiting.step != "title":
        await respond(update, context, context.t("input.use_buttons"), edit=False)
        return
    await _read_line(update, context, line)


@flow.on_stray(FILING)
@require_actor(OPERATION)
async def typed_at_echo(update: Update, context: CrmContext) -> None:
    """Typed text at the echo is no answer: the echo again."""
    draft = _stashed(context, DRAFT_KEY)
    if not draft:
        await respond(update, context, context.t("input.use_buttons"), edit=False)
        return
    await _echo(update, context, draft, edit=False)


def _at_echo(context: CrmContext) -> dict[str, Any]:
    waiting = flow.current(context)
    draft = _stashed(context, DRAFT_KEY)
    if waiting is None or waiting.kind != FILING or waiting.step != "confirm" or not draft:
        raise DomainError("error.stale_button")
    return draft


@require_actor(OPERATION)
async def pick_visibility(update: Update, context: CrmContext) -> None:
    draft = _at_echo(context)
    try:
        draft["visibility"] = Visibility(word(update, 0)).value
    except ValueError:
        raise DomainError("error.stale_button") from None
    _stash(context, DRAFT_KEY, draft)
    await _echo(update, context, draft)


@require_actor(OPERATION)
async def save(update: Update, context: CrmContext) -> None:
    draft = _at_echo(context)
    upload = _stashed(context, UPLOAD_KEY)
    if not upload:
        raise DomainError("error.stale_button")
    if int(upload.get("size") or 0) > MAX_FILE_BYTES:
        raise ValidationFailed("office.error_file_size")
    file = await context.bot.get_file(upload["file_id"])
    data = bytes(await file.download_as_bytearray())
    link = (Link(LinkKind(draft.get("link_kind") or LinkKind.CUSTOMER.value), int(draft["link_id"]),
                 str(draft.get("link_label") or "")) if draft.get("link_id") else None)
    card = await context.services.office.documents.file(
        actor_of(context),
        DocumentDraft(draft["title"], tuple(draft["tags"]), link, Visibility(draft["visibility"])),
        Upload(upload["file_id"], upload["name"], upload["mime"], FileKind(upload["kind"]), int(upload["size"])),
        data)
    flow.abandon(context)
    text_, rows = document_card(context.t, card, _zone(context))
    await respond(update, context, context.t("office.filed") + "\n\n" + text_, rows)


@require_actor(OPERATION)
async def cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == FILING:
        flow.abandon(context)
    _stash(context, UPLOAD_KEY, None)
    await respond(update, context, context.t("office.cancelled"))


def _zone(context: CrmContext) -> Any:
    return zone_of(actor_of(context).timezone, context.settings.default_timezone)


# ---- finding, opening, sending, deleting ----------------------------------------------------------------------

async def _list(update: Update, context: CrmContext, query: str, page: int, *, edit: bool | None = None) -> None:
    documents, more = await context.services.office.documents.search(actor_of(context), query, page=page)
    if not documents:
        key = "office.none_found" if query else "office.no_documents"
        await respond(update, context, context.t(key, query=query), edit=edit)
        return
    rows: Rows = [[(document_line(d), f"ofd:open:{d.id}")] for d in documents]
    paging = page_row(lambda p: f"ofd:pg:{p}", page, more)
    if paging:
        rows.append(paging)
    title = context.t("office.found", query=query) if query else context.t("office.recent")
    await respond(update, context, title, rows, edit=edit)


@require_actor(OPERATION)
async def docs(update: Update, context: CrmContext) -> None:
    """``/docs`` the newest; ``/docs 報價`` or ``/docs #報價`` those found; ``/docs trash`` one's deleted."""
    query = " ".join(context.args or [])[:100]
    if query.lower() in ("trash", "回收", "回收桶", "回收站"):
        await _trash(update, context)
        return
    _stash(context, QUERY_KEY, {"q": query})
    await _list(update, context, query, 0, edit=False)


@require_actor(OPERATION)
async def list_page(update: Update, context: CrmContext) -> None:
    await _list(update, context, str(_stashed(context, QUERY_KEY).get("q", "")), page_arg(update))


async def _trash(update: Update, context: CrmContext) -> None:
    documents = await context.services.office.documents.trash(actor_of(context))
    if not documents:
        await respond(update, context, context.t("office.trash_empty"), edit=False)
        return
    rows: Rows = [[("♻️ " + document_line(d), f"ofd:rst:{d.id}")] for d in documents]
    await respond(update, context, context.t("office.trash"), rows, edit=False)


@require_actor(OPERATION)
async def open_card(update: Update, context: CrmContext) -> None:
    card = await context.services.office.documents.card(actor_of(context), arg(update, 0))
    text_, rows = document_card(context.t, card, _zone(context))
    await respond(update, context, text_, rows)


@require_actor(OPERATION)
async def send_again(update: Update, context: CrmContext) -> None:
    """The file itself, by Telegram's file id (its own name and type); from our copy if Telegram forgot it."""
    actor = actor_of(context)
    document = await context.services.office.documents.to_send(actor, arg(update, 0))
    chat = update.effective_chat
    await respond(update, context, context.t("office.sending", title=document.title), edit=False)
    if chat is None:
        return
    try:
        if document.kind is FileKind.PHOTO:
            await context.bot.send_photo(chat.id, document.file_id)
        else:
            await context.bot.send_document(chat.id, document.file_id)
    except TelegramError:
        data = await context.services.office.documents.copy(actor, document.id)
        if document.kind is FileKind.PHOTO:
            await context.bot.send_photo(chat.id, data, filename=document.file_name)
        else:
            await context.bot.send_document(chat.id, data, filename=document.file_name)


def card_button(context: CrmContext, kind: str, record_id: int) -> Button | None:
    """"📁 Documents" on a customer's card, for those with an office."""
    if kind != "customer" or context.actor is None or not context.actor.can(OPERATION):
        return None
    return (context.t("office.btn_documents"), f"ofd:lk:{LinkKind.CUSTOMER.value}:{int(record_id)}")


def opportunity_button(context: CrmContext, card: OpportunityCard) -> Button | None:
    """"📁 Documents" on an opportunity's card (handlers/sales/card_extras.py)."""
    if context.actor is None or not context.actor.can(OPERATION):
        return None
    return (context.t("office.btn_documents"), f"ofd:lk:{LinkKind.OPPORTUNITY.value}:{card.opportunity.id}")


def ticket_button(context: CrmContext, card: TicketCard) -> Button | None:
    """"📁 Documents" on a ticket's card (handlers/service/card_extras.py)."""
    if context.actor is None or not context.actor.can(OPERATION):
        return None
    return (context.t("office.btn_documents"), f"ofd:lk:{LinkKind.TICKET.value}:{card.ticket.id}")


def reference(link: Link) -> str:
    """What to write after @ on the filing line to link this record: a ticket's number, an opportunity's O and
    id, a customer's name."""
    if link.kind is LinkKind.TICKET:
        return link.label.split(" ", 1)[0]
    if link.kind is LinkKind.OPPORTUNITY:
        return f"O{link.id}"
    return link.label.replace(" ", "")


@require_actor(OPERATION)
async def linked(update: Update, context: CrmContext) -> None:
    """The documents linked to a record that the reader may see, and how to file one there. The record itself
    is checked through its module's service first: one out of the reader's sight is "not found"."""
    try:
        kind = LinkKind(word(update, 0))
    except ValueError:
        raise DomainError("error.stale_button") from None
    service = context.services.office.documents
    actor = actor_of(context)
    link = await service.check_link(actor, kind, arg(update, 1))
    documents = await service.linked(actor, kind, link.id)
    hint = context.t("office.link_hint", ref="@" + reference(link))
    if not documents:
        await respond(update, context, context.t("office.no_linked") + "\n" + hint, edit=False)
        return
    rows: Rows = [[(document_line(d), f"ofd:open:{d.id}")] for d in documents]
    await respond(update, context, context.t("office.linked") + "\n" + hint, rows, edit=False)


@require_actor(OPERATION)
async def delete(update: Update, context: CrmContext) -> None:
    document = await context.services.office.documents.delete(actor_of(context), arg(update, 0))
    rows: Rows = [[(context.t("office.btn_restore"), f"ofd:rst:{document.id}")]]
    await respond(update, context, context.t("office.deleted", title=document.title), rows)


@require_actor(OPERATION)
async def restore(update: Update, context: CrmContext) -> None:
    card = await context.services.office.documents.restore(actor_of(context), arg(update, 0))
    text_, rows = document_card(context.t, card, _zone(context))
    await respond(update, context, context.t("office.restored") + "\n\n" + text_, rows)
