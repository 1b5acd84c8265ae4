"""What the messaging module tells the others: SMS consent changed."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.events import Event
from crm.messaging.subscription_model import ConsentChannel, PartyLink


@dataclass(frozen=True)
class SmsOptedOut(Event):
    """The number opted out of ``topics`` (every topic, for STOP or the carrier); its queued texts are cancelled
    in the same transaction when nothing is left on."""

    phone: str
    topics: tuple[str, ...]
    channel: ConsentChannel
    party: PartyLink
    recorded_by: int | None  # the rep, for consent recorded from chat


@dataclass(frozen=True)
class SmsOptedIn(Event):
    phone: str
    topics: tuple[str, ...]
    channel: ConsentChannel
    party: PartyLink
    recorded_by: int | None


__all__ = ["SmsOptedIn", "SmsOptedOut"]
