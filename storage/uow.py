"""Unit of work over one database connection and transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.clock import Clock
from storage.bulk import SqlBulkCustomerWriter
from storage.customer_repositories import (
    SqlContactRepository,
    SqlCustomerRepository,
    SqlFollowUpRepository,
    SqlInteractionRepository,
    SqlLeadRepository,
    SqlSearchIndex,
)
from storage.engine import is_sqlite
from storage.org_repositories import (
    SqlAuditRepository,
    SqlDepartmentRepository,
    SqlInviteRepository,
    SqlOrgStateRepository,
    SqlRoleRepository,
    SqlStaffRepository,
)
from storage.outbox_repositories import SqlOutboxRepository
from storage.reminder_repositories import SqlReminderRepository
from storage.segment_repositories import SqlOwnershipRepository, SqlSegmentRepository, SqlSettingsStore
from storage.subscription_repositories import (
    SqlCampaignRepository,
    SqlSubscriptionRepository,
    SqlTemplateRepository,
)


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, write: bool) -> None:
        self._engine = engine
        self._clock = clock
        self._write = write
        self._sqlite = engine.dialect.name == "sqlite"
        self._conn: AsyncConnection | None = None

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        if self._sqlite:
            await conn.execution_options(sqlite_begin="IMMEDIATE" if self._write else "DEFERRED")
        await conn.begin()
        self._conn = conn
        self.departments = SqlDepartmentRepository(conn)
        self.roles = SqlRoleRepository(conn)
        self.staff = SqlStaffRepository(conn)
        self.invites = SqlInviteRepository(conn)
        self.audit = SqlAuditRepository(conn, self._clock.now)
        self.org = SqlOrgStateRepository(conn)
        self.customers = SqlCustomerRepository(conn)
        self.contacts = SqlContactRepository(conn)
        self.leads = SqlLeadRepository(conn)
        self.interactions = SqlInteractionRepository(conn)
        self.followups = SqlFollowUpRepository(conn)
        self.search = SqlSearchIndex(conn)
        self.bulk = SqlBulkCustomerWriter(conn)
        self.reminders = SqlReminderRepository(conn)
        self.outbox = SqlOutboxRepository(conn, self._clock.now)
        self.subscriptions = SqlSubscriptionRepository(conn)
        self.sms_templates = SqlTemplateRepository(conn)
        self.campaigns = SqlCampaignRepository(conn)
        self.segments = SqlSegmentRepository(conn)
        self.ownership = SqlOwnershipRepository(conn)
        self.kv = SqlSettingsStore(conn)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        await self.connection.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine = engine
        self._clock = clock

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._clock, write=write)


__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory", "is_sqlite"]
