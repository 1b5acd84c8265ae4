"""What the contracts module needs from storage (``storage/contracts`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from crm.contracts.model import Contract, StoredFile
from crm.customers.ports import CustomersUnitOfWork
from crm.organisation.permissions import ScopeFilter


class ContractRepository(Protocol):
    async def next_number(self, year: int) -> int:
        """Bump the year's counter and return the new value (concurrent creators wait for each other)."""
        ...
    async def add(self, contract: Contract) -> Contract: ...
    async def get(self, contract_id: int, *, include_deleted: bool = False) -> Contract | None: ...
    async def update(self, contract_id: int, **fields: Any) -> None: ...
    async def listed(self, scope: ScopeFilter, *, customer_id: int | None = None, deleted: bool = False,
                     offset: int = 0, limit: int) -> Sequence[Contract]:
        """Contracts the ``sales`` scope allows: active ones first, the soonest end first; then the others, the
        latest end first. ``deleted``: the trash instead, the latest deleted first."""
        ...
    async def by_reminders(self, followup_ids: Sequence[int]) -> Sequence[Contract]:
        """Live contracts whose renewal reminder is one of these follow-ups."""
        ...
    async def active_owned(self, staff_id: int, customer_ids: Sequence[int] | None, since: date | None
                           ) -> Sequence[Contract]:
        """Live, active contracts the person owns (on these customers, when given; not ended before ``since``,
        when given)."""
        ...


class ContractFiles(Protocol):
    """The copies of attached files under DATA_DIR, kept so a file outlives the bot's token (Telegram file ids
    belong to one bot)."""

    async def save(self, contract_id: int, name: str, data: bytes) -> StoredFile: ...
    async def read(self, path: str) -> bytes: ...


class ContractsRepositories(Protocol):
    @property
    def contracts(self) -> ContractRepository: ...


class ContractsUnitOfWork(CustomersUnitOfWork, Protocol):
    @property
    def contracts(self) -> ContractsRepositories: ...
