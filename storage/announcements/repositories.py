"""Repositories for announcements and their recipients' rows (delivery, read receipt, nudge)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.announcements.model import (
    Announcement,
    AnnouncementDraft,
    Attachment,
    AttachmentKind,
    Audience,
    AudienceKind,
    DueMessage,
    NudgeDue,
    Recipient,
)
from crm.announcements.ports import Counts, Outcome, UnreadRow
from crm.organisation.permissions import ScopeFilter
from storage.announcements import tables as t
from storage.organisation import tables as org
from storage.organisation.repositories import scope_clause
from storage.types import UTCDateTime

A = t.announcements
R = t.announcement_recipients
READER = org.staff.alias("reader")
AUTHOR = org.staff.alias("author")


def _announcement(row: Row[Any]) -> Announcement:
    attachment = (Attachment(AttachmentKind(row.attachment_kind), row.attachment_file_id, row.attachment_path)
                  if row.attachment_kind and row.attachment_file_id else None)
    return Announcement(
        id=row.id, author_id=row.author_id, body=row.body,
        audience=Audience(AudienceKind(row.audience_kind), row.audience_id), pinned=bool(row.pinned),
        publish_at=row.publish_at, published_at=row.published_at, version=row.version, created_at=row.created_at,
        updated_at=row.updated_at, attachment=attachment, edited_at=row.edited_at, deleted_at=row.deleted_at,
        deleted_by=row.deleted_by)


def _recipient(row: Row[Any]) -> Recipient:
    return Recipient(id=row.r_id, staff_id=row.r_staff_id, chat_id=row.r_chat_id, message_id=row.r_message_id,
                     read=row.r_read_at is not None, locale=row.r_locale, timezone=row.r_timezone)


_RECIPIENT_COLUMNS = (R.c.id.label("r_id"), R.c.staff_id.label("r_staff_id"), R.c.chat_id.label("r_chat_id"),
                      R.c.message_id.label("r_message_id"), R.c.read_at.label("r_read_at"),
                      READER.c.locale.label("r_locale"), READER.c.timezone.label("r_timezone"),
                      AUTHOR.c.name.label("author_name"))


def _with_recipients() -> Any:
    return (select(*A.c, *_RECIPIENT_COLUMNS)
            .select_from(R.join(A, A.c.id == R.c.announcement_id).join(READER, READER.c.id == R.c.staff_id)
                         .join(AUTHOR, AUTHOR.c.id == A.c.author_id)))


class SqlAnnouncementRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, author_id: int, draft: AnnouncementDraft, publish_at: datetime,
                  now: datetime) -> Announcement:
        attachment = draft.attachment
        new_id = (await self._c.execute(insert(A).values(
            author_id=author_id, body=draft.body, audience_kind=draft.audience.kind.value,
            audience_id=draft.audience.target_id, pinned=draft.pinned,
            attachment_kind=attachment.kind.value if attachment else None,
            attachment_file_id=attachment.file_id if attachment else None,
            attachment_path=attachment.path if attachment else None,
            publish_at=publish_at, published_at=None, version=1, created_at=now, updated_at=now,
        ).returning(A.c.id))).scalar_one()
        found = await self.get(int(new_id))
        assert found is not None
        return found

    async def get(self, announcement_id: int, *, withdrawn: bool = False) -> Announcement | None:
        query = select(A).where(A.c.id == announcement_id)
        if not withdrawn:
            query = query.where(A.c.deleted_at.is_(None))
        row = (await self._c.execute(query)).first()
        return _announcement(row) if row is not None else None

    async def update(self, announcement_id: int, **fields: Any) -> None:
        await self._c.execute(update(A).where(A.c.id == announcement_id).values(**fields))

    async def bump(self, announcement_id: int, now: datetime, **fields: Any) -> None:
        await self._c.execute(update(A).where(A.c.id == announcement_id)
                              .values(version=A.c.version + 1, updated_at=now, **fields))
        # Delivered messages are due again, as edits; the dispatcher renders the current text (or "withdrawn").
        await self._c.execute(update(R).where(R.c.announcement_id == announcement_id, R.c.state == "sent",
                                              R.c.message_id.is_not(None))
                              .values(state="pending", next_at=now))

    async def scheduled_due(self, now: datetime, limit: int) -> Sequence[int]:
        rows = await self._c.execute(
            select(A.c.id).where(A.c.published_at.is_(None), A.c.deleted_at.is_(None), A.c.publish_at <= now)
            .order_by(A.c.publish_at, A.c.id).limit(limit))
        return [int(r) for r in rows.scalars()]

    async def release(self, announcement_id: int, now: datetime, *, department_ids: Sequence[int] | None = None,
                      role_id: int | None = None) -> int | None:
        taken = await self._c.execute(update(A).where(A.c.id == announcement_id, A.c.published_at.is_(None),
                                                      A.c.deleted_at.is_(None)).values(published_at=now))
        if taken.rowcount != 1:
            return None
        s = org.staff.c
        people = select(
            literal(announcement_id, Integer()), s.id,
            case((s.telegram_user_id.is_(None), literal("failed", String())), else_=literal("pending", String())),
            s.telegram_user_id, literal(0, Integer()), literal(False, Boolean()), literal(now, UTCDateTime()),
        ).where(s.active.is_(True), s.deleted_at.is_(None))
        if department_ids is not None:
            people = people.where(s.department_id.in_(list(department_ids)))
        if role_id is not None:
            people = people.where(s.role_id == role_id)
        result = await self._c.execute(insert(R).from_select(
            ["announcement_id", "staff_id", "state", "chat_id", "shown_version", "uncertain", "next_at"], people))
        return int(result.rowcount)

    async def board(self, staff_id: int, *, offset: int, limit: int) -> Sequence[tuple[Announcement, str, bool]]:
        rows = await self._c.execute(
            _with_recipients()
            .where(R.c.staff_id == staff_id, A.c.deleted_at.is_(None), A.c.published_at.is_not(None))
            .order_by(A.c.pinned.desc(), A.c.published_at.desc(), A.c.id.desc()).offset(offset).limit(limit))
        return [(_announcement(r), str(r.author_name), r.r_read_at is not None) for r in rows]

    async def addressed(self, announcement_id: int, staff_id: int) -> bool | None:
        row = (await self._c.execute(select(R.c.read_at).where(R.c.announcement_id == announcement_id,
                                                               R.c.staff_id == staff_id))).first()
        return None if row is None else row.read_at is not None

    async def mark_read(self, announcement_id: int, staff_id: int, now: datetime,
                        pressed_message_id: int | None = None) -> bool:
        elsewhere = and_(R.c.state == "sent", R.c.message_id.is_not(None),
                         R.c.message_id != (pressed_message_id if pressed_message_id is not None else -1))
        result = await self._c.execute(update(R).where(R.c.announcement_id == announcement_id,
                                                       R.c.staff_id == staff_id, R.c.read_at.is_(None))
                                       .values(read_at=now, state=case((elsewhere, "pending"), else_=R.c.state),
                                               next_at=now))
        return bool(result.rowcount == 1)

    async def authored(self, author_id: int | None, *, offset: int, limit: int) -> Sequence[Announcement]:
        query = select(A)
        if author_id is not None:
            query = query.where(A.c.author_id == author_id)
        rows = await self._c.execute(query.order_by(A.c.created_at.desc(), A.c.id.desc()).offset(offset).limit(limit))
        return [_announcement(r) for r in rows]

    async def counts(self, announcement_id: int) -> Counts:
        row = (await self._c.execute(select(
            func.count(), func.count(R.c.read_at),
            func.coalesce(func.sum(case((R.c.state == "sent", 1), else_=0)), 0),
        ).where(R.c.announcement_id == announcement_id))).one()
        return Counts(int(row[0]), int(row[1]), int(row[2]))

    async def names(self, announcement_id: int, *, read: bool, offset: int, limit: int) -> Sequence[str]:
        s = org.staff.c
        rows = await self._c.execute(
            select(s.name).select_from(R.join(org.staff, org.staff.c.id == R.c.staff_id))
            .where(R.c.announcement_id == announcement_id,
                   R.c.read_at.is_not(None) if read else R.c.read_at.is_(None))
            .order_by(s.name, s.id).offset(offset).limit(limit))
        return [str(name) for name in rows.scalars()]

    def _unread_in(self, scope: ScopeFilter) -> list[Any]:
        return [A.c.deleted_at.is_(None), A.c.published_at.is_not(None), R.c.read_at.is_(None),
                R.c.state != "failed", scope_clause(scope, R.c.staff_id, org.staff.c.department_id)]

    async def unread_in_scope(self, scope: ScopeFilter, *, limit: int) -> tuple[int, Sequence[UnreadRow]]:
        joined = R.join(A, A.c.id == R.c.announcement_id).join(org.staff, org.staff.c.id == R.c.staff_id)
        where = self._unread_in(scope)
        total = (await self._c.execute(select(func.count()).select_from(joined).where(*where))).scalar_one()
        count = func.count().label("unread")
        rows = await self._c.execute(
            select(org.staff.c.id, org.staff.c.name, count).select_from(joined).where(*where)
            .group_by(org.staff.c.id, org.staff.c.name).order_by(count.desc(), org.staff.c.name).limit(limit))
        return int(total), [UnreadRow(int(r.id), str(r.name), int(r.unread)) for r in rows]

    async def published_between(self, scope: ScopeFilter, start: datetime, end: datetime) -> int:
        joined = R.join(A, A.c.id == R.c.announcement_id).join(org.staff, org.staff.c.id == R.c.staff_id)
        return int((await self._c.execute(
            select(func.count(func.distinct(A.c.id))).select_from(joined)
            .where(A.c.deleted_at.is_(None), A.c.published_at >= start, A.c.published_at < end,
                   scope_clause(scope, R.c.staff_id, org.staff.c.department_id)))).scalar_one())


class SqlDeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def claim(self, worker: str, now: datetime, lease_until: datetime, limit: int) -> Sequence[DueMessage]:
        due = (
            select(R.c.id).select_from(R.join(A, A.c.id == R.c.announcement_id))
            .where(or_(and_(R.c.state == "pending", R.c.next_at <= now),
                       and_(R.c.state == "claimed", R.c.lease_until < now)),
                   # nothing new goes out of a withdrawn announcement; its delivered messages are edited
                   or_(R.c.message_id.is_not(None), A.c.deleted_at.is_(None)))
            .order_by(R.c.next_at, R.c.id).limit(limit)
        )
        if self._c.dialect.name == "postgresql":
            # Two bot processes on one PostgreSQL: each takes different rows instead of waiting on each other.
            due = due.with_for_update(skip_locked=True, of=R)
        claimed = [int(i) for i in (await self._c.execute(
            update(R).where(R.c.id.in_(due.scalar_subquery()))
            .values(state="claimed", claimed_by=worker, lease_until=lease_until).returning(R.c.id))).scalars()]
        if not claimed:
            return []
        rows = await self._c.execute(_with_recipients().where(R.c.id.in_(claimed)).order_by(R.c.id))
        return [DueMessage(_recipient(r), _announcement(r), str(r.author_name)) for r in rows]

    async def sending(self, worker: str, recipient_ids: Sequence[int]) -> Sequence[int]:
        if not recipient_ids:
            return []
        rows = await self._c.execute(
            update(R).where(R.c.id.in_(list(recipient_ids)), R.c.claimed_by == worker, R.c.state == "claimed")
            .values(state="sending").returning(R.c.id))
        return [int(i) for i in rows.scalars()]

    async def finish(self, worker: str, outcomes: Sequence[Outcome], now: datetime) -> int:
        if not outcomes:
            return 0
        statement = (
            update(R).where(R.c.id == bindparam("rid"), R.c.claimed_by == worker,
                            or_(R.c.state == "claimed", R.c.state == "sending"))
            .values(state=bindparam("new_state"), message_id=func.coalesce(bindparam("mid", type_=Integer()),
                                                                          R.c.message_id),
                    shown_version=bindparam("ver"), next_at=bindparam("next", type_=UTCDateTime()),
                    sent_at=func.coalesce(R.c.sent_at, bindparam("sent", type_=UTCDateTime())),
                    claimed_by=None, lease_until=None)
        )
        await self._c.execute(statement, [
            {"rid": o.recipient_id, "new_state": o.state, "mid": o.message_id, "ver": o.version,
             "next": o.next_at or now, "sent": now if o.state == "sent" else None} for o in outcomes])
        ids = [o.recipient_id for o in outcomes]
        # Edited while this worker was sending the older text: due again, as an edit.
        newer = select(A.c.version).where(A.c.id == R.c.announcement_id).scalar_subquery()
        await self._c.execute(update(R).where(R.c.id.in_(ids), R.c.state == "sent", R.c.message_id.is_not(None),
                                              R.c.shown_version < newer).values(state="pending", next_at=now))
        return len(outcomes)

    async def release(self, worker: str, recipient_ids: Sequence[int]) -> None:
        await self._c.execute(update(R).where(R.c.id.in_(list(recipient_ids)), R.c.claimed_by == worker,
                                              R.c.state == "claimed")
                              .values(state="pending", claimed_by=None, lease_until=None))

    async def abandon_stale(self, now: datetime) -> int:
        stale = [R.c.state == "sending", R.c.lease_until < now]
        sent = await self._c.execute(update(R).where(*stale, R.c.message_id.is_(None)).values(
            state="sent", uncertain=True, claimed_by=None, lease_until=None, sent_at=func.coalesce(R.c.sent_at, now)))
        edits = await self._c.execute(update(R).where(*stale, R.c.message_id.is_not(None)).values(
            state="pending", claimed_by=None, lease_until=None, next_at=now))
        return int(sent.rowcount) + int(edits.rowcount)

    async def nudge_candidates(self, delivered_before: datetime, limit: int) -> Sequence[NudgeDue]:
        rows = await self._c.execute(
            _with_recipients()
            .where(R.c.state == "sent", R.c.message_id.is_not(None), R.c.read_at.is_(None),
                   R.c.nudged_at.is_(None), R.c.sent_at <= delivered_before, A.c.deleted_at.is_(None))
            .order_by(R.c.sent_at, R.c.id).limit(limit))
        return [NudgeDue(_recipient(r), _announcement(r), str(r.author_name)) for r in rows]

    async def claim_nudges(self, recipient_ids: Sequence[int], now: datetime) -> Sequence[int]:
        rows = await self._c.execute(
            update(R).where(R.c.id.in_(list(recipient_ids)), R.c.nudged_at.is_(None), R.c.read_at.is_(None))
            .values(nudged_at=now).returning(R.c.id))
        return [int(i) for i in rows.scalars()]
