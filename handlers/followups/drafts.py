"""The log / plan draft a rep is building, kept in ``user_data`` (persisted) as plain JSON.

Every button of a draft carries its serial number, so a button on an older draft's message cannot act on
the current one; a draft is dropped only when it is saved or cancelled — never because of bad input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from bot.context import CrmContext

DRAFT_KEY = "fu_draft"
SEQ_KEY = "fu_seq"

LOG = "log"
PLAN = "plan"
CALLBACK = "callback"


@dataclass
class Draft:
    seq: int
    mode: str = LOG
    entity: str | None = None  # customer / contact / lead
    target_id: int | None = None
    name: str | None = None  # how the target is shown
    query: str | None = None  # the name as typed, for a new lead
    kind: str = "other"
    kind_chosen: bool = False
    text: str | None = None
    guided: bool = False  # started from a button: ask kind, text and next step one by one
    next_asked: bool = False
    has_next: bool = False
    next_at: str | None = None  # ISO, UTC
    next_text: str | None = None
    time_confirmed: bool = False  # plan / call-back: the echoed time was confirmed
    lat: float | None = None
    lon: float | None = None

    @property
    def due(self) -> datetime | None:
        return datetime.fromisoformat(self.next_at) if self.next_at else None

    def set_due(self, at: datetime | None) -> None:
        self.next_at = at.astimezone(UTC).isoformat() if at is not None else None

    @property
    def location(self) -> tuple[float, float] | None:
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None


_FIELDS = {f.name for f in fields(Draft)}


def new_draft(context: CrmContext, mode: str, **values: Any) -> Draft:
    data = context.user_data if context.user_data is not None else {}
    seq = int(data.get(SEQ_KEY, 0) or 0) + 1
    data[SEQ_KEY] = seq
    draft = Draft(seq=seq, mode=mode, **values)
    save_draft(context, draft)
    return draft


def load_draft(context: CrmContext) -> Draft | None:
    raw = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    if not isinstance(raw, dict):
        return None
    try:
        return Draft(**{k: v for k, v in raw.items() if k in _FIELDS})
    except (TypeError, ValueError):
        return None


def save_draft(context: CrmContext, draft: Draft) -> None:
    if context.user_data is not None:
        # A fresh dict each time: persistence notices the change and stores it.
        context.user_data[DRAFT_KEY] = asdict(draft)


def drop_draft(context: CrmContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
