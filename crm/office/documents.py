"""Documents filed from chat: file, find, open, send again, delete and restore.

Who sees what: ``office.use`` to do anything here; a document is seen by the person who filed it, by everyone in
the department it was filed from when its visibility is "my department", by everyone when "everyone". A
"me" document is nobody else's, a manager's neither: out of sight is "not found", also for a forged press.
Only the person who filed a document deletes or restores it. Every change is audited.

Filing a title the person already has (compared folded: case, width, spaces) adds a version; lists and searches
show the newest live version, the card lists them all. Search terms are those of customer search
(crm/customers/search_terms.py): each CJK character and pair, so one or two characters find a title or a tag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from crm.core.clock import Clock
from crm.core.errors import NotFound, ValidationFailed
from crm.core.files import ChatFileStore
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.customers import visible_customer
from crm.customers.search_terms import MAX_TERM, fold, query_terms, text_terms
from crm.office.model import (
    MAX_FILE_BYTES,
    MAX_TAGS,
    TAG_LIMIT,
    TITLE_LIMIT,
    Document,
    DocumentCard,
    DocumentDraft,
    Link,
    LinkKind,
    Upload,
)
from crm.office.ports import OfficeUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor

ENTITY = "document"
PAGE = 8
OPERATION = "office.use"


def title_key(title: str) -> str:
    return fold(title)[:TITLE_LIMIT]


def clean_draft(draft: DocumentDraft) -> DocumentDraft:
    title = " ".join(draft.title.split())
    if not title:
        raise ValidationFailed("office.error_title")
    if len(title) > TITLE_LIMIT:
        raise ValidationFailed("error.field_too_long", field="title", limit=TITLE_LIMIT)
    tags: list[str] = []
    for raw in draft.tags:
        tag = " ".join(raw.lstrip("#").split())
        if not tag:
            continue
        if len(tag) > TAG_LIMIT:
            raise ValidationFailed("error.field_too_long", field="tag", limit=TAG_LIMIT)
        if fold(tag) not in {fold(t) for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed("office.error_tags", limit=MAX_TAGS)
    return replace(draft, title=title, tags=tuple(tags))


def link_term(kind: LinkKind | str, record_id: int) -> str:
    return f"l:{LinkKind(kind).value}:{int(record_id)}"


def document_terms(document: Document) -> set[str]:
    """What a document is found by: its title, its tags (whole, ``#tag``, and as text), the linked record's name
    and its id (``l:customer:7``), and the file's name."""
    terms = text_terms(document.title) | text_terms(document.file_name)
    for tag in document.tags:
        terms.add("#" + fold(tag)[:MAX_TERM - 1])
        terms |= text_terms(tag)
    if document.link is not None:
        terms |= text_terms(document.link.label)
        terms.add(link_term(document.link.kind, document.link.id))
    return terms


def copy_name(document_id: int, file_name: str) -> str:
    """The copy's path under DATA_DIR: by id, with the file's extension when it is a plain one (letters and
    digits, at most ten); the name itself stays in the row."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    plain = bool(dot and stem and ext and len(ext) <= 10 and ext.isascii() and ext.isalnum())
    return f"office/{int(document_id)}{'.' + ext.lower() if plain else ''}"


def may_see(actor: Actor, document: Document) -> bool:
    if document.owner_id == actor.staff_id:
        return True
    if document.visibility == "everyone":
        return True
    return document.visibility == "department" and document.department_id == actor.department_id


LinkName = Callable[[Actor, int], Awaitable[str]]
LinkFinder = Callable[[Actor, str], Awaitable[int | None]]


class DocumentService:
    def __init__(self, uow: UnitOfWorkFactory[OfficeUnitOfWork], clock: Clock, files: ChatFileStore) -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        # Records of modules built on others than this one's (projects, opportunities, tickets): each kind's
        # name read through its own module's service, which checks the reader's permission and scope (a record
        # out of sight raises NotFound). Filled where the modules are wired (bot/modules/office.py).
        self.link_names: dict[LinkKind, LinkName] = {}
        # What ``@words`` on the filing line may name besides a customer: a project by its name, a ticket by its
        # number — the one record of that kind the reader may see, or None.
        self.link_finders: dict[LinkKind, LinkFinder] = {}

    async def _visible(self, uow: OfficeUnitOfWork, actor: Actor, document_id: int, *,
                       deleted: bool = False) -> Document:
        actor.require(OPERATION)
        document = await uow.office.documents.get(int(document_id), include_deleted=deleted)
        if document is None or (deleted and document.deleted_at is None) or not may_see(actor, document):
            raise NotFound()
        if deleted and document.owner_id != actor.staff_id:
            raise NotFound()  # a trash is one's own
        return document

    async def _card(self, uow: OfficeUnitOfWork, actor: Actor, document: Document) -> DocumentCard:
        owner = await uow.organisation.staff.get(document.owner_id)
        versions = await uow.office.documents.versions(document.owner_id, document.title_key)
        return DocumentCard(document, owner.name if owner else "?",
                            tuple(v for v in versions if may_see(actor, v)), document.owner_id == actor.staff_id)

    async def check_link(self, actor: Actor, kind: LinkKind, record_id: int) -> Link:
        """A record the actor may see, to link a document to (customers today: docs/office.md)."""
        actor.require(OPERATION)
        if kind is LinkKind.CUSTOMER:
            async with self._uow(write=False) as uow:
                customer = await visible_customer(uow, actor, record_id)
            return Link(kind, customer.id, customer.name)
        name = self.link_names.get(kind)
        if name is None:
            raise ValidationFailed("office.error_link")
        return Link(kind, int(record_id), (await name(actor, int(record_id)))[:200])

    async def find_link(self, actor: Actor, text: str) -> Link | None:
        """The one record (not a customer: the handler asks customer search first) these words name, in the
        order of ``link_finders``; None when none or several."""
        actor.require(OPERATION)
        for kind, find in self.link_finders.items():
            found = await find(actor, text)
            if found is not None:
                return await self.check_link(actor, kind, found)
        return None

    async def file(self, actor: Actor, draft: DocumentDraft, upload: Upload, data: bytes) -> DocumentCard:
        """File what was sent: a new document, or a new version of the actor's document of the same title."""
        actor.require(OPERATION)
        draft = clean_draft(draft)
        if len(data) > MAX_FILE_BYTES or upload.size > MAX_FILE_BYTES:
            raise ValidationFailed("office.error_file_size")
        key = title_key(draft.title)
        link = draft.link
        if link is not None and link.kind is not LinkKind.CUSTOMER:
            link = await self.check_link(actor, link.kind, link.id)  # through its own module's service
        async with self._uow() as uow:
            if link is not None and link.kind is LinkKind.CUSTOMER:
                customer = await visible_customer(uow, actor, link.id)
                link = Link(link.kind, customer.id, customer.name)
            repo = uow.office.documents
            version = await repo.last_version(actor.staff_id, key) + 1
            name = " ".join(upload.name.split())[:200] or ("photo.jpg" if upload.kind == "photo" else "file")
            document = Document(
                id=0, owner_id=actor.staff_id, department_id=actor.department_id, title=draft.title,
                title_key=key, tags=draft.tags, visibility=draft.visibility, version=version, latest=True,
                file_id=upload.file_id, file_name=name, mime_type=upload.mime_type[:100] or
                "application/octet-stream", kind=upload.kind, size=len(data), link=link,
                created_at=self._clock.now())
            document = await repo.add(document, document_terms(document))
            path = await asyncio.to_thread(self._files.write, copy_name(document.id, name), data)
            await repo.mark_latest(actor.staff_id, key)
            document = replace(document, file_path=path)
            await uow.office.documents.set_path(document.id, path)
            await audit.record(uow, actor.staff_id, "create", ENTITY, document.id, {}, {
                "title": document.title, "tags": list(document.tags), "visibility": document.visibility.value,
                "version": version, "file_name": name,
                "link": f"{link.kind.value}:{link.id}" if link else None})
            card = await self._card(uow, actor, document)
            await uow.commit()
            return card

    async def card(self, actor: Actor, document_id: int) -> DocumentCard:
        async with self._uow(write=False) as uow:
            return await self._card(uow, actor, await self._visible(uow, actor, document_id))

    async def to_send(self, actor: Actor, document_id: int) -> Document:
        """The document to send again (its Telegram file id), when the actor may see it."""
        async with self._uow(write=False) as uow:
            return await self._visible(uow, actor, document_id)

    async def copy(self, actor: Actor, document_id: int) -> bytes:
        """Our own copy, for when Telegram no longer knows the file id."""
        async with self._uow(write=False) as uow:
            document = await self._visible(uow, actor, document_id)
        if document.file_path is None:
            raise NotFound()
        return await asyncio.to_thread(self._files.read, document.file_path)

    async def search(self, actor: Actor, query: str, *, page: int = 0) -> tuple[Sequence[Document], bool]:
        """Documents the actor may see by title, tag (``#報價`` or just ``報價``), linked record's name or file
        name, newest first; an empty query gives the newest. And whether there is another page."""
        actor.require(OPERATION)
        exact, prefixes = query_terms(query[:100]) if query.strip() else ([], [])
        if query.strip() and not exact and not prefixes:
            return (), False
        async with self._uow(write=False) as uow:
            rows = await uow.office.documents.visible(actor, exact=exact, prefixes=prefixes, limit=PAGE + 1,
                                                      offset=page * PAGE)
        return rows[:PAGE], len(rows) > PAGE

    async def linked(self, actor: Actor, kind: LinkKind, record_id: int) -> Sequence[Document]:
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            return await uow.office.documents.visible(actor, link=(kind.value, int(record_id)), limit=PAGE)

    async def trash(self, actor: Actor) -> Sequence[Document]:
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            return await uow.office.documents.visible(actor, deleted=True, limit=PAGE)

    async def delete(self, actor: Actor, document_id: int) -> Document:
        async with self._uow() as uow:
            document = await self._visible(uow, actor, document_id)
            if document.owner_id != actor.staff_id:
                raise NotFound()  # seen but not one's own: nothing to delete, and no hint why
            at = self._clock.now()
            await uow.office.documents.set_deleted(document.id, at)
            await uow.office.documents.mark_latest(document.owner_id, document.title_key)
            await audit.record(uow, actor.staff_id, "delete", ENTITY, document.id, {"deleted_at": None},
                               {"deleted_at": at})
            await uow.commit()
            return document

    async def restore(self, actor: Actor, document_id: int) -> DocumentCard:
        async with self._uow() as uow:
            document = await self._visible(uow, actor, document_id, deleted=True)
            await uow.office.documents.set_deleted(document.id, None)
            await uow.office.documents.mark_latest(document.owner_id, document.title_key)
            await audit.record(uow, actor.staff_id, "restore", ENTITY, document.id,
                               {"deleted_at": document.deleted_at}, {"deleted_at": None})
            restored = await uow.office.documents.get(document.id)
            assert restored is not None
            card = await self._card(uow, actor, restored)
            await uow.commit()
            return card
