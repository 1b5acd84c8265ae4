"""The awaiting record of handlers/core/flow.py as stored in user_data: round trip, and whatever an older release
or a damaged row left there is read as "nothing awaited" rather than a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.core.flow import Awaiting

AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_round_trip_keeps_every_field() -> None:
    record = Awaiting(kind="nc", expects="button", started_at=AT, expires_at=AT + timedelta(minutes=30),
                      step="kind", buttons=("nc:",), owns=("nc",), document=True, data={"customer_id": 7})
    assert Awaiting.from_dict(record.as_dict()) == record


@pytest.mark.parametrize("raw", [
    None, "pending", [], {}, {"kind": "role.create"},  # the pre-flow "pending" shape: no times
    {"kind": "x", "started_at": "yesterday", "expires_at": AT.isoformat()},
    {"kind": "x", "started_at": AT.isoformat(), "expires_at": AT.isoformat(), "data": 5},
])
def test_damaged_or_old_records_read_as_nothing(raw: Any) -> None:
    assert Awaiting.from_dict(raw) is None


def test_only_the_flows_own_buttons_answer_it() -> None:
    record = Awaiting(kind="fu.pick", expects="button", started_at=AT, expires_at=AT, buttons=("fu:",))
    assert record.accepts("fu:pick:customer:1:3")
    assert not record.accepts("nc:save") and not record.accepts(None) and not record.accepts("")
