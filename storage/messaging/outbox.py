"""The outbox in SQL: idempotent inserts, atomic claims with leases, and provider status updates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, bindparam, delete, exists, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from crm.messaging.outbox import (
    NewOutboxMessage,
    OutboxAttachment,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
)
from crm.messaging.ports.outbox import EarlyReport
from crm.organisation.permissions import ScopeFilter
from storage import tables as t
from storage.prepared import Prepared

_c = t.outbox.c
_r = t.outbox_early_reports.c
_PROVIDER_ID_LENGTH = 200  # outbox.provider_id
# First key of the PostgreSQL advisory locks taken per provider id (the second is its hash): any constant that
# no other advisory lock in this database uses.
_PROVIDER_LOCK_SPACE = 0x0B0C5
_LOCK_PROVIDER_IDS = text(
    # Sorted, so two transactions locking several ids cannot deadlock; ORDER BY in the subquery keeps the
    # planner from flattening it, so the locks are taken in that order.
    "SELECT pg_advisory_xact_lock(:space, k) FROM "
    "(SELECT DISTINCT hashtext(p) AS k FROM unnest(CAST(:ids AS text[])) AS p ORDER BY k) AS ordered"
)


def _message(row: Row[Any], names: tuple[str, ...] = ()) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, channel=OutboxChannel(row.channel), status=OutboxStatus(row.status), recipient=row.recipient,
        body=row.body, idempotency_key=row.idempotency_key, created_at=row.created_at, updated_at=row.updated_at,
        due_at=row.due_at, subject=row.subject, html=row.html, topic=row.topic, campaign_id=row.campaign_id,
        customer_id=row.customer_id, contact_id=row.contact_id, lead_id=row.lead_id,
        requested_by=row.requested_by, attempts=row.attempts, claimed_by=row.claimed_by,
        provider_id=row.provider_id, error_code=row.error_code, last_error=row.last_error, segments=row.segments,
        notify_chat_id=row.notify_chat_id, notify_message_id=row.notify_message_id,
        notify_locale=row.notify_locale, notify_timezone=row.notify_timezone, sent_at=row.sent_at,
        finished_at=row.finished_at, attachment_names=names,
    )


def _notify_if_watched() -> ColumnElement[bool]:
    """A status change is worth showing to the requester when they are watching a chat message for it."""
    return _c.notify_chat_id.is_not(None)


def _recent_statement(everything: bool, departments: int, by_customer: bool, by_requester: bool) -> Select[Any]:
    """The latest messages in a scope (what a customer's card lists on every view, hence prepared): the
    scope's owner and departments are parameters, so each shape of scope is one statement."""
    q = select(t.outbox)
    if not everything:
        visible: ColumnElement[bool] = _c.requested_by == bindparam("scope_owner")
        if departments:
            owners = select(t.staff.c.id).where(t.staff.c.department_id.in_(
                [bindparam(f"d{n}") for n in range(departments)]))
            visible = visible | _c.requested_by.in_(owners)
        q = q.where(visible)
    if by_customer:
        q = q.where(_c.customer_id == bindparam("customer_id"))
    if by_requester:
        q = q.where(_c.requested_by == bindparam("requested_by"))
    return q.order_by(_c.created_at.desc(), _c.id.desc()).limit(bindparam("limit", type_=Integer))


_RECENT: dict[tuple[bool, int, bool, bool], Prepared] = {}
_CHANNELS = list(OutboxChannel)


def _due_probes() -> list[Any]:
    probes = []
    for channel in _CHANNELS:
        probes.append(exists().where(_c.status == OutboxStatus.QUEUED.value, _c.channel == channel.value,
                                     _c.due_at <= bindparam("now", type_=_c.due_at.type)))
        probes.append(exists().where(_c.status == OutboxStatus.SENDING.value, _c.channel == channel.value,
                                     _c.claimed_until < bindparam("now", type_=_c.claimed_until.type)))
    return probes


# Asked every outbox tick (each second or so, all day): one round trip, an EXISTS per channel and case, each an
# index range probe; built once and prepared, since building it cost more than running it.
_DUE_CHANNELS = Prepared(select(*_due_probes()))
_HAS_NOTICES = Prepared(select(exists().where(_c.notify_pending.is_(True))))


class SqlOutboxRepository:
    def __init__(self, conn: AsyncConnection, now: Callable[[], datetime]) -> None:
        self._c = conn
        self._now = now
        self._pg = conn.dialect.name == "postgresql"

    def _insert(self) -> Any:
        return (postgresql.insert(t.outbox) if self._pg else sqlite.insert(t.outbox))

    async def add(self, msg: NewOutboxMessage) -> OutboxMessage:
        now = self._now()
        values = {
            "channel": msg.channel.value,
            "status": (OutboxStatus.HELD if msg.held else OutboxStatus.QUEUED).value,
            "recipient": msg.recipient, "subject": msg.subject, "body": msg.body, "html": msg.html,
            "topic": msg.topic, "campaign_id": msg.campaign_id, "customer_id": msg.customer_id,
            "contact_id": msg.contact_id, "lead_id": msg.lead_id, "requested_by": msg.requested_by,
            "idempotency_key": msg.idempotency_key, "attempts": 0, "due_at": msg.not_before or now,
            "notify_pending": False, "created_at": now, "updated_at": now,
        }
        statement = (self._insert().values(**values)
                     .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(*t.outbox.c))
        inserted = (await self._c.execute(statement)).first()
        if inserted is None:  # the same key was enqueued before: that row stands, nothing is added
            existing = (await self._c.execute(
                select(t.outbox).where(_c.idempotency_key == msg.idempotency_key))).one()
            return _message(existing, await self._names(existing.id))
        attachments = [OutboxAttachment.from_spec(spec) for spec in msg.attachments]
        if attachments:
            await self._c.execute(t.outbox_attachments.insert(), [
                {"message_id": inserted.id, "position": position, "filename": a.filename, "mime_type": a.mime_type,
                 "content": a.content, "ref": a.ref, "size": a.size}
                for position, a in enumerate(attachments)])
        return _message(inserted, tuple(a.filename for a in attachments))

    async def _names(self, message_id: int) -> tuple[str, ...]:
        return tuple((await self._names_for([message_id])).get(message_id, ()))

    async def _names_for(self, ids: Sequence[int]) -> dict[int, list[str]]:
        if not ids:
            return {}
        a = t.outbox_attachments.c
        out: dict[int, list[str]] = {}
        rows = await self._c.execute(select(a.message_id, a.filename).where(a.message_id.in_(list(ids)))
                                     .order_by(a.message_id, a.position))
        for message_id, filename in rows:
            out.setdefault(message_id, []).append(filename)
        return out

    async def _with_names(self, rows: Sequence[Row[Any]]) -> list[OutboxMessage]:
        names = await self._names_for([r.id for r in rows])
        return [_message(r, tuple(names.get(r.id, ()))) for r in rows]

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = (await self._c.execute(select(t.outbox).where(_c.id == message_id))).first()
        return _message(row, await self._names(row.id)) if row else None

    async def by_provider_id(self, provider_id: str) -> OutboxMessage | None:
        row = (await self._c.execute(select(t.outbox).where(_c.provider_id == provider_id)
                                     .order_by(_c.id.desc()).limit(1))).first()
        return _message(row) if row else None

    async def attachments(self, message_id: int) -> Sequence[OutboxAttachment]:
        a = t.outbox_attachments.c
        rows = await self._c.execute(select(t.outbox_attachments).where(a.message_id == message_id)
                                     .order_by(a.position))
        return [OutboxAttachment(r.filename, r.mime_type, r.content, r.ref, r.size) for r in rows]

    async def release_held(self, *, campaign_id: int | None, message_ids: Sequence[int]) -> int:
        where = [_c.status == OutboxStatus.HELD.value]
        if campaign_id is not None:
            where.append(_c.campaign_id == campaign_id)
        if message_ids:
            where.append(_c.id.in_(list(message_ids)))
        now = self._now()
        result = await self._c.execute(update(t.outbox).where(*where).values(
            status=OutboxStatus.QUEUED.value, updated_at=now, notify_pending=_notify_if_watched()))
        return int(result.rowcount)

    async def cancel_pending(self, *, channel: OutboxChannel, recipient: str | None, campaign_id: int | None,
                             reason: str) -> int:
        where = [_c.channel == channel.value,
                 _c.status.in_([OutboxStatus.HELD.value, OutboxStatus.QUEUED.value])]
        if recipient is not None:
            where.append(_c.recipient == recipient)
        if campaign_id is not None:
            where.append(_c.campaign_id == campaign_id)
        now = self._now()
        result = await self._c.execute(update(t.outbox).where(*where).values(
            status=OutboxStatus.CANCELLED.value, last_error=reason, finished_at=now, updated_at=now,
            notify_pending=_notify_if_watched()))
        return int(result.rowcount)

    # ---- the dispatcher's side -----------------------------------------------------------------------------

    async def due_channels(self, now: datetime) -> set[OutboxChannel]:
        row = await _DUE_CHANNELS.first(self._c, {"now": now})
        assert row is not None
        return {channel for index, channel in enumerate(_CHANNELS) if row[2 * index] or row[2 * index + 1]}

    async def claim_due(self, channel: OutboxChannel, now: datetime, worker: str, lease_until: datetime,
                        limit: int) -> Sequence[OutboxMessage]:
        # Expired leases first: those rows were claimed by a worker that died (and may have been sent, which
        # is why a lease is long enough for any send to finish in a live worker).
        expired: Select[Any] = (select(_c.id).where(_c.status == OutboxStatus.SENDING.value,
                                                    _c.channel == channel.value, _c.claimed_until < now)
                                .order_by(_c.claimed_until, _c.id).limit(limit))
        claimed = await self._claim(expired, worker, lease_until, now)
        if len(claimed) < limit:
            queued: Select[Any] = (select(_c.id).where(_c.status == OutboxStatus.QUEUED.value,
                                                       _c.channel == channel.value, _c.due_at <= now)
                                   .order_by(_c.due_at, _c.id).limit(limit - len(claimed)))
            claimed += await self._claim(queued, worker, lease_until, now)
        return sorted(claimed, key=lambda m: (m.due_at, m.id))

    async def _claim(self, ids: Select[Any], worker: str, lease_until: datetime,
                     now: datetime) -> list[OutboxMessage]:
        if self._pg:
            # Two workers on one PostgreSQL take different rows instead of queueing behind each other's locks.
            ids = ids.with_for_update(skip_locked=True)
        rows = await self._c.execute(
            update(t.outbox).where(_c.id.in_(ids.scalar_subquery()))
            .values(status=OutboxStatus.SENDING.value, claimed_by=worker, claimed_until=lease_until, updated_at=now)
            .returning(*t.outbox.c)
        )
        return [_message(r) for r in rows]

    async def _finish_claim(self, message_id: int, worker: str, **values: Any) -> bool:
        result = await self._c.execute(
            update(t.outbox).where(_c.id == message_id, _c.claimed_by == worker,
                                   _c.status == OutboxStatus.SENDING.value)
            .values(claimed_until=None, notify_pending=_notify_if_watched(), **values)
        )
        return bool(result.rowcount == 1)

    async def mark_sent(self, message_id: int, worker: str, *, provider_id: str | None, segments: int | None,
                        at: datetime) -> bool:
        ids = [provider_id] if provider_id else []
        await self._lock_provider_ids(ids)
        held = await self._finish_claim(
            message_id, worker, status=OutboxStatus.SENT.value, provider_id=provider_id, segments=segments,
            sent_at=at, updated_at=at, attempts=_c.attempts + 1, last_error=None, error_code=None)
        if held:
            await self._apply_early_reports(ids, at)
        return held

    async def mark_sent_many(self, worker: str, sent: Sequence[tuple[int, str | None, int | None]], *,
                             at: datetime) -> Sequence[tuple[OutboxMessage, EarlyReport]]:
        if not sent:
            return []
        ids = [provider_id for _, provider_id, _ in sent if provider_id]
        # Before the UPDATE: a report that took the lock first is then visible to _apply_early_reports below,
        # and one that comes later waits for this commit and finds the row.
        await self._lock_provider_ids(ids)
        statement = (
            update(t.outbox)
            .where(_c.id == bindparam("b_id"), _c.claimed_by == worker, _c.status == OutboxStatus.SENDING.value)
            .values(status=OutboxStatus.SENT.value, provider_id=bindparam("b_provider"),
                    segments=bindparam("b_segments"), sent_at=at, updated_at=at, attempts=_c.attempts + 1,
                    last_error=None, error_code=None, claimed_until=None, notify_pending=_notify_if_watched())
        )
        await self._c.execute(statement, [{"b_id": message_id, "b_provider": provider_id, "b_segments": segments}
                                          for message_id, provider_id, segments in sent])
        return await self._apply_early_reports(ids, at)

    async def mark_failed(self, message_id: int, worker: str, *, reason: str, code: str | None,
                          at: datetime) -> bool:
        return await self._finish_claim(
            message_id, worker, status=OutboxStatus.FAILED.value, last_error=reason[:1000], error_code=code,
            finished_at=at, updated_at=at, attempts=_c.attempts + 1)

    async def mark_cancelled(self, message_id: int, worker: str, *, reason: str, at: datetime) -> bool:
        return await self._finish_claim(
            message_id, worker, status=OutboxStatus.CANCELLED.value, last_error=reason[:1000], finished_at=at,
            updated_at=at)

    async def reschedule(self, message_id: int, worker: str, *, due_at: datetime, reason: str | None,
                         code: str | None, count_attempt: bool, at: datetime) -> bool:
        result = await self._c.execute(
            update(t.outbox).where(_c.id == message_id, _c.claimed_by == worker,
                                   _c.status == OutboxStatus.SENDING.value)
            .values(status=OutboxStatus.QUEUED.value, due_at=due_at, claimed_by=None, claimed_until=None,
                    last_error=reason[:1000] if reason else None, error_code=code, updated_at=at,
                    attempts=_c.attempts + 1 if count_attempt else _c.attempts)
        )
        return bool(result.rowcount == 1)

    async def apply_provider_status(self, provider_id: str, status: OutboxStatus, *, code: str | None,
                                    reason: str | None, at: datetime) -> OutboxMessage | None:
        await self._lock_provider_ids([provider_id])
        return await self._apply_status(provider_id, status, code=code, reason=reason, at=at)

    async def _apply_status(self, provider_id: str, status: OutboxStatus, *, code: str | None, reason: str | None,
                            at: datetime) -> OutboxMessage | None:
        current = await self.by_provider_id(provider_id)
        if current is None:
            return None
        if status in (OutboxStatus.DELIVERED, OutboxStatus.FAILED):
            # Only sent → delivered / failed: reports arrive out of order, and a final status stays final.
            values: dict[str, Any] = {"status": status.value, "finished_at": at, "updated_at": at,
                                      "notify_pending": _notify_if_watched()}
            if status is OutboxStatus.FAILED:
                values.update(error_code=code, last_error=(reason or "")[:1000] or None)
            await self._c.execute(update(t.outbox).where(_c.id == current.id,
                                                         _c.status == OutboxStatus.SENT.value).values(**values))
        return await self.get(current.id)

    # ---- delivery reports that beat the dispatcher's write ------------------------------------------------

    async def _lock_provider_ids(self, provider_ids: Sequence[str]) -> None:
        """Order a delivery report and the write that stores its provider id (until the end of the transaction).

        Needed on PostgreSQL only: under READ COMMITTED neither transaction sees the other's uncommitted work, so
        without it a report could find no row and be kept right after the dispatcher looked for kept reports,
        and wait in vain until it is purged. SQLite runs one writer at a time, which orders them already.
        """
        if self._pg and provider_ids:
            await self._c.execute(_LOCK_PROVIDER_IDS, {"space": _PROVIDER_LOCK_SPACE, "ids": sorted(set(provider_ids))})

    async def keep_early_report(self, report: EarlyReport) -> None:
        if len(report.provider_id) > _PROVIDER_ID_LENGTH:
            return  # no row can ever carry such an id: keeping it would only wait for the purge
        await self._lock_provider_ids([report.provider_id])
        await self._c.execute(t.outbox_early_reports.insert().values(
            provider_id=report.provider_id, status=report.status.value,
            error_code=report.code[:20] if report.code else None,
            reason=report.reason[:1000] if report.reason else None, received_at=report.received_at))

    async def _apply_early_reports(self, provider_ids: Sequence[str], at: datetime,
                                   ) -> list[tuple[OutboxMessage, EarlyReport]]:
        """Apply kept reports for ids just stored (the caller holds their locks), oldest first, and remove them.

        They go through the same rule as a report on time (only sent → delivered / failed): the row was marked
        sent just before, so a kept "delivered" lands on it and nothing later moves it back.
        """
        if not provider_ids:
            return []
        rows = (await self._c.execute(select(t.outbox_early_reports)
                                      .where(_r.provider_id.in_(sorted(set(provider_ids)))).order_by(_r.id))).all()
        applied: list[tuple[OutboxMessage, EarlyReport]] = []
        used: list[int] = []
        for row in rows:
            report = EarlyReport(row.provider_id, OutboxStatus(row.status), row.error_code, row.reason,
                                 row.received_at)
            message = await self._apply_status(report.provider_id, report.status, code=report.code,
                                               reason=report.reason, at=at)
            if message is None:
                continue  # this worker lost the claim, so the id was not stored: keep waiting for it
            used.append(row.id)
            applied.append((message, report))
        if used:
            await self._c.execute(delete(t.outbox_early_reports).where(_r.id.in_(used)))
        return applied

    async def purge_early_reports(self, received_before: datetime) -> int:
        result = await self._c.execute(delete(t.outbox_early_reports).where(_r.received_at < received_before))
        return int(result.rowcount)

    # ---- what people see ---------------------------------------------------------------------------------

    async def recent(self, scope: ScopeFilter, *, customer_id: int | None = None,
                     requested_by: int | None = None, limit: int = 10) -> Sequence[OutboxMessage]:
        departments = sorted(scope.department_ids or ()) if not scope.everything else []
        shape = (scope.everything, len(departments), customer_id is not None, requested_by is not None)
        statement = _RECENT.get(shape)
        if statement is None:
            statement = _RECENT[shape] = Prepared(_recent_statement(*shape))
        params: dict[str, Any] = {"scope_owner": scope.owner_id, "customer_id": customer_id,
                                  "requested_by": requested_by, "limit": limit}
        params.update({f"d{n}": department for n, department in enumerate(departments)})
        rows = await statement.rows(self._c, params)
        return await self._with_names(rows) if rows else []

    async def set_notify(self, message_id: int, chat_id: int, chat_message_id: int, *, locale: str | None = None,
                         timezone: str | None = None) -> None:
        # If the dispatcher was quicker than the chat, the status already moved: show it on the next round.
        await self._c.execute(update(t.outbox).where(_c.id == message_id).values(
            notify_chat_id=chat_id, notify_message_id=chat_message_id, notify_locale=locale, notify_timezone=timezone,
            notify_pending=_c.status.notin_([OutboxStatus.HELD.value, OutboxStatus.QUEUED.value])))

    async def has_notices(self) -> bool:
        row = await _HAS_NOTICES.first(self._c)
        return bool(row and row[0])

    async def take_notices(self, limit: int) -> Sequence[OutboxMessage]:
        ids: Select[Any] = select(_c.id).where(_c.notify_pending.is_(True)).order_by(_c.updated_at).limit(limit)
        if self._pg:
            ids = ids.with_for_update(skip_locked=True)
        rows = (await self._c.execute(
            update(t.outbox).where(_c.id.in_(ids.scalar_subquery())).values(notify_pending=False)
            .returning(*t.outbox.c))).all()
        return sorted(await self._with_names(rows), key=lambda m: (m.updated_at, m.id))

    async def flag_notice(self, message_id: int) -> None:
        await self._c.execute(update(t.outbox).where(_c.id == message_id).values(notify_pending=True))

    async def depth(self) -> Mapping[tuple[OutboxChannel, OutboxStatus], int]:
        rows = await self._c.execute(select(_c.channel, _c.status, func.count()).group_by(_c.channel, _c.status))
        return {(OutboxChannel(ch), OutboxStatus(st)): int(n) for ch, st, n in rows}


__all__ = ["SqlOutboxRepository"]
