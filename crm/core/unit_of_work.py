"""A unit of work: one transaction, with the repositories a module may use on it.

Each module declares the unit of work it works with (``crm/<module>/ports.py``: its own repository group plus
those of the modules it depends on); storage's one implementation has every group, so it serves them all.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, TypeVar

from crm.core.events import Event


class Transaction(Protocol):
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...
    async def commit(self) -> None:
        """Run the in-transaction event handlers, commit, then the after-commit ones (crm/core/events.py)."""
        ...

    def record(self, event: Event) -> None:
        """Something happened in this unit of work; the bus hears of it on ``commit``."""
        ...


U_co = TypeVar("U_co", covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    def __call__(self, *, write: bool = True) -> U_co:
        """A read-only unit of work (write=False) never takes the write lock on SQLite."""
        ...
