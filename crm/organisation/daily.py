"""Once a day per person: a marker in the settings store claims a daily push (a nudge, a stale-deal reminder),
so two processes, or a tick after a restart, never send it twice."""

from __future__ import annotations

from datetime import date, timedelta

from crm.organisation.ports import OrganisationUnitOfWork


async def claim_day(uow: OrganisationUnitOfWork, marker: str, day: date, *, prefix: str, keep_days: int) -> bool:
    """Take ``marker`` for ``day``; False when someone already did. Markers older than ``keep_days`` under
    ``prefix`` are dropped on the way (in the caller's transaction, which commits)."""
    claimed = await uow.kv.claim(marker, day.isoformat())
    if claimed:
        await uow.kv.forget(prefix, (day - timedelta(days=keep_days)).isoformat())
    return claimed
