"""The whole unit of work, every module's repositories: for the composition root, the HTTP endpoint, tests and
benchmarks. Modules themselves name their own (``crm/<module>/ports.py``) and never import this one."""

from __future__ import annotations

from typing import Protocol

from crm.core.unit_of_work import UnitOfWorkFactory
from crm.fields.ports import FieldsUnitOfWork
from crm.messaging.ports.repositories import MessagingUnitOfWork


class UnitOfWork(MessagingUnitOfWork, FieldsUnitOfWork, Protocol):
    """Every group; the modules are a chain today (each builds on the one before), so the last one has them all."""


__all__ = ["UnitOfWork", "UnitOfWorkFactory"]
