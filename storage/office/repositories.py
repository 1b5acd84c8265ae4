"""The office module's repositories (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from crm.office.model import (
    Answer,
    Attendee,
    Document,
    Event,
    EventDraft,
    EventKind,
    FileKind,
    Link,
    LinkKind,
    Visibility,
)
from crm.office.ports import Viewer
from storage.office import tables as t
from storage.organisation import tables as org

_HIGH = "\U0010ffff"  # sorts after every character: term >= p AND term < p + _HIGH is "starts with p"
MAX_TERMS = 6  # the most selective few find the documents; more only lengthen the statement


def _document(row: Row[Any]) -> Document:
    link = (Link(LinkKind(row.link_kind), int(row.link_id), row.link_label or "")
            if row.link_kind is not None and row.link_id is not None else None)
    return Document(
        id=row.id, owner_id=row.owner_id, department_id=row.department_id, title=row.title,
        title_key=row.title_key, tags=tuple(tag for tag in (row.tags or "").split("\t") if tag),
        visibility=Visibility(row.visibility), version=row.version, latest=bool(row.latest), file_id=row.file_id,
        file_name=row.file_name, mime_type=row.mime_type, kind=FileKind(row.kind), size=row.size,
        file_path=row.file_path, link=link, created_at=row.created_at, deleted_at=row.deleted_at)


def seen_by(viewer: Viewer) -> ColumnElement[bool]:
    d = t.office_documents.c
    return or_(d.owner_id == viewer.staff_id, d.visibility == Visibility.EVERYONE.value,
               and_(d.visibility == Visibility.DEPARTMENT.value, d.department_id == viewer.department_id))


class SqlDocumentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, document: Document, terms: set[str]) -> Document:
        d = t.office_documents
        values = {
            "owner_id": document.owner_id, "department_id": document.department_id, "title": document.title,
            "title_key": document.title_key, "tags": "\t".join(document.tags),
            "visibility": document.visibility.value, "version": document.version, "latest": document.latest,
            "file_id": document.file_id, "file_name": document.file_name, "mime_type": document.mime_type,
            "kind": document.kind.value, "size": document.size, "file_path": document.file_path,
            "link_kind": document.link.kind.value if document.link else None,
            "link_id": document.link.id if document.link else None,
            "link_label": document.link.label[:200] if document.link else None,
            "created_at": document.created_at,
        }
        new_id = int((await self._c.execute(insert(d).values(**values).returning(d.c.id))).scalar_one())
        kept = sorted({term[:64] for term in terms if term})
        if kept:
            await self._c.execute(insert(t.office_document_terms),
                                  [{"term": term, "document_id": new_id} for term in kept])
        return replace(document, id=new_id)

    async def get(self, document_id: int, *, include_deleted: bool = False) -> Document | None:
        d = t.office_documents
        q = select(d).where(d.c.id == document_id)
        if not include_deleted:
            q = q.where(d.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        return _document(row) if row is not None else None

    async def versions(self, owner_id: int, title_key: str) -> Sequence[Document]:
        d = t.office_documents
        rows = await self._c.execute(select(d).where(d.c.owner_id == owner_id, d.c.title_key == title_key,
                                                     d.c.deleted_at.is_(None)).order_by(d.c.version.desc()))
        return [_document(r) for r in rows]

    async def last_version(self, owner_id: int, title_key: str) -> int:
        d = t.office_documents
        found = (await self._c.execute(select(func.max(d.c.version)).where(
            d.c.owner_id == owner_id, d.c.title_key == title_key))).scalar()
        return int(found or 0)

    async def mark_latest(self, owner_id: int, title_key: str) -> None:
        d = t.office_documents
        newest = (await self._c.execute(select(func.max(d.c.version)).where(
            d.c.owner_id == owner_id, d.c.title_key == title_key, d.c.deleted_at.is_(None)))).scalar()
        await self._c.execute(update(d).where(d.c.owner_id == owner_id, d.c.title_key == title_key)
                              .values(latest=d.c.version == (newest if newest is not None else -1)))

    async def set_deleted(self, document_id: int, at: datetime | None) -> None:
        d = t.office_documents
        await self._c.execute(update(d).where(d.c.id == document_id).values(deleted_at=at))

    async def set_path(self, document_id: int, path: str) -> None:
        d = t.office_documents
        await self._c.execute(update(d).where(d.c.id == document_id).values(file_path=path))

    async def visible(self, viewer: Viewer, *, exact: Sequence[str] = (), prefixes: Sequence[str] = (),
                      link: tuple[str, int] | None = None, deleted: bool = False, limit: int,
                      offset: int = 0) -> Sequence[Document]:
        d = t.office_documents
        terms = t.office_document_terms
        if deleted:
            q = select(d).where(d.c.owner_id == viewer.staff_id, d.c.deleted_at.is_not(None))
            q = q.order_by(d.c.deleted_at.desc(), d.c.id.desc())
        else:
            q = select(d).where(d.c.latest.is_(True), d.c.deleted_at.is_(None), seen_by(viewer))
            q = q.order_by(d.c.created_at.desc(), d.c.id.desc())
        parts = [(False, term) for term in exact] + [(True, p) for p in prefixes]
        parts.sort(key=lambda part: (part[0], -len(part[1])))
        if link is not None:
            parts.insert(0, (False, f"l:{link[0]}:{int(link[1])}"))
        for is_prefix, term in parts[:MAX_TERMS]:
            match = (and_(terms.c.term >= term, terms.c.term < term + _HIGH) if is_prefix
                     else terms.c.term == term)
            q = q.where(d.c.id.in_(select(terms.c.document_id).where(match)))
        rows = await self._c.execute(q.limit(limit).offset(offset))
        return [_document(r) for r in rows]


class SqlEventRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def _attendees(self, event_ids: Sequence[int]) -> dict[int, list[Attendee]]:
        a = t.office_event_attendees
        found: dict[int, list[Attendee]] = {}
        if not event_ids:
            return found
        rows = await self._c.execute(select(a.c.event_id, a.c.staff_id, a.c.answer, org.staff.c.name)
                                     .join(org.staff, org.staff.c.id == a.c.staff_id)
                                     .where(a.c.event_id.in_(list(event_ids))).order_by(a.c.event_id, org.staff.c.name))
        for row in rows:
            found.setdefault(row.event_id, []).append(Attendee(row.staff_id, row.name, Answer(row.answer)))
        return found

    @staticmethod
    def _event(row: Row[Any], attendees: Sequence[Attendee]) -> Event:
        return Event(id=row.id, owner_id=row.owner_id, kind=EventKind(row.kind), title=row.title,
                     starts_at=row.starts_at, ends_at=row.ends_at, attendees=tuple(attendees),
                     created_at=row.created_at, deleted_at=row.deleted_at)

    async def add(self, owner_id: int, draft: EventDraft, at: datetime) -> Event:
        e = t.office_events
        new_id = int((await self._c.execute(insert(e).values(
            owner_id=owner_id, kind=draft.kind.value, title=draft.title, starts_at=draft.starts_at,
            ends_at=draft.ends_at, created_at=at).returning(e.c.id))).scalar_one())
        if draft.attendees:
            await self._c.execute(insert(t.office_event_attendees), [
                {"event_id": new_id, "staff_id": a.staff_id, "answer": Answer.INVITED.value}
                for a in draft.attendees])
        event = await self.get(new_id)
        assert event is not None
        return event

    async def get(self, event_id: int, *, include_deleted: bool = False) -> Event | None:
        e = t.office_events
        q = select(e).where(e.c.id == event_id)
        if not include_deleted:
            q = q.where(e.c.deleted_at.is_(None))
        row = (await self._c.execute(q)).first()
        if row is None:
            return None
        return self._event(row, (await self._attendees([row.id])).get(row.id, []))

    async def answer(self, event_id: int, staff_id: int, answer: Answer, at: datetime) -> bool:
        a = t.office_event_attendees
        done = await self._c.execute(update(a).where(a.c.event_id == event_id, a.c.staff_id == staff_id)
                                     .values(answer=answer.value, answered_at=at))
        return bool(done.rowcount)

    async def set_deleted(self, event_id: int, at: datetime | None) -> None:
        e = t.office_events
        await self._c.execute(update(e).where(e.c.id == event_id).values(deleted_at=at))

    async def update(self, event_id: int, *, title: str, starts_at: datetime, ends_at: datetime) -> None:
        e = t.office_events
        await self._c.execute(update(e).where(e.c.id == event_id)
                              .values(title=title, starts_at=starts_at, ends_at=ends_at))

    async def invite(self, event_id: int, staff_ids: Sequence[int]) -> None:
        if staff_ids:
            await self._c.execute(insert(t.office_event_attendees), [
                {"event_id": event_id, "staff_id": staff_id, "answer": Answer.INVITED.value}
                for staff_id in staff_ids])

    async def uninvite(self, event_id: int, staff_ids: Sequence[int]) -> None:
        if not staff_ids:
            return
        a, r = t.office_event_attendees, t.office_event_reminders
        await self._c.execute(delete(a).where(a.c.event_id == event_id, a.c.staff_id.in_(list(staff_ids))))
        await self._c.execute(delete(r).where(r.c.event_id == event_id, r.c.staff_id.in_(list(staff_ids))))

    async def set_reminder(self, event_id: int, staff_id: int, followup_id: int) -> None:
        r = t.office_event_reminders
        await self._c.execute(delete(r).where(r.c.event_id == event_id, r.c.staff_id == staff_id))
        await self._c.execute(insert(r).values(event_id=event_id, staff_id=staff_id, followup_id=followup_id))

    async def reminders(self, event_id: int) -> Mapping[int, int]:
        r = t.office_event_reminders
        rows = await self._c.execute(select(r.c.staff_id, r.c.followup_id).where(r.c.event_id == event_id))
        return {int(row.staff_id): int(row.followup_id) for row in rows}

    async def reminded(self, followup_ids: Sequence[int]) -> Mapping[int, Event]:
        if not followup_ids:
            return {}
        r, e = t.office_event_reminders, t.office_events
        rows = await self._c.execute(select(r.c.followup_id, e).join(e, e.c.id == r.c.event_id)
                                     .where(r.c.followup_id.in_(sorted(set(followup_ids)))))
        return {int(row.followup_id): self._event(row, ()) for row in rows}

    async def of_person(self, staff_id: int, start: datetime, end: datetime) -> Sequence[Event]:
        e = t.office_events
        a = t.office_event_attendees
        accepted = select(a.c.event_id).where(a.c.staff_id == staff_id, a.c.answer == Answer.ACCEPTED.value)
        rows = list(await self._c.execute(select(e).where(
            e.c.deleted_at.is_(None), e.c.starts_at < end, e.c.ends_at > start,
            or_(e.c.owner_id == staff_id, e.c.id.in_(accepted))).order_by(e.c.starts_at, e.c.id)))
        attendees = await self._attendees([r.id for r in rows])
        return [self._event(r, attendees.get(r.id, [])) for r in rows]


class SqlCalendarRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def set_token(self, staff_id: int, token_hash: str, at: datetime) -> None:
        f = t.office_calendar_feeds
        await self._c.execute(delete(f).where(f.c.staff_id == staff_id))
        await self._c.execute(insert(f).values(staff_id=staff_id, token_hash=token_hash, created_at=at))

    async def has_token(self, staff_id: int) -> bool:
        f = t.office_calendar_feeds
        return (await self._c.execute(select(f.c.staff_id).where(f.c.staff_id == staff_id))).first() is not None

    async def owner_of(self, token_hash: str) -> int | None:
        f = t.office_calendar_feeds
        found = (await self._c.execute(select(f.c.staff_id).where(f.c.token_hash == token_hash))).scalar()
        return int(found) if found is not None else None
