"""Audit helpers: every mutation records who changed what, with the changed fields before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from crm.organisation.model import AuditEntry
from crm.organisation.ports import OrganisationUnitOfWork


def _plain(value: Any) -> Any:
    """Make a value JSON-friendly so the audit log can be stored on any database."""
    if isinstance(value, datetime | date):  # a day (a hire date, an event's date) as well as an instant
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    return value


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if _plain(before.get(k)) != _plain(after.get(k))]
    return ({k: _plain(before.get(k)) for k in keys}, {k: _plain(after[k]) for k in keys})


async def record(
    uow: OrganisationUnitOfWork,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    old, new = changed_fields(before or {}, after or {})
    await uow.audit.record(AuditEntry(actor_id, action, entity, entity_id, old, new))
