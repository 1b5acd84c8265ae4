"""The bulletin board: publish an announcement (now or at a time), read it, and its author's screens.

Who may do what:
- ``announcements.publish`` to post to everyone, a department (and the ones below it) or a role.
- Reading: every staff member sees the announcements addressed to them (``/board``), and marks them read. An
  announcement not addressed to the reader is "not found", also for a forged button press; a press only ever
  marks the presser's own receipt.
- The author screens (who has read it, edit, withdraw, restore) are the author's, and an admin's (publish
  permission with the ``staff`` scope "all"); for anyone else the announcement does not exist.
Every change writes its audit row in the same transaction; a withdrawal is a soft delete that the author or an
admin restores. Edits, withdrawals and restores move the announcement's version: the dispatcher then edits every
message already delivered (scheduler/announcements/delivery.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from crm.announcements.model import (
    BODY_LIMIT,
    NAMES_PAGE,
    PAGE,
    Announcement,
    AnnouncementDraft,
    Attachment,
    AudienceChoice,
    AudienceKind,
    Audiences,
    AuthorView,
    BoardItem,
    Published,
    ReadList,
)
from crm.announcements.ports import AnnouncementsUnitOfWork
from crm.core.clock import Clock
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.organisation import audit
from crm.organisation.departments import ordered_tree, subtree
from crm.organisation.permissions import Actor, Scope

OPERATION = "announcements.publish"
MAX_AHEAD = timedelta(days=366)


def clean_body(text: str | None) -> str:
    lines = [" ".join(line.split()) for line in (text or "").strip().splitlines()]
    body = "\n".join(lines).strip()
    while "\n\n\n" in body:
        body = body.replace("\n\n\n", "\n\n")
    if not body:
        raise ValidationFailed("announcements.error_empty")
    if len(body) > BODY_LIMIT:
        raise ValidationFailed("announcements.error_long", limit=BODY_LIMIT)
    return body


def is_admin(actor: Actor) -> bool:
    return actor.can(OPERATION) and actor.scope("staff") is Scope.ALL


def _audit_values(announcement: Announcement) -> dict[str, object]:
    return {"body": announcement.body, "audience": announcement.audience.kind.value,
            "audience_id": announcement.audience.target_id, "pinned": announcement.pinned,
            "publish_at": announcement.publish_at,
            "attachment": announcement.attachment.kind.value if announcement.attachment else None}


async def release(uow: AnnouncementsUnitOfWork, announcement: Announcement, now: datetime) -> int | None:
    """List its recipients from the audience as it is now; None when another worker did it first."""
    audience = announcement.audience
    if audience.kind is AudienceKind.DEPARTMENT and audience.target_id is not None:
        departments = await uow.organisation.departments.list_all()
        ids = sorted(subtree(departments, audience.target_id))
        return await uow.announcements.announcements.release(announcement.id, now, department_ids=ids)
    if audience.kind is AudienceKind.ROLE:
        return await uow.announcements.announcements.release(announcement.id, now, role_id=audience.target_id)
    return await uow.announcements.announcements.release(announcement.id, now)


class AnnouncementService:
    def __init__(self, uow: UnitOfWorkFactory[AnnouncementsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ---- composing ---------------------------------------------------------------------------------------

    async def audiences(self, actor: Actor) -> Audiences:
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            departments = await uow.organisation.departments.list_all()
            roles = await uow.organisation.roles.list_all()
        return Audiences(
            departments=tuple(AudienceChoice(d.id, d.name, depth) for depth, d in ordered_tree(departments)),
            roles=tuple(AudienceChoice(r.id, r.name) for r in roles))

    async def audience_name(self, actor: Actor, kind: AudienceKind, target_id: int | None) -> str:
        """The department's or role's name; "" for everyone. Unknown or deleted: not found."""
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            return await self._audience_name(uow, kind, target_id)

    async def _audience_name(self, uow: AnnouncementsUnitOfWork, kind: AudienceKind, target_id: int | None) -> str:
        if kind is AudienceKind.ALL:
            return ""
        if target_id is None:
            raise NotFound()
        if kind is AudienceKind.DEPARTMENT:
            department = await uow.organisation.departments.get(target_id)
            if department is None or department.deleted_at is not None:
                raise NotFound()
            return department.name
        role = await uow.organisation.roles.get(target_id)
        if role is None or role.deleted_at is not None:
            raise NotFound()
        return role.name

    async def publish(self, actor: Actor, draft: AnnouncementDraft) -> Published:
        """Post it: recipients are listed now (sending starts at the dispatcher's next round), or at
        ``publish_at`` by the dispatcher, also when the bot was down at that time."""
        actor.require(OPERATION)
        body = clean_body(draft.body)
        now = self._clock.now()
        publish_at = draft.publish_at if draft.publish_at is not None and draft.publish_at > now else now
        if publish_at - now > MAX_AHEAD:
            raise ValidationFailed("announcements.error_far")
        async with self._uow() as uow:
            await self._audience_name(uow, draft.audience.kind, draft.audience.target_id)
            announcement = await uow.announcements.announcements.add(
                actor.staff_id, AnnouncementDraft(body, draft.audience, publish_at, draft.pinned, draft.attachment),
                publish_at, now)
            count = 0
            if publish_at <= now:
                count = await release(uow, announcement, now) or 0
                announcement = replace(announcement, published_at=now)
            await audit.record(uow, actor.staff_id, "announcement.publish", "announcement", announcement.id,
                               after={**_audit_values(announcement), "recipients": count})
            await uow.commit()
        return Published(announcement, count)

    # ---- reading -----------------------------------------------------------------------------------------

    async def board(self, actor: Actor, page: int = 0) -> tuple[list[BoardItem], bool]:
        """The reader's current announcements (pinned first), a page at a time, and whether more follow."""
        async with self._uow(write=False) as uow:
            rows = await uow.announcements.announcements.board(actor.staff_id, offset=page * PAGE, limit=PAGE + 1)
        items = [BoardItem(a, name, read) for a, name, read in rows]
        return items[:PAGE], len(items) > PAGE

    async def open(self, actor: Actor, announcement_id: int) -> BoardItem:
        """One announcement addressed to the reader, as they see it."""
        async with self._uow(write=False) as uow:
            announcement = await uow.announcements.announcements.get(announcement_id)
            read = await uow.announcements.announcements.addressed(announcement_id, actor.staff_id)
            if announcement is None or read is None or announcement.published_at is None:
                raise NotFound()
            author = await uow.organisation.staff.get(announcement.author_id)
        return BoardItem(announcement, author.name if author else "", read)

    async def mark_read(self, actor: Actor, announcement_id: int, pressed_message_id: int | None = None) -> BoardItem:
        """"Got it": the presser's own receipt, whoever's message the button was on. ``pressed_message_id``: the
        message pressed, which the handler redraws itself; the delivered one, if another, is edited too."""
        async with self._uow() as uow:
            announcement = await uow.announcements.announcements.get(announcement_id)
            if announcement is None or await uow.announcements.announcements.addressed(
                    announcement_id, actor.staff_id) is None:
                raise NotFound()
            if await uow.announcements.announcements.mark_read(announcement_id, actor.staff_id, self._clock.now(),
                                                               pressed_message_id):
                await audit.record(uow, actor.staff_id, "announcement.read", "announcement", announcement_id,
                                   after={"read_by": actor.staff_id})
            author = await uow.organisation.staff.get(announcement.author_id)
            await uow.commit()
        return BoardItem(announcement, author.name if author else "", True)

    async def attachment(self, actor: Actor, announcement_id: int) -> Attachment:
        """The file of an announcement addressed to the actor (or theirs to manage)."""
        async with self._uow(write=False) as uow:
            announcement = await uow.announcements.announcements.get(announcement_id)
            if announcement is None:
                raise NotFound()
            addressed = await uow.announcements.announcements.addressed(announcement_id, actor.staff_id)
            if addressed is None:
                await self._managed(uow, actor, announcement_id)
        if announcement.attachment is None:
            raise NotFound()
        return announcement.attachment

    # ---- the author's screens ----------------------------------------------------------------------------

    async def _managed(self, uow: AnnouncementsUnitOfWork, actor: Actor, announcement_id: int) -> Announcement:
        actor.require(OPERATION)
        announcement = await uow.announcements.announcements.get(announcement_id, withdrawn=True)
        if announcement is None or not (announcement.author_id == actor.staff_id or is_admin(actor)):
            raise NotFound()
        return announcement

    async def _view(self, uow: AnnouncementsUnitOfWork, announcement: Announcement) -> AuthorView:
        counts = await uow.announcements.announcements.counts(announcement.id)
        author = await uow.organisation.staff.get(announcement.author_id)
        try:
            audience = await self._audience_name(uow, announcement.audience.kind, announcement.audience.target_id)
        except NotFound:
            audience = "?"
        return AuthorView(announcement, author.name if author else "", audience, counts.recipients, counts.read,
                          counts.delivered)

    async def mine(self, actor: Actor, page: int = 0) -> tuple[list[AuthorView], bool]:
        """The actor's announcements (an admin's list has everyone's), newest first."""
        actor.require(OPERATION)
        async with self._uow(write=False) as uow:
            found = await uow.announcements.announcements.authored(
                None if is_admin(actor) else actor.staff_id, offset=page * PAGE, limit=PAGE + 1)
            views = [await self._view(uow, a) for a in found[:PAGE]]
        return views, len(found) > PAGE

    async def author_view(self, actor: Actor, announcement_id: int) -> AuthorView:
        async with self._uow(write=False) as uow:
            return await self._view(uow, await self._managed(uow, actor, announcement_id))

    async def read_list(self, actor: Actor, announcement_id: int, page: int = 0) -> ReadList:
        """Who has read it and who has not, names a page at a time (both lists advance together)."""
        async with self._uow(write=False) as uow:
            view = await self._view(uow, await self._managed(uow, actor, announcement_id))
            offset = page * NAMES_PAGE
            repo = uow.announcements.announcements
            read = await repo.names(announcement_id, read=True, offset=offset, limit=NAMES_PAGE + 1)
            unread = await repo.names(announcement_id, read=False, offset=offset, limit=NAMES_PAGE + 1)
        return ReadList(view, tuple(read[:NAMES_PAGE]), tuple(unread[:NAMES_PAGE]), page,
                        len(read) > NAMES_PAGE or len(unread) > NAMES_PAGE)

    async def edit(self, actor: Actor, announcement_id: int, body: str) -> AuthorView:
        text = clean_body(body)
        async with self._uow() as uow:
            announcement = await self._managed(uow, actor, announcement_id)
            if announcement.withdrawn:
                raise Conflict("announcements.error_withdrawn")
            if text != announcement.body:
                now = self._clock.now()
                await uow.announcements.announcements.bump(announcement_id, now, body=text, edited_at=now)
                await audit.record(uow, actor.staff_id, "announcement.edit", "announcement", announcement_id,
                                   before={"body": announcement.body}, after={"body": text})
            view = await self._view(uow, await self._managed(uow, actor, announcement_id))
            await uow.commit()
        return view

    async def withdraw(self, actor: Actor, announcement_id: int) -> AuthorView:
        """Soft delete: delivered messages become a short "withdrawn" note; nothing more is sent."""
        now = self._clock.now()
        async with self._uow() as uow:
            announcement = await self._managed(uow, actor, announcement_id)
            if not announcement.withdrawn:
                await uow.announcements.announcements.bump(announcement_id, now, deleted_at=now,
                                                           deleted_by=actor.staff_id)
                await audit.record(uow, actor.staff_id, "announcement.withdraw", "announcement", announcement_id,
                                   before={"deleted_at": None}, after={"deleted_at": now})
            view = await self._view(uow, await self._managed(uow, actor, announcement_id))
            await uow.commit()
        return view

    async def restore(self, actor: Actor, announcement_id: int) -> AuthorView:
        """Back from the trash: delivered messages show the text again, and what was not sent yet goes out."""
        async with self._uow() as uow:
            announcement = await self._managed(uow, actor, announcement_id)
            if announcement.withdrawn:
                await uow.announcements.announcements.bump(announcement_id, self._clock.now(), deleted_at=None,
                                                           deleted_by=None)
                await audit.record(uow, actor.staff_id, "announcement.restore", "announcement", announcement_id,
                                   before={"deleted_at": announcement.deleted_at}, after={"deleted_at": None})
            view = await self._view(uow, await self._managed(uow, actor, announcement_id))
            await uow.commit()
        return view


__all__ = ["AnnouncementService", "clean_body", "is_admin", "release"]
